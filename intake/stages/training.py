"""Training examples for the text model from the database: every case staff corrected (issue 15).

A reclassified case teaches its final category; a reassigned case confirms its category with a
human's eye on it; a case released from quarantine teaches its category; a case staff marked as
spam (``#spam``, the console, ``intake cases spam``) teaches ``spam``.
"""

from __future__ import annotations

from sqlmodel import Session, select

from intake.domain.textmodel import SPAM, Example, model_text
from intake.models import Case, Correction
from intake.stages.spam_marking import MARK_SPAM


def corrected_case_examples(session: Session) -> list[Example]:
    """One example per corrected case: (subject + text, the case's current category, or ``spam``
    when staff marked it so: its last correction decides)."""
    rows = session.exec(select(Case, Correction).join(Correction, Correction.case_id == Case.id)
                        .order_by(Case.id, Correction.id)).all()
    latest: dict[int, tuple[Case, Correction]] = {}
    for case, corr in rows:
        latest[case.id] = (case, corr)
    return [Example(model_text(case.subject, case.text), SPAM if corr.kind == MARK_SPAM else case.category,
                    f"case:{case.ref} {corr.kind}")
            for case, corr in latest.values()]
