"""Messages held back: set aside (processing failed) and quarantined (spam). Retry and release.

``release_as_case`` turns a quarantined message into a case through
``intake.stages.release.release_message`` (the code path of ``intake messages release ID``), which
records the overruled spam decision as a correction that ``intake train`` learns from.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from intake.models import Case, InboundMessage
from intake.stages.release import ReleaseError, release_message
from intake.stages.rows import audit

HELD_STAGES = ("set-aside", "quarantine")


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
    """A false-positive spam message becomes a case: the same code path as ``intake messages release``."""
    reason = (reason or "").strip() or "스팸이 아님(관리 화면에서 확인)"
    return release_message(session, app, row.id, reason, actor, now)
