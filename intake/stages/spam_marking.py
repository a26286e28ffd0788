"""Staff mark a case as spam: one code path for ``#spam``/``#스팸``, the console and ``intake cases spam``.

``mark_spam`` runs in the caller's transaction and writes, together:

- the case closed, its clocks cancelled (no promise is owed to a robot);
- every pending outgoing mail of the case that is not to staff (the acknowledgement, notices, an
  answer, a fax through the gateway) cancelled: ``Outbox.status`` becomes ``cancelled``, which the
  sender never picks up; a mail being sent at this moment is left to finish;
- the case's customer messages put in quarantine (``InboundMessage.stage``), where spam the
  rules caught already waits; they can still be released as a new case;
- a ``Correction`` row (kind ``spam``, from the category to ``spam``) that ``intake train`` reads
  as a spam example (``intake.stages.training``), and an audit event with who and why.

Later mail from the sender about the case (a follow-up) is quarantined too, never reopening it
(``follow_up_of_spam``). Marking a case as spam twice is refused; a closed case may still be marked (staff often close
first and notice later).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from intake.domain.clocks import ClockState
from intake.domain.textmodel import SPAM
from intake.models import Case, Correction, InboundMessage, Outbox
from intake.stages import clocks as clock_rows
from intake.stages.customer_notice import ActionError
from intake.stages.rows import audit

log = logging.getLogger("intake.spam")

MARK_SPAM = "spam"          # Correction.kind
CANCELLED = "cancelled"     # Outbox.status of a mail that will never be sent
QUARANTINE = "quarantine"   # InboundMessage.stage, as other_kinds.quarantine_spam sets it
DEFAULT_REASON = "담당자가 스팸으로 표시"


def is_marked_spam(session: Session, case: Case) -> bool:
    return session.exec(select(Correction.id).where(Correction.case_id == case.id,
                                                    Correction.kind == MARK_SPAM)).first() is not None


def follow_up_of_spam(session: Session, row: InboundMessage, case: Case, now: datetime) -> str | None:
    """A follow-up on a case staff marked as spam: quarantined with the case, nobody told."""
    if not is_marked_spam(session, case):
        return None
    row.case_id, row.stage = case.id, QUARANTINE
    session.add(row)
    audit(session, now, "spam-quarantined", case_id=case.id, inbound_id=row.id,
          detail={"evidence": [f"follow-up on {case.ref}, which staff marked as spam"]})
    return f"{case.ref} follow-up quarantined (the case was marked as spam)"


def mark_spam(session: Session, app, case: Case, reason: str, actor: str, now: datetime) -> str:
    """Close ``case`` as spam; returns a one-line summary (English, for logs and the CLI)."""
    reason, actor = (reason or "").strip() or DEFAULT_REASON, (actor or "").strip()[:64]
    if not actor:
        raise ActionError("an actor is required (who marks the case as spam)")
    if is_marked_spam(session, case):
        raise ActionError(f"{case.ref} is already marked as spam")
    was_closed = case.status == "closed"
    stopped = clock_rows.stop_all(session, app, case, ClockState.CANCELLED, now)
    case.status = "closed"
    case.closed_at = case.closed_at if was_closed and case.closed_at else now
    session.add(case)
    cancelled = _cancel_customer_mail(session, app, case, actor)
    quarantined = _quarantine_messages(session, case)
    session.add(Correction(case_id=case.id, at=now, actor=actor, kind=MARK_SPAM, from_value=case.category[:64],
                           to_value=SPAM, reason=reason))
    audit(session, now, "marked-spam", case_id=case.id, actor=actor,
          detail={"reason": reason, "category": case.category, "clocks": stopped, "mails_cancelled": cancelled,
                  "messages_quarantined": quarantined, "was_closed": was_closed})
    log.info("%s marked as spam by %s: %s", case.ref, actor, reason)
    return (f"{case.ref} closed as spam ({len(cancelled)} pending mail cancelled, "
            f"{len(quarantined)} message(s) quarantined)")


def _staff_addresses(app) -> set[str]:
    return {s.email.lower() for s in app.settings.roster.staff}


def _cancel_customer_mail(session: Session, app, case: Case, actor: str) -> list[int]:
    """Pending mails of the case to anyone but staff; a conditional update, so a mail the sender
    claimed a moment ago (``sending``) is not touched."""
    staff = _staff_addresses(app)
    rows = session.exec(select(Outbox.id, Outbox.rcpt_to).where(Outbox.case_id == case.id,
                                                                 Outbox.status == "pending")).all()
    ids = [oid for oid, rcpt in rows
           if not {a.strip().lower() for a in rcpt.split(",") if a.strip()} <= staff]
    if not ids:
        return []
    session.flush()
    session.connection().execute(
        update(Outbox).where(Outbox.id.in_(ids), Outbox.status == "pending")
        .values(status=CANCELLED, last_error=f"cancelled: case marked as spam by {actor}"))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Outbox) and obj.id in ids:
            session.expire(obj)             # loaded before the update: read again
    return list(session.exec(select(Outbox.id).where(Outbox.id.in_(ids), Outbox.status == CANCELLED)).all())


def _quarantine_messages(session: Session, case: Case) -> list[int]:
    """The customer's messages of the case (staff replies stay as they are)."""
    rows = session.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)).all()
    out = []
    for row in rows:
        if (row.kind or "").startswith("staff-"):
            continue
        row.stage = QUARANTINE
        session.add(row)
        out.append(row.id)
    return out
