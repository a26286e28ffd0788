"""Suggestions (제안, category ``suggestion``): the review outcome, recorded and told to the customer.

``#decision 채택|불채택 <reason>`` by e-mail and ``intake cases decide REF 채택|불채택 REASON`` both land
here. The outcome is an audit event (``decided``), which the report lists; a later decision
replaces an earlier one (each is kept in the trail).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from intake.domain import replies
from intake.domain.report_records import OUTCOMES, SUGGESTION_CATEGORY
from intake.models import Case
from intake.stages.customer_notice import ActionError, notify_customer
from intake.stages.case_facts import case_facts
from intake.stages.rows import audit


def customer_context_parts(app, case: Case):
    """The case facts, handler and department a customer notice about ``case`` names."""
    handler = app.settings.roster.member(case.handler_id)
    department = app.settings.roster.department(handler.department) if handler else None
    if handler is None or department is None:
        raise ActionError(f"handler {case.handler_id!r} of {case.ref} is not in staff.toml")
    category = app.rules.category_rules.category(case.category)
    return case_facts(case, category.label if category else case.category), handler, department


def decide(session: Session, app, case: Case, outcome: str, reason: str, actor: str, now: datetime) -> str:
    if case.category != SUGGESTION_CATEGORY:
        raise ActionError(f"{case.ref} is a {case.category} case; #decision reviews suggestions "
                          f"({SUGGESTION_CATEGORY}) only (reclassify it first if it is one)")
    if outcome not in OUTCOMES:
        raise ActionError(f"the outcome must be 채택 or 불채택, not {outcome!r}")
    if not reason or not reason.strip():
        raise ActionError("a decision needs a reason (it is told to the customer)")
    facts, handler, department = customer_context_parts(app, case)
    ctx = replies.decision_notice_context(facts, handler, department, app.org, outcome, reason.strip())
    told = notify_customer(session, app, case, "decision-notice", ctx, key=f"decision:{case.id}:{now.isoformat()}",
                           kind="decision-notice", now=now, actor=actor)
    audit(session, now, "decided", case_id=case.id, actor=actor,
          detail={"outcome": outcome, "reason": reason.strip(), "customer": told})
    return f"{case.ref} suggestion {outcome}; {told}"
