"""The deliberate, audited view of a case's original message with its 주민등록번호 in clear.

Everything intake derives from a message holds resident registration numbers masked (case text,
subjects, staff mail and its ``original.eml``, audit notes, logs). A handler whose work needs
the number (issuing a certificate) asks for it: ``reveal_original`` writes an audit event naming
who asked, when and for which message, and only then returns the clear text, read from the
encrypted store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlmodel import Session, select

from intake.adapters.raw_store import RawStore
from intake.domain.mailparse import parse_message
from intake.domain.pii import find_rrns
from intake.errors import IntakeError
from intake.models import Case, InboundMessage
from intake.stages.rows import audit


@dataclass(frozen=True)
class RevealedOriginal:
    ref: str
    inbound_id: int
    subject: str
    text: str              # the message's own text, 주민등록번호 in clear
    numbers: int           # how many 주민등록번호 it holds


def reveal_original(session: Session, case_ref: str, actor: str, *, store: RawStore,
                    now: datetime | None = None) -> RevealedOriginal:
    """The clear text of the message that opened case ``case_ref``, audited as ``original-revealed``
    in ``session``'s transaction (the caller commits it; nothing is returned if the audit fails)."""
    if not actor or not actor.strip():
        raise IntakeError("reveal_original: an actor is required (who asks to see the number)")
    now = now or datetime.now(timezone.utc)
    case = session.exec(select(Case).where(Case.ref == case_ref)).first()
    if case is None:
        raise IntakeError(f"no case {case_ref}")
    row = session.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)
                       .order_by(InboundMessage.id)).first()
    if row is None or getattr(row, "purged_at", None) is not None or not row.raw_path:
        raise IntakeError(f"{case_ref}: the original message is no longer kept (retention period over)")
    mail = parse_message(store.read(row.raw_path), row.received_at)
    numbers = len(find_rrns(mail.subject)) + len(find_rrns(mail.text))
    audit(session, now, "original-revealed", case_id=case.id, inbound_id=row.id, actor=actor[:64],
          detail={"numbers": numbers})
    session.flush()
    return RevealedOriginal(case.ref, row.id, mail.subject, mail.text, numbers)
