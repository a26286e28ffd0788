"""A case as the stages and the templates see it: its facts, its handler and department.

Every stage that writes about a case (registration, follow-ups, staff actions,
the sweeper, corrections, letters) builds the template facts here, so that a
case reads the same in every mail.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from intake.domain.outgoing import one_line
from intake.domain.pii import mask_rrn
from intake.domain.records import CaseFacts, Channel, Department, StaffMember
from intake.models import Case

if TYPE_CHECKING:
    from intake.app import App


def case_facts(case: Case, category_label: str, evidence=(), needs_manual_reading: bool = False) -> CaseFacts:
    return CaseFacts(
        ref=case.ref, channel=Channel(case.channel), category=case.category, category_label=category_label,
        subject=one_line(case.subject), customer_name=case.customer_name, customer_address=case.customer_address,
        customer_phone=case.customer_phone, customer_fax=case.customer_fax, received_at=case.received_at,
        due_at=case.due_at, policy=case.policy, text=case.text, language=case.language,
        evidence=tuple(evidence), pii=case.pii, needs_manual_reading=needs_manual_reading,
    )


def facts_of(app: App, case: Case) -> CaseFacts:
    """``case_facts`` with the category's label from categories.toml (its id when it is gone)."""
    category = app.rules.category_rules.category(case.category)
    return case_facts(case, category.label if category else case.category)


def facts_for_staff(facts: CaseFacts) -> CaseFacts:
    """Staff mail never carries a resident registration number in clear."""
    return replace(facts, text=mask_rrn(facts.text)[:20000])


def department(app: App, dep_id: str) -> Department:
    """The department ``dep_id`` from staff.toml; LookupError when it is not there."""
    dep = app.settings.roster.department(dep_id)
    if dep is None:
        raise LookupError(f"department {dep_id!r} from categories.toml is not in staff.toml")
    return dep


def handler_of(app: App, case: Case) -> tuple[StaffMember, Department] | None:
    """The case's handler and their department; None when the handler is no longer in staff.toml."""
    handler = app.settings.roster.member(case.handler_id)
    if handler is None:
        return None
    return handler, department(app, handler.department)


def case_by_ref(session: Session, ref: str | None) -> Case | None:
    if not ref:
        return None
    return session.exec(select(Case).where(Case.ref == ref)).first()
