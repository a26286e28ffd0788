"""Staff release a quarantined message: it becomes a case, as if it had never looked like spam.

``release_message`` runs in the caller's transaction: the case (acknowledgement and task in the
outbox, as for any new case), a ``Correction`` row (kind ``release``, from ``spam`` to the
category: ``intake train`` learns from it) and an audit event with who and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from intake.domain.decide import as_new_case, decide_message
from intake.domain.mailparse import parse_message
from intake.errors import IntakeError
from intake.models import Case, Correction, InboundMessage
from intake.stages.registration import register_case
from intake.stages.rows import audit

RELEASE = "release"


class ReleaseError(IntakeError):
    """A message that cannot be released (unknown, not quarantined, no reason or actor)."""


def release_message(session: Session, app, message_id: int, reason: str, actor: str, now: datetime) -> Case:
    reason, actor = (reason or "").strip(), (actor or "").strip()[:64]
    if not reason or not actor:
        raise ReleaseError("a reason and an actor are required (they go into the audit trail)")
    row = session.get(InboundMessage, message_id)
    if row is None:
        raise ReleaseError(f"no message #{message_id}")
    if row.stage != "quarantine":
        raise ReleaseError(f"message #{message_id} is not quarantined (stage {row.stage!r})")
    mail = parse_message(app.store.read(row.raw_path), row.received_at)
    decision = decide_message(mail, app.rules, page_text=row.page_text)
    decision = as_new_case(mail, decision, app.rules, f"released from quarantine by {actor}: {reason}")
    case = register_case(session, app, row, mail, decision, now)
    row.stage, row.processed_at = "done", now
    session.add(row)
    session.add(Correction(case_id=case.id, at=now, actor=actor, kind=RELEASE, from_value="spam",
                           to_value=case.category, reason=reason))
    audit(session, now, "spam-released", case_id=case.id, inbound_id=row.id, actor=actor,
          detail={"reason": reason, "category": case.category})
    return case
