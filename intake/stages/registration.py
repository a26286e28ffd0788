"""Registering a new case, inside the caller's transaction.

A reference, a handler, a due time, the stored attachments, the clock, and the
acknowledgement and the task mail in the outbox — all in the same transaction
as the case row, so a crash leaves either all of it or none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlmodel import Session

from intake.domain.pii import mask_rrn
from intake.domain import replies
from intake.domain.channel import caller_id_status
from intake.domain.deadlines import due_time
from intake.domain.records import Channel, Classification, MessageDecision, ParsedMail, Route, StaffMember
from intake.domain.route import choose_handler
from intake.models import Case, InboundMessage
from intake.settings_roster import delegates_on
from intake.stages.attachments import store_attachments
from intake.stages.case_facts import case_facts, department as department_of, facts_for_staff
from intake.stages.clocks import start_clock
from intake.stages.fax_acknowledgement import acknowledge_by_fax
from intake.stages.gateway_notice import notify_new_gateway
from intake.stages.outbox import ack_skip_reason, enqueue, new_token
from intake.stages.rows import audit, audit_many, audit_values, open_case_counts

if TYPE_CHECKING:
    from intake.app import App


def next_ref(session: Session, year: int) -> str:
    """``YYYY-NNNNNN`` from a per-year counter, unique under concurrency.

    UPDATE … RETURNING takes the row lock (PostgreSQL) or the database write
    lock (SQLite) until commit; only the year's first reference finds no row
    and creates it first (INSERT … ON CONFLICT DO NOTHING, then the UPDATE again).
    """
    conn = session.connection()      # no ORM autoflush: the counter depends on nothing pending
    value = conn.execute(_BUMP_REF, {"y": year}).scalar_one_or_none()
    if value is None:
        conn.execute(_CREATE_REF_YEAR, {"y": year})
        value = conn.execute(_BUMP_REF, {"y": year}).scalar_one()
    return f"{year:04d}-{value:06d}"


_CASE_INSERT = Case.__table__.insert().returning(Case.__table__.c.id)
_BUMP_REF = text("UPDATE ref_sequence SET last_value = last_value + 1 WHERE year = :y RETURNING last_value")
_CREATE_REF_YEAR = text("INSERT INTO ref_sequence (year, last_value) VALUES (:y, 0) ON CONFLICT (year) DO NOTHING")


def route_case(session: Session, app: App, department: str, low_confidence: bool, now: datetime) -> Route:
    """The handler for a new case of ``department``: the triage person for a doubtful class, else
    the roster's choice (fewest open cases among those present today)."""
    roster = app.settings.roster
    triage = app.settings.processing.triage_staff
    if low_confidence and triage:
        member = roster.member(triage)
        if member is not None:
            return Route(department=member.department, staff_id=member.id,
                         reason=f"low-confidence classification: triage person {member.id}")
    local_day = now.astimezone(app.settings.tz).date()
    # No flush: the only pending change here is the inbound row's; cases are flushed when added.
    counts = open_case_counts(session, handlers=[s.id for s in roster.staff if s.department == department],
                              flush=False)
    return choose_handler(department, list(roster.staff), list(roster.departments), counts,
                          roster.absences, local_day, delegates_on(roster, local_day))


def case_policy(app: App, decision: MessageDecision) -> str:
    if decision.channel.channel is Channel.POST:
        return "phone-call"
    cat = app.rules.category_rules.category(decision.classification.category)
    work = app.policies.get(cat.work_policy) if cat.work_policy else None
    if work is not None and work.start_event.value == "receipt":
        return work.id     # e.g. review: its own period (7 days) is the promise from receipt
    return cat.policy


@dataclass(frozen=True)
class _NewCase:
    case: Case
    handler: StaffMember
    route: Route
    policy_id: str


def register_case(session: Session, app: App, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                  now: datetime) -> Case:
    cls = decision.classification
    assert cls is not None, "a case always has a classification"
    new = _insert_case(session, app, row, mail, decision, cls, now)
    case = new.case
    row.case_id = case.id
    kept_aside = store_attachments(session, app, row, mail)
    audit_many(session, [
        audit_values(now, "registered", case_id=case.id, inbound_id=row.id, detail={"ref": case.ref}),
        audit_values(now, "classified", case_id=case.id,
                     detail={"category": cls.category, "confidence": cls.confidence,
                             "low_confidence": cls.low_confidence,
                             "evidence": [f"{e.rule}: {e.detail}" for e in cls.evidence[:10]]}),
        audit_values(now, "routed", case_id=case.id, detail={"handler": new.handler.id, "reason": new.route.reason}),
        audit_values(now, "deadline", case_id=case.id, detail={"policy": new.policy_id, "due": case.due_at.isoformat()}),
    ])
    start_clock(session, app, case, new.policy_id, case.received_at, now, sync=False)
    _queue_case_mail(session, app, row, mail, decision, new, kept_aside, now)
    return case


def _insert_case(session: Session, app: App, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                 cls: Classification, now: datetime) -> _NewCase:
    received = row.received_at.astimezone(app.settings.tz)
    route = route_case(session, app, cls.department, cls.low_confidence, now)
    handler = app.settings.roster.member(route.staff_id)
    policy_id = case_policy(app, decision)
    due = due_time(app.calendar(received), app.policies[policy_id], received)
    customer_name = (decision.contact.name if decision.contact and decision.contact.name else mail.from_name) or ""
    values = dict(
        ref=next_ref(session, received.year), status="open", channel=decision.channel.channel.value,
        category=cls.category, department=handler.department, handler_id=handler.id,
        subject=mask_rrn(decision.subject)[:2000] or "(제목 없음)", customer_name=customer_name[:255],
        customer_address=decision.reply_to, customer_phone=decision.phone, customer_fax=decision.channel.fax_number,
        language=decision.language, pii=decision.pii, received_at=received, registered_at=now,
        policy=policy_id, due_at=due, text=mask_rrn(decision.body), task_token=new_token(),
        preferred_reply=decision.contact.preferred_reply if decision.contact else None,
        evidence=json.dumps({"classification": [e.__dict__ for e in cls.evidence],
                             "route": route.reason, "confidence": cls.confidence,
                             "low_confidence": cls.low_confidence}, ensure_ascii=False),
    )
    # A Core insert (the unit of work's flush of a new case was a large share of its time); the
    # Case object is a record of what was written, not added to the session: code that needs
    # the case later in the transaction reads it from the database like any other.
    case = Case(id=session.connection().execute(_CASE_INSERT, values).scalar_one(), **values)
    return _NewCase(case, handler, route, policy_id)


def _queue_case_mail(session: Session, app: App, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                     new: _NewCase, kept_aside: list, now: datetime) -> None:
    """The customer's acknowledgement (by the channel's duty) and the handler's task."""
    case, handler, cls = new.case, new.handler, decision.classification
    department = department_of(app, handler.department)
    category = app.rules.category_rules.category(cls.category)
    facts = case_facts(case, category.label, cls.evidence, needs_manual_reading=row.needs_manual_reading)
    org = app.org
    ack_to = decision.reply_to
    skip_reason = ack_skip_reason(app, ack_to, decision, session, now)
    if skip_reason is None:
        customer_refs = tuple(mail.references) + ((mail.message_id,) if mail.message_id else ())
        enqueue(session, app, case, "acknowledgement", "acknowledgement",
                replies.acknowledgement_context(facts, handler, department, org), language=case.language,
                to=ack_to, in_reply_to=mail.message_id, references=customer_refs, now=now)
        audit(session, now, "acknowledgement-queued", case_id=case.id, detail={"to": ack_to})
    else:
        audit(session, now, "acknowledgement-skipped", case_id=case.id, detail={"reason": skip_reason})
    fax_status, task_files = replies.fax_acknowledgement_status(), ()
    if decision.channel.channel is Channel.FAX:
        fax_status, task_files = acknowledge_by_fax(session, app, case, facts, handler, department, decision, now)
        notify_new_gateway(session, app, case, mail.from_address, decision.channel, now)   # tell admins once
    if decision.channel.channel is Channel.POST:
        ctx = replies.phone_call_task_context(facts_for_staff(facts), handler, department, org, call_by=case.due_at,
                                              kept_aside=kept_aside)
        name = "phone-call-task"
    else:
        ctx = replies.staff_task_context(facts_for_staff(facts), handler, department, org,
                                         low_confidence=cls.low_confidence, fax_acknowledgement=fax_status,
                                         kept_aside=kept_aside, caller_id=caller_id_status(decision.channel))
        name = "staff-task"
    enqueue(session, app, case, "staff-task", name, ctx, language="ko", to=handler.email,
            attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
            reply_to=app.settings.organization.intake_address, attachments=task_files)
    audit(session, now, "task-queued", case_id=case.id, detail={"to": handler.email, "template": name})
