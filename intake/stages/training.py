"""Training examples for the text model from the database: every case staff corrected (issue 15).

A reclassified case teaches its final category; a reassigned case confirms its category with a
human's eye on it. (Spam releases and "marked as spam" will add rows here once those commands
exist; see the report of issue 15.)
"""

from __future__ import annotations

from sqlmodel import Session, select

from intake.domain.textmodel import Example, model_text
from intake.models import Case, Correction


def corrected_case_examples(session: Session) -> list[Example]:
    """One example per corrected case: (subject + text, the case's current category)."""
    rows = session.exec(select(Case, Correction).join(Correction, Correction.case_id == Case.id)
                        .order_by(Case.id, Correction.id)).all()
    latest: dict[int, tuple[Case, Correction]] = {}
    for case, corr in rows:
        latest[case.id] = (case, corr)
    return [Example(model_text(case.subject, case.text), case.category, f"case:{case.ref} {corr.kind}")
            for case, corr in latest.values()]
