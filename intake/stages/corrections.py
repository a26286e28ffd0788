"""Staff corrections of automatic decisions: reassign a case, reclassify it.

Both run inside the caller's transaction and write, together: the case change,
a ``Correction`` row (what was overruled), an audit event (who, when, why) and,
for a new handler, a ``case-reassigned`` mail in the outbox. The due time is
never touched: the customer's clock started when the request arrived and does
not restart because we moved it internally.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from intake.domain import replies
from intake.domain.evaluation import CorrectionRecord, CorrectionSummary, summarise_corrections
from intake.domain.records import Route, StaffMember
from intake.domain.route import choose_handler
from intake.errors import IntakeError
from intake.models import Case, Correction, InboundMessage
from intake.settings_roster import delegates_on
from intake.stages.case_facts import case_facts, department as department_of, facts_for_staff
from intake.stages.outbox import enqueue
from intake.stages.rows import audit, open_case_counts

log = logging.getLogger("intake.corrections")

REASSIGN = "reassign"
RECLASSIFY = "reclassify"


class CorrectionError(IntakeError):
    """A correction that cannot be made (unknown staff, department, category; nothing to change)."""


def find_case(session: Session, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref.strip())).first()
    if case is None:
        raise CorrectionError(f"no case {ref!r}")
    return case


def _check_text(reason: str, actor: str) -> tuple[str, str]:
    reason, actor = (reason or "").strip(), (actor or "").strip()
    if not reason:
        raise CorrectionError("a reason is required (it goes into the audit trail)")
    if not actor:
        raise CorrectionError("an actor is required (who made the correction)")
    if len(actor) > 64:
        raise CorrectionError(f"actor {actor[:20]!r}… is longer than 64 characters")
    return reason, actor


def resolve_target(session: Session, app, case: Case, to: str, now: datetime) -> tuple[StaffMember, Route]:
    """``to`` is a staff id (that person) or a department id (the routing rule among its
    present staff, the current handler left out). Staff ids are looked up first."""
    roster = app.settings.roster
    target = (to or "").strip()
    member = roster.member(target)
    if member is not None:
        if not member.active:
            raise CorrectionError(f"staff member {target!r} is not active")
        return member, Route(member.department, member.id, f"named by staff: {member.id}")
    dep = roster.department(target)
    if dep is None:
        raise CorrectionError(f"{target!r} is neither a staff id nor a department id in staff.toml")
    others = [s for s in roster.staff if s.id != case.handler_id]
    local_day = now.astimezone(app.settings.tz).date()
    route = choose_handler(dep.id, others, list(roster.departments), open_case_counts(session),
                           roster.absences, local_day, delegates_on(roster, local_day))
    chosen = roster.member(route.staff_id)
    if chosen is None:
        raise CorrectionError(f"department {dep.id!r}: head {route.staff_id!r} is not in staff.toml")
    return chosen, route


def _original_message(session: Session, case: Case) -> InboundMessage | None:
    return session.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)
                        .order_by(InboundMessage.id)).first()


def reassign(session: Session, app, case: Case, to: str, reason: str, actor: str, now: datetime, *,
             category_changed: bool = False) -> str:
    """Move ``case`` to another handler; keeps ``due_at``; tells the new handler by mail."""
    reason, actor = _check_text(reason, actor)
    handler, route = resolve_target(session, app, case, to, now)
    if handler.id == case.handler_id:
        raise CorrectionError(f"case {case.ref} is already handled by {handler.id}")
    roster = app.settings.roster
    previous = roster.member(case.handler_id)
    previous_department = roster.department(case.department)
    department = department_of(app, handler.department)
    from_handler, from_department = case.handler_id, case.department
    due_before = case.due_at

    case.handler_id = handler.id
    case.department = handler.department
    session.add(case)
    session.add(Correction(case_id=case.id, at=now, actor=actor, kind=REASSIGN, from_value=from_handler[:64],
                           to_value=handler.id[:64], reason=reason))
    audit(session, now, "reassigned", case_id=case.id, actor=actor,
          detail={"from": from_handler, "to": handler.id, "from_department": from_department,
                  "to_department": handler.department, "requested": to, "route": route.reason,
                  "reason": reason, "due": due_before.isoformat()})

    category = app.rules.category_rules.category(case.category)
    facts = facts_for_staff(case_facts(case, category.label))
    ctx = replies.case_reassigned_context(facts, handler, department, app.org, previous_handler=previous,
                                          previous_department=previous_department, reason=reason,
                                          changed_by=actor, category_changed=category_changed)
    original = _original_message(session, case)
    enqueue(session, app, case, "case-reassigned", "case-reassigned", ctx, language="ko", to=handler.email,
            attach_raw_path=original.raw_path if original else None, auto_submitted="auto-generated", now=now,
            reply_to=app.settings.organization.intake_address)
    audit(session, now, "task-queued", case_id=case.id, actor=actor,
          detail={"to": handler.email, "template": "case-reassigned"})
    assert case.due_at == due_before
    log.info("%s reassigned %s -> %s by %s: %s", case.ref, from_handler, handler.id, actor, reason)
    return f"{case.ref} reassigned {from_handler} ({from_department}) -> {handler.id} ({handler.department})"


def reclassify(session: Session, app, case: Case, category: str, reason: str, actor: str, now: datetime) -> str:
    """Change the category; when its department differs from the case's, reassign by the
    routing rule within the new department. Policy and due time stay as they were."""
    reason, actor = _check_text(reason, actor)
    new_id = (category or "").strip()
    try:
        new_cat = app.rules.category_rules.category(new_id)
    except KeyError:
        known = ", ".join(c.id for c in app.rules.category_rules.categories)
        raise CorrectionError(f"unknown category {new_id!r}; known: {known}") from None
    old_id = case.category
    if new_id == old_id:
        raise CorrectionError(f"case {case.ref} is already in category {new_id}")
    if app.settings.roster.department(new_cat.department) is None:
        raise CorrectionError(f"category {new_id}: department {new_cat.department!r} is not in staff.toml")

    case.category = new_id
    session.add(case)
    session.add(Correction(case_id=case.id, at=now, actor=actor, kind=RECLASSIFY, from_value=old_id[:64],
                           to_value=new_id[:64], reason=reason))
    audit(session, now, "reclassified", case_id=case.id, actor=actor,
          detail={"from": old_id, "to": new_id, "reason": reason, "policy": case.policy,
                  "due": case.due_at.isoformat()})
    summary = f"{case.ref} reclassified {old_id} -> {new_id}"
    if new_cat.department != case.department:
        summary += "; " + reassign(session, app, case, new_cat.department,
                                   f"민원 종류 변경({old_id} → {new_id}): {reason}", actor, now,
                                   category_changed=True)
    return summary


def correction_summary(session: Session) -> CorrectionSummary:
    total = session.exec(select(func.count()).select_from(Case)).one()
    rows = session.exec(select(Correction).order_by(Correction.at, Correction.id)).all()
    return summarise_corrections(total, [CorrectionRecord(r.case_id, r.kind, r.from_value, r.to_value)
                                         for r in rows])
