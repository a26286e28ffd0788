"""Template contexts: the ``*_context`` builders (pure: no I/O, no ORM, no Jinja).

Each builder turns typed records into plain data -- dicts, lists, ``str``,
``int``, ``bool``, ``date`` and ``datetime`` only -- so a template can never
reach a record, an ORM row or any object with behaviour.  The keys each one
produces are the variables its message declares in ``replies.MESSAGES`` (the
schema); a test checks that they match.  Importable from ``replies`` too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from intake.domain.records import CaseFacts, Department, Evidence, OrgFacts, StaffMember

_KST = timezone(timedelta(hours=9), "KST")


def _s(value: str | None) -> str:
    return "" if value is None else str(value)


def case_context(case: CaseFacts, *, staff: bool = False) -> dict:
    """``case`` variable: the customer view, or with ``staff=True`` the staff
    view (request text, customer contact, category id, policy)."""
    ctx = {
        "ref": case.ref,
        "subject": case.subject,
        "received_at": case.received_at,
        "due_at": case.due_at,
        "category_label": case.category_label,
        "channel": case.channel.value if hasattr(case.channel, "value") else str(case.channel),
        "customer_name": _s(case.customer_name),
        "language": case.language,
    }
    if staff:
        ctx.update(
            category=case.category,
            policy=case.policy,
            text=case.text,
            customer_address=_s(case.customer_address),
            customer_phone=_s(case.customer_phone),
            customer_fax=_s(case.customer_fax),
            pii=bool(case.pii),
            needs_manual_reading=bool(case.needs_manual_reading),
        )
    return ctx


def handler_context(handler: StaffMember, department: Department) -> dict:
    """``handler`` variable.  ``department`` is the handler's department record
    (its name is shown, not the id).  Blank fields stay blank here; rendering a
    customer-facing message with a blank charter field is refused."""
    return {
        "name": _s(handler.name),
        "department": _s(department.name),
        "phone": _s(handler.phone),
        "email": _s(handler.email),
    }


def org_context(org: OrgFacts) -> dict:
    return {"name": org.name, "intake_address": org.intake_address}


def department_context(department: Department) -> dict:
    return {"id": department.id, "name": department.name, "head": department.head}


def evidence_context(evidence: Iterable[Evidence]) -> list[dict]:
    return [{"rule": e.rule, "detail": e.detail, "score": float(e.score)} for e in evidence]


def _customer_base(case: CaseFacts, handler: StaffMember, department: Department,
                   org: OrgFacts) -> dict:
    return {
        "case": case_context(case),
        "handler": handler_context(handler, department),
        "org": org_context(org),
    }


def _staff_base(case: CaseFacts, handler: StaffMember, department: Department,
                org: OrgFacts) -> dict:
    return {
        "case": case_context(case, staff=True),
        "handler": handler_context(handler, department),
        "org": org_context(org),
    }


def acknowledgement_context(case: CaseFacts, handler: StaffMember, department: Department,
                            org: OrgFacts) -> dict:
    return _customer_base(case, handler, department, org)


def fax_acknowledgement_context(case: CaseFacts, handler: StaffMember, department: Department,
                                org: OrgFacts) -> dict:
    ctx = _customer_base(case, handler, department, org)
    ctx["recipient_fax"] = _s(case.customer_fax)
    return ctx


def kept_aside_context(parts: Iterable[tuple[str, str, int, str]]) -> list[dict]:
    """``(filename, content_type, size, reason)`` of each attachment kept aside."""
    return [{"filename": _s(f), "content_type": _s(t), "size": int(n), "reason": _s(r)} for f, t, n, r in parts]


def fax_acknowledgement_status(status: str = "", number: str | None = None, address: str | None = None,
                               reason: str | None = None) -> dict:
    """``fax_acknowledgement`` variable: ``status`` gateway | by-hand | not-sent | "" (not a fax)."""
    if status not in ("", "gateway", "by-hand", "not-sent"):
        raise ValueError(f"unknown fax acknowledgement status {status!r}")
    return {"status": status, "number": _s(number), "address": _s(address), "reason": _s(reason)}


CALLER_ID_STATES = ("", "withheld", "not-found")


def staff_task_context(case: CaseFacts, handler: StaffMember, department: Department,
                       org: OrgFacts, *, low_confidence: bool = False, fax_acknowledgement: dict | None = None,
                       kept_aside: Iterable[tuple[str, str, int, str]] = (), caller_id: str = "") -> dict:
    """``caller_id``: ``withheld`` | ``not-found`` for a fax without a caller number
    (``intake.domain.channel.caller_id_status``), "" otherwise."""
    if caller_id not in CALLER_ID_STATES:
        raise ValueError(f"unknown caller_id {caller_id!r}")
    ctx = _staff_base(case, handler, department, org)
    ctx["evidence"] = evidence_context(case.evidence)
    ctx["low_confidence"] = bool(low_confidence)
    ctx["fax_acknowledgement"] = dict(fax_acknowledgement or fax_acknowledgement_status())
    ctx["kept_aside"] = kept_aside_context(kept_aside)
    ctx["caller_id"] = caller_id
    return ctx


def follow_up_notice_context(case: CaseFacts, handler: StaffMember, department: Department,
                             org: OrgFacts, *, sender: str, subject: str, text: str, received_at: datetime,
                             reopened: bool) -> dict:
    ctx = _staff_base(case, handler, department, org)
    ctx["message"] = {"sender": _s(sender), "subject": _s(subject), "text": _s(text), "received_at": received_at}
    ctx["reopened"] = bool(reopened)
    return ctx


def phone_call_task_context(case: CaseFacts, handler: StaffMember, department: Department,
                            org: OrgFacts, call_by: datetime,
                            kept_aside: Iterable[tuple[str, str, int, str]] = ()) -> dict:
    """``call_by`` is computed by the caller (two days after receipt, per policy)."""
    ctx = _staff_base(case, handler, department, org)
    ctx["evidence"] = evidence_context(case.evidence)
    ctx["call_by"] = call_by
    ctx["kept_aside"] = kept_aside_context(kept_aside)
    return ctx


PROGRESS_SITUATIONS = ("", "overdue", "on-hold", "resumed")


def progress_notice_context(case: CaseFacts, handler: StaffMember, department: Department,
                            org: OrgFacts, progress: str = "", *, reason: str | None = None,
                            expected_at: datetime | None = None, situation: str = "",
                            waiting_on: Mapping[str, str] | None = None) -> dict:
    """``expected_at``: the new expected date when the due (``case.due_at``) has passed or moved
    ("" when none is known, so a template tests it with ``{% if expected_at %}``).

    ``situation`` names a notice intake writes itself (its wording is in the template, not
    here): ``overdue`` (``waiting_on`` = the later procedure's label and policy, if any),
    ``on-hold`` (``reason`` = why), ``resumed``; "" = the handler's own ``progress`` text."""
    if situation not in PROGRESS_SITUATIONS:
        raise ValueError(f"unknown progress situation {situation!r}")
    ctx = _customer_base(case, handler, department, org)
    ctx["progress"] = progress
    ctx["reason"] = _s(reason)
    ctx["expected_at"] = expected_at if expected_at is not None else ""
    ctx["situation"] = situation
    ctx["waiting_on"] = {"label": _s((waiting_on or {}).get("label")),
                         "policy": _s((waiting_on or {}).get("policy"))}
    return ctx


def extension_notice_context(case: CaseFacts, handler: StaffMember, department: Department,
                             org: OrgFacts, previous_due_at: datetime, reason: str) -> dict:
    """``case.due_at`` is the NEW deadline; ``previous_due_at`` the old one."""
    ctx = _customer_base(case, handler, department, org)
    ctx["previous_due_at"] = previous_due_at
    ctx["reason"] = reason
    return ctx


def decision_notice_context(case: CaseFacts, handler: StaffMember, department: Department, org: OrgFacts,
                            outcome: str, reason: str) -> dict:
    ctx = _customer_base(case, handler, department, org)
    ctx["outcome"] = outcome
    ctx["reason"] = reason
    return ctx


def survey_context(case: CaseFacts, handler: StaffMember, department: Department, org: OrgFacts,
                   links: Iterable[tuple[int, str, str]], expires_at: datetime) -> dict:
    ctx = _customer_base(case, handler, department, org)
    ctx["links"] = [{"score": s, "label": label, "url": url} for s, label, url in links]
    ctx["expires_at"] = expires_at
    return ctx


def survey_recovery_context(case: CaseFacts, handler: StaffMember, department: Department, org: OrgFacts,
                            score: int, score_label: str, comment: str, due_at: datetime) -> dict:
    ctx = _staff_base(case, handler, department, org)
    ctx["department"] = department_context(department)
    ctx.update(score=score, score_label=score_label, comment=_s(comment), due_at=due_at)
    return ctx


def reply_relay_context(case: CaseFacts, handler: StaffMember, department: Department,
                        org: OrgFacts, answer: str) -> dict:
    ctx = _customer_base(case, handler, department, org)
    ctx["answer"] = answer
    return ctx


def _day_difference(later: datetime, earlier: datetime) -> int:
    return (later.astimezone(_KST).date() - earlier.astimezone(_KST).date()).days


def reminder_context(case: CaseFacts, handler: StaffMember, department: Department,
                     org: OrgFacts, now: datetime) -> dict:
    ctx = _staff_base(case, handler, department, org)
    ctx["days_left"] = max(0, _day_difference(case.due_at, now))
    return ctx


def overdue_escalation_context(case: CaseFacts, handler: StaffMember, department: Department,
                               org: OrgFacts, now: datetime) -> dict:
    ctx = _staff_base(case, handler, department, org)
    ctx["department"] = department_context(department)
    ctx["overdue_days"] = max(0, _day_difference(now, case.due_at))
    return ctx


def daily_digest_context(day: date, now: datetime, recipient: StaffMember,
                         entries: Sequence[tuple[CaseFacts, StaffMember]],
                         org: OrgFacts) -> dict:
    """``entries``: open cases with their handlers; state is derived from
    ``now`` (overdue, due within 24 hours, otherwise open)."""
    cases = []
    counts = {"open": 0, "due-soon": 0, "overdue": 0}
    for case, handler in sorted(entries, key=lambda e: (e[0].due_at, e[0].ref)):
        if case.due_at < now:
            state = "overdue"
        elif case.due_at - now <= timedelta(hours=24):
            state = "due-soon"
        else:
            state = "open"
        counts[state] += 1
        cases.append({
            "ref": case.ref,
            "subject": case.subject,
            "category_label": case.category_label,
            "due_at": case.due_at,
            "handler_name": handler.name,
            "state": state,
        })
    return {
        "org": org_context(org),
        "recipient_name": recipient.name,
        "date": day,
        "cases": cases,
        "open_count": len(cases),
        "due_soon_count": counts["due-soon"],
        "overdue_count": counts["overdue"],
    }


def bounce_task_context(case: CaseFacts, handler: StaffMember, department: Department,
                        org: OrgFacts, failed_recipient: str, bounce_status: str | None = None,
                        diagnostic: str | None = None) -> dict:
    ctx = _staff_base(case, handler, department, org)
    ctx["failed_recipient"] = failed_recipient
    ctx["bounce_status"] = _s(bounce_status)
    ctx["diagnostic"] = _s(diagnostic)
    return ctx


def command_error_context(recipient: StaffMember, org: OrgFacts, command: str, error: str,
                          case_ref: str | None = None) -> dict:
    return {
        "org": org_context(org),
        "recipient_name": recipient.name,
        "command": command,
        "error": error,
        "case_ref": _s(case_ref),
    }


def template_rejected_context(recipient_name: str, org: OrgFacts, template: str, serving_version: str | None,
                              problems: Iterable[tuple[str, int, str]]) -> dict:
    return {
        "org": org_context(org),
        "recipient_name": recipient_name,
        "template": template,
        "serving_version": _s(serving_version),
        "problems": [{"file": f, "line": int(line), "message": m} for f, line, m in problems],
    }


def calendar_review_context(recipient_name: str, org: OrgFacts, year: int, reviewed_years: Iterable[int],
                            calendar_file: str) -> dict:
    return {
        "org": org_context(org),
        "recipient_name": recipient_name,
        "year": int(year),
        "reviewed_years": ", ".join(str(y) for y in sorted(reviewed_years)),
        "calendar_file": calendar_file,
    }


def operator_alert_context(recipient_name: str, org: OrgFacts, condition: str, title: str, since: str,
                           details: Iterable[str]) -> dict:
    return {"org": org_context(org), "recipient_name": recipient_name, "condition": condition, "title": title,
            "since": since, "details": [{"line": _s(d)} for d in details]}


def fax_gateway_new_context(recipient_name: str, org: OrgFacts, sender: str, case_ref: str, config_line: str,
                            channels_file: str, rules: Iterable[str]) -> dict:
    return {"org": org_context(org), "recipient_name": recipient_name, "sender": sender, "case_ref": case_ref,
            "config_line": config_line, "channels_file": channels_file, "rules": ", ".join(rules)}


def letter_context(case: CaseFacts, handler: StaffMember, department: Department,
                   org: OrgFacts, answer: str, letter_date: date) -> dict:
    ctx = _customer_base(case, handler, department, org)
    ctx["answer"] = answer
    ctx["letter_date"] = letter_date
    return ctx


def case_reassigned_context(case: CaseFacts, handler: StaffMember, department: Department, org: OrgFacts, *,
                            previous_handler: StaffMember | None, previous_department: Department | None,
                            reason: str, changed_by: str, category_changed: bool = False) -> dict:
    """``handler`` is the NEW handler; ``case.due_at`` is unchanged by a reassignment."""
    ctx = _staff_base(case, handler, department, org)
    ctx["previous_handler"] = {
        "name": _s(previous_handler.name if previous_handler else ""),
        "department": _s(previous_department.name if previous_department else ""),
    }
    ctx["reason"] = _s(reason)
    ctx["changed_by"] = _s(changed_by)
    ctx["category_changed"] = bool(category_changed)
    return ctx


def sign_in_link_context(recipient_name: str, org: OrgFacts, link: str, minutes: int) -> dict:
    return {"org": org_context(org), "recipient_name": _s(recipient_name), "link": _s(link), "minutes": int(minutes)}
