"""Messages held back: set aside (processing failed) and quarantined (spam). Retry and release.

``release_as_case`` turns a quarantined message into a case the way the process stage
registers one (``process.apply`` with the decision turned into a new case), and records the
overruled spam decision as a correction. (The ``recog`` helper adds ``intake messages release
ID``; when it lands, both should call one function.)
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from intake.domain.decide import as_new_case, decide_message
from intake.domain.mailparse import parse_message
from intake.errors import IntakeError
from intake.models import Case, Correction, InboundMessage
from intake.stages import process
from intake.stages.rows import audit

HELD_STAGES = ("set-aside", "quarantine")


class ReleaseError(IntakeError):
    """The message cannot be released (not quarantined, or gone)."""


def held_messages(session: Session, stage: str | None = None, limit: int = 200) -> list[InboundMessage]:
    stages = (stage,) if stage in HELD_STAGES else HELD_STAGES
    return list(session.exec(select(InboundMessage).where(InboundMessage.stage.in_(stages))
                             .order_by(InboundMessage.id.desc()).limit(limit)).all())


def hold_reason(row: InboundMessage) -> str:
    """Why the message is held, in one line: the spam rules that fired, or the last error."""
    import json

    if row.stage == "quarantine":
        try:
            evidence = json.loads(row.decision or "{}").get("kind", {}).get("evidence", [])
            return "; ".join(f"{e.get('rule')}: {e.get('detail')}" for e in evidence)[:300] or "-"
        except (ValueError, AttributeError):
            return (row.decision or "-")[:300]
    return ((row.last_error or "").strip().splitlines() or ["-"])[0][:300]


def retry(session: Session, row: InboundMessage, actor: str, now: datetime) -> str:
    """A set-aside message goes back into processing (as ``intake messages retry``)."""
    if row.stage != "set-aside":
        raise ReleaseError(f"message #{row.id} is not set aside")
    row.stage, row.attempts, row.next_attempt_at, row.claimed_until = "received", 0, now, None
    session.add(row)
    audit(session, now, "retry-requested", inbound_id=row.id, actor=actor)
    return f"message #{row.id} queued for processing again"


def release_as_case(session: Session, app, row: InboundMessage, actor: str, reason: str, now: datetime) -> Case:
    """A false-positive spam message becomes a case (acknowledged, routed, clocked as any other)."""
    if row.stage != "quarantine":
        raise ReleaseError(f"message #{row.id} is not quarantined")
    reason = (reason or "").strip() or "스팸이 아님(관리 화면에서 확인)"
    mail = parse_message(app.store.read(row.raw_path), row.received_at)
    decision = decide_message(mail, app.rules, known_message_ids=process.known_ids_lookup(session),
                              page_text=row.page_text)
    decision = as_new_case(mail, decision, app.rules, f"released from quarantine by {actor}: {reason}")
    process.apply(session, app, row, process.Prepared(mail, decision), now)
    row.stage, row.processed_at = "done", now
    session.add(row)
    session.flush()
    case = session.get(Case, row.case_id)
    session.add(Correction(case_id=case.id, at=now, actor=actor[:64], kind="release", from_value="spam",
                           to_value=case.category[:64], reason=reason))
    audit(session, now, "spam-released", case_id=case.id, inbound_id=row.id, actor=actor, detail={"reason": reason})
    return case
