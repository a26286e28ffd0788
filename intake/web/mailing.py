"""The sign-in mail: queued in the outbox like every mail intake sends, then sent at once.

The daemon's senders would deliver it within seconds; the console does not wait for them:
right after the commit it claims that one row itself and sends it over the SMTP adapter,
recording it exactly as the send stage does (journal, ``sent`` mark, audit event). A failure
puts the row back to ``pending`` for the daemon's senders, nothing is lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.domain import replies
from intake.errors import PermanentDeliveryError, TemporaryDeliveryError
from intake.models import Outbox
from intake.stages.outbox import enqueue
from intake.stages.send import CLAIM_SECONDS, Claimed, SendReport, mark_sent

log = logging.getLogger("intake.web")

PURPOSE = "web-sign-in"


def queue_sign_in_mail(session, app, member, link: str, minutes: int, now: datetime) -> int:
    """Queue the sign-in mail (template ``sign-in-link``, editable like every other) in the
    caller's transaction; returns its outbox row id."""
    ctx = replies.sign_in_link_context(member.name, app.org, link, minutes)
    return enqueue(session, app, None, PURPOSE, "sign-in-link", ctx, language="ko", to=member.email, now=now,
                   auto_submitted="auto-generated")


def _claim(app, outbox_id: int, now: datetime) -> Claimed | None:
    t = Outbox.__table__
    with app.engine.begin() as conn:
        done = conn.execute(update(t).where(t.c.id == outbox_id, t.c.status == "pending")
                            .values(status="sending", claimed_until=now + timedelta(seconds=CLAIM_SECONDS)))
        if done.rowcount != 1:
            return None     # a daemon sender took it first
        r = conn.execute(select(t.c.message_id, t.c.mail_from, t.c.rcpt_to, t.c.raw, t.c.purpose, t.c.template,
                                t.c.template_version).where(t.c.id == outbox_id)).one()
    return Claimed(id=outbox_id, case_id=None, purpose=r.purpose, message_id=r.message_id, mail_from=r.mail_from,
                   rcpt_to=r.rcpt_to, raw=bytes(r.raw), attach_raw_path=None, template=r.template,
                   template_version=r.template_version, ref="-")


def _release(app, outbox_id: int, reason: str) -> None:
    t = Outbox.__table__
    with app.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == outbox_id, t.c.status == "sending")
                     .values(status="pending", claimed_until=None, last_error=reason))


def deliver_now(app, mailer_factory, outbox_id: int) -> bool:
    """Send one outbox row now; True when the server accepted it. Never raises for SMTP trouble."""
    item = _claim(app, outbox_id, app.now())
    if item is None:
        return False
    try:
        mailer = mailer_factory()
        try:
            mailer.send(item.raw, item.mail_from, [item.rcpt_to])
        finally:
            mailer.close()
    except (TemporaryDeliveryError, PermanentDeliveryError, OSError, ValueError) as exc:
        log.warning("sign-in mail #%d not sent now (%s); the daemon's senders will retry", outbox_id,
                    type(exc).__name__)
        _release(app, outbox_id, f"{type(exc).__name__}: {exc}")
        return False
    try:
        app.sent_journal.record(item.id, item.message_id)
    except OSError as exc:
        log.error("sign-in mail #%d could not be journalled: %s", outbox_id, exc)
    mark_sent(app, [(item, app.now())], SendReport())
    return True
