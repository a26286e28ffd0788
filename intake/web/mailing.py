"""The sign-in mail: queued in the outbox like every mail intake sends, then sent at once.

The daemon's senders would deliver it within seconds; the console does not wait for them:
right after the commit it claims that one row itself and sends it over the SMTP adapter,
recording it exactly as the send stage does (journal, ``sent`` mark, audit event). A failure
puts the row back to ``pending`` for the daemon's senders, nothing is lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from intake.domain.outgoing import Envelope, compose, new_message_id
from intake.domain.records import RenderedMail
from intake.errors import PermanentDeliveryError, TemporaryDeliveryError
from intake.models import Outbox
from intake.stages.outbox import new_token
from intake.stages.send import CLAIM_SECONDS, Claimed, SendReport, mark_sent

log = logging.getLogger("intake.web")

PURPOSE = "web-sign-in"


def sign_in_text(name: str, link: str, minutes: int, org_name: str) -> str:
    return (f"{name} 님, 안녕하십니까.\n\n"
            f"{org_name} 민원 접수 관리 화면에 로그인하시려면 아래 링크를 여십시오.\n\n"
            f"{link}\n\n"
            f"이 링크는 {minutes}분 동안 한 번만 쓸 수 있습니다.\n"
            f"로그인을 요청하신 적이 없으면 이 메일을 지우셔도 됩니다. 다른 사람은 이 링크 없이 로그인할 수 없습니다.\n")


def queue_sign_in_mail(conn, settings, to: str, name: str, link: str, minutes: int, now: datetime) -> int:
    """Insert the sign-in mail into the outbox (the caller's transaction); returns its row id."""
    org = settings.organization
    rendered = RenderedMail(template=PURPOSE, template_version="builtin", subject="[민원 접수 관리] 로그인 링크",
                            text=sign_in_text(name, link, minutes, org.name))
    message_id = new_message_id(new_token(), org.domain)
    raw = compose(rendered, Envelope(from_address=settings.smtp.from_address, from_name=org.name, to=(to,),
                                     message_id=message_id, date=now, auto_submitted="auto-generated"))
    t = Outbox.__table__
    return conn.execute(insert(t).values(
        case_id=None, purpose=PURPOSE, message_id=message_id, mail_from=settings.smtp.from_address, rcpt_to=to,
        raw=raw, template=None, template_version=None, status="pending", attempts=0, next_attempt_at=now,
        created_at=now).returning(t.c.id)).scalar_one()


def _claim(app, outbox_id: int, now: datetime) -> Claimed | None:
    t = Outbox.__table__
    with app.engine.begin() as conn:
        done = conn.execute(update(t).where(t.c.id == outbox_id, t.c.status == "pending")
                            .values(status="sending", claimed_until=now + timedelta(seconds=CLAIM_SECONDS)))
        if done.rowcount != 1:
            return None     # a daemon sender took it first
        r = conn.execute(select(t.c.message_id, t.c.mail_from, t.c.rcpt_to, t.c.raw, t.c.purpose)
                         .where(t.c.id == outbox_id)).one()
    return Claimed(id=outbox_id, case_id=None, purpose=r.purpose, message_id=r.message_id, mail_from=r.mail_from,
                   rcpt_to=r.rcpt_to, raw=bytes(r.raw), attach_raw_path=None, template=None, template_version=None,
                   ref="-")


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
