"""A notice to the customer about their case, at most once per event (a ``notice`` ledger row with a
unique key), and the error a refused staff action raises. Shared by the case actions and the
suggestion decisions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from intake.errors import IntakeError
from intake.models import Case, Notice
from intake.stages.outbox import customer_skip_reason, enqueue
from intake.stages.rows import audit


class ActionError(IntakeError):
    """A staff action that cannot be done; the message says why (shown to the staff member)."""


def notify_customer(session: Session, app, case: Case, template: str, context: dict, *, key: str, kind: str,
                    now: datetime, actor: str) -> str:
    """Queue one customer notice, once per ``key``; returns what happened (for the audit and the caller)."""
    reason = customer_skip_reason(app, case.customer_address)
    if reason is not None:
        audit(session, now, f"{kind}-skipped", case_id=case.id, actor=actor, detail={"reason": reason})
        return f"no {kind} to the customer: {reason}"
    if session.exec(select(Notice.id).where(Notice.key == key)).first() is not None:
        return f"{kind} already sent"
    outbox_id = enqueue(session, app, case, kind, template, context, language=case.language,
                        to=case.customer_address, now=now)
    session.add(Notice(key=key, kind=kind, case_id=case.id, recipient=case.customer_address, outbox_id=outbox_id,
                       at=now))
    audit(session, now, f"{kind}-queued", case_id=case.id, actor=actor, detail={"to": case.customer_address})
    return f"{kind} queued to {case.customer_address}"
