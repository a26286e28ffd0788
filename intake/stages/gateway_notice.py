"""Tell the admins once that a fax came from a gateway not in channels.toml (issue 15 item 1).

The ledger row is a ``notice`` (key ``fax-gateway:<sender>``), written with its outbox rows in
the case's transaction, inside a savepoint: a second instance that wrote the same key first
makes this one skip the mail, never lose the case.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from intake.domain import replies
from intake.domain.fax_detect import config_line
from intake.domain.records import ChannelDecision
from intake.models import Case, Notice
from intake.stages.outbox import enqueue
from intake.stages.rows import audit

log = logging.getLogger("intake.gateway")

KIND = "fax-gateway-new"


def notify_new_gateway(session: Session, app, case: Case, sender: str, channel: ChannelDecision,
                       now: datetime) -> bool:
    """Queue the admins' mail the first time ``sender`` is seen as an unconfigured fax gateway."""
    rules = [e.rule for e in channel.evidence if e.rule.startswith("channel.fax-any")]
    if "channel.fax-any.unconfigured" not in rules or not sender:
        return False
    key = f"fax-gateway:{sender.lower()}"[:255]
    if session.exec(select(Notice.id).where(Notice.key == key)).first() is not None:
        return False
    admins = app.settings.processing.admin_addresses
    try:
        with session.begin_nested():
            notice = Notice(key=key, kind=KIND, case_id=case.id, at=now, recipient=", ".join(admins)[:320] or None)
            session.add(notice)
            session.flush()
            line = config_line(sender)
            path = str(app.settings.config_path("channels.toml"))
            for address in admins:
                member = app.settings.roster.member_by_email(address)
                ctx = replies.fax_gateway_new_context(member.name if member else "관리자", app.org, sender, case.ref,
                                                      line, path, rules)
                notice.outbox_id = enqueue(session, app, None, KIND, KIND, ctx, language="ko", to=address, now=now,
                                           auto_submitted="auto-generated")
            audit(session, now, "fax-gateway-unconfigured", case_id=case.id,
                  detail={"sender": sender, "to": list(admins), "line": line})
    except IntegrityError:
        log.info("fax gateway %s: another instance told the admins first", sender)
        return False
    log.warning("fax from unconfigured gateway %s (case %s): %s", sender, case.ref,
                f"admins told ({', '.join(admins)})" if admins else "no admin_addresses to tell")
    return True
