"""What staff do to a case, by e-mail command or on the command line — one implementation for both.

Every action runs inside the caller's transaction and writes, together: the
clock and case changes, an audit event naming the actor, and any mail (the
customer's notice or answer, a new handler's task) in the outbox. A refused
action raises ``ActionError`` and the caller rolls everything back.

Customer notices for an event (hold, resume, extension) are written at most
once per event: each has a ``notice`` ledger row with a unique key.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from intake.domain import replies
from intake.domain.fax_gateway import gateway_address, same_number
from intake.domain.outgoing import FileAttachment
from intake.domain.clocks import CUSTOMER_FACING, ClockError, ClockState
from intake.domain.staff_commands import Command
from intake.domain.workdays import working_time_between
from intake.models import Case, CaseClock
from intake.stages import clocks as clock_rows
from intake.stages.corrections import CorrectionError, reassign
from intake.stages.case_facts import facts_of, handler_of
from intake.stages.outbox import customer_skip_reason, enqueue
from intake.stages.customer_notice import ActionError, notify_customer  # noqa: F401  (re-exported)
from intake.stages.rows import audit
from intake.stages.spam_marking import mark_spam

log = logging.getLogger("intake.actions")

#: Clocks a first answer to the customer keeps (the reply promise and its kin).
ANSWER_CLOCKS = ("reply", "correction", "phone-call", "error-contact")


def _handler(app, case: Case):
    staff = handler_of(app, case)
    if staff is None:
        raise ActionError(f"handler {case.handler_id!r} of {case.ref} is not in staff.toml")
    return staff


# ------------------------------------------------------------------ the actions


def _live_or_error(session: Session, case: Case, policies=None, what: str = "a running clock") -> CaseClock:
    row = clock_rows.live_clock(session, case, policies)
    if row is None:
        raise ActionError(f"{case.ref} has no {what}")
    return row


def hold(session: Session, app, case: Case, reason: str, actor: str, now: datetime) -> str:
    rows = [r for r in clock_rows.case_clocks(session, case.id, live_only=True)
            if r.state == ClockState.RUNNING.value and app.policies[r.policy].pausable]
    if not rows and any(r.state == ClockState.PAUSED.value for r in clock_rows.case_clocks(session, case.id)):
        raise ActionError(f"{case.ref} is already on hold; send #resume first")
    if not rows:
        live = ", ".join(r.policy for r in clock_rows.case_clocks(session, case.id, live_only=True)) or "none"
        raise ActionError(f"{case.ref} has no clock that may be put on hold (running: {live}); "
                          f"only pausable policies stop for supplements or consultations — use #extend instead")
    for row in rows:
        try:
            clock_rows.hold(session, app, row, now)
        except ClockError as exc:
            raise ActionError(str(exc)) from None
    clock_rows.sync_case(session, case, now)
    audit(session, now, "paused", case_id=case.id, actor=actor,
          detail={"clocks": [r.policy for r in rows], "reason": reason})
    handler, department = _handler(app, case)
    ctx = replies.progress_notice_context(facts_of(app, case), handler, department, app.org,
                                          situation="on-hold", reason=reason)
    sent = notify_customer(session, app, case, "progress-notice", ctx, key=f"hold:{rows[0].id}:{now.isoformat()}",
                           kind="progress-notice", now=now, actor=actor)
    return f"{case.ref} on hold ({', '.join(r.policy for r in rows)}): {reason}; {sent}"


def resume(session: Session, app, case: Case, actor: str, now: datetime) -> str:
    rows = [r for r in clock_rows.case_clocks(session, case.id, live_only=True) if r.state == ClockState.PAUSED.value]
    if not rows:
        raise ActionError(f"{case.ref} is not on hold")
    dues = []
    for row in rows:
        dues.append(clock_rows.resume(session, app, row, now))
    clock_rows.sync_case(session, case, now)
    audit(session, now, "resumed", case_id=case.id, actor=actor,
          detail={"clocks": [r.policy for r in rows], "due": [d.isoformat() if d else None for d in dues]})
    handler, department = _handler(app, case)
    ctx = replies.progress_notice_context(facts_of(app, case), handler, department, app.org,
                                          situation="resumed")
    sent = notify_customer(session, app, case, "progress-notice", ctx, key=f"resume:{rows[0].id}:{now.isoformat()}",
                           kind="progress-notice", now=now, actor=actor)
    return f"{case.ref} resumed, due {case.due_at.isoformat()}; {sent}"


def extend(session: Session, app, case: Case, new_date, reason: str, actor: str, now: datetime) -> str:
    row = _live_or_error(session, case, tuple(CUSTOMER_FACING) + ("phone-call",), "running clock to extend")
    before = row.due_at
    try:
        after = clock_rows.extend(session, app, row, new_date, reason, now)
    except ClockError as exc:
        raise ActionError(str(exc)) from None
    clock_rows.sync_case(session, case, now)
    audit(session, now, "extended", case_id=case.id, actor=actor,
          detail={"clock": row.policy, "before": before.isoformat() if before else None,
                  "after": after.isoformat() if after else None, "reason": reason})
    handler, department = _handler(app, case)
    facts = facts_of(app, case)
    ctx = replies.extension_notice_context(facts, handler, department, app.org,
                                           previous_due_at=before or facts.due_at, reason=reason)
    sent = notify_customer(session, app, case, "extension-notice", ctx, key=f"extend:{row.id}",
                           kind="extension-notice", now=now, actor=actor)
    return f"{case.ref} {row.policy} extended to {after.isoformat() if after else '-'}: {reason}; {sent}"


def close(session: Session, app, case: Case, note: str, actor: str, now: datetime) -> str:
    if case.status == "closed":
        raise ActionError(f"{case.ref} is already closed")
    state = ClockState.MET if case.answered_at else ClockState.CANCELLED
    stopped = clock_rows.stop_all(session, app, case, state, now)
    case.status = "closed"
    case.closed_at = now
    session.add(case)
    audit(session, now, "closed", case_id=case.id, actor=actor, detail={"note": note, "clocks": stopped})
    return f"{case.ref} closed" + (f" ({note})" if note else "")


def called(session: Session, app, case: Case, written: bool, note: str, actor: str, now: datetime) -> str:
    """The postal request's phone call is done; a written reply, if wanted, gets its own clock."""
    row = _live_or_error(session, case, ("phone-call",), "phone-call clock running (was it a postal request?)")
    clock_rows.stop(session, app, row, ClockState.MET, now)
    wants_written = written or case.preferred_reply in ("post", "fax", "email")
    detail = {"note": note, "written_reply": wants_written}
    result = f"{case.ref} phone call recorded"
    if wants_written:
        new = clock_rows.start_clock(session, app, case, "reply", now, now, actor=actor)
        detail["reply_due"] = new.due_at.isoformat() if new.due_at else None
        result += f"; written reply due {new.due_at.isoformat() if new.due_at else '-'}"
    else:
        clock_rows.sync_case(session, case, now)
        if not clock_rows.case_clocks(session, case.id, live_only=True):
            _mark_answered(case, now)
    audit(session, now, "called", case_id=case.id, actor=actor, detail=detail)
    session.add(case)
    return result


def approved(session: Session, app, case: Case, actor: str, now: datetime) -> str:
    category = app.rules.category_rules.category(case.category)
    if category is None or category.work_policy != "issuance":
        raise ActionError(f"{case.ref} is a {case.category} case; #approved starts the issuance clock of "
                          f"visit-certificate and vehicle-permit cases only")
    if any(r.policy == "issuance" for r in clock_rows.case_clocks(session, case.id)):
        raise ActionError(f"{case.ref}: the ministry's approval was already recorded")
    row = clock_rows.start_clock(session, app, case, "issuance", now, now, actor=actor)
    _reopen(case)
    audit(session, now, "approved", case_id=case.id, actor=actor, detail={"issuance_due": row.due_at.isoformat()})
    return f"{case.ref} approval recorded; issuance due {row.due_at.isoformat()}"


def service_error(session: Session, app, case: Case, what: str, actor: str, now: datetime) -> str:
    contact = clock_rows.start_clock(session, app, case, "error-contact", now, now, actor=actor)
    fix = clock_rows.start_clock(session, app, case, "error-fix", now, now, actor=actor)
    _reopen(case)
    audit(session, now, "service-error", case_id=case.id, actor=actor,
          detail={"what": what, "contact_due": contact.due_at.isoformat(), "fix_due": fix.due_at.isoformat()})
    return (f"{case.ref} service error recorded: contact the customer by {contact.due_at.isoformat()}, "
            f"fix by {fix.due_at.isoformat()}")


def note(session: Session, app, case: Case, text: str, actor: str, now: datetime) -> str:
    audit(session, now, "note", case_id=case.id, actor=actor, detail={"text": text})
    return f"{case.ref} note recorded"


def do_reassign(session: Session, app, case: Case, target: str, reason: str, actor: str, now: datetime) -> str:
    try:
        return reassign(session, app, case, target, reason or "reassigned by e-mail command", actor, now)
    except CorrectionError as exc:
        raise ActionError(str(exc)) from None


def _reopen(case: Case) -> None:
    if case.status != "open":
        case.status = "open"


def _mark_answered(case: Case, now: datetime) -> None:
    case.status = "answered"
    case.answered_at = case.answered_at or now


def answered(session: Session, app, case: Case, actor: str, now: datetime, *, how: str,
             inbound_id: int | None = None) -> list[str]:
    """Record that the customer got an answer: the answer clocks stop (met), the time is kept."""
    rows = [r for r in clock_rows.case_clocks(session, case.id, live_only=True) if r.policy in ANSWER_CLOCKS]
    if not rows:   # the only promise left is the work itself (review, issuance, fix): this answer keeps it
        rows = clock_rows.case_clocks(session, case.id, live_only=True)[:1]
    for row in rows:
        clock_rows.stop(session, app, row, ClockState.MET, now)
    clock_rows.sync_case(session, case, now)
    if not clock_rows.case_clocks(session, case.id, live_only=True):
        _mark_answered(case, now)
    else:
        case.answered_at = case.answered_at or now
    session.add(case)
    audit(session, now, "answered", case_id=case.id, inbound_id=inbound_id, actor=actor,
          detail={"how": how, "clocks": [r.policy for r in rows],
                  "working_hours_to_answer": round(working_time_between(
                      app.calendar(case.received_at), case.received_at, now).total_seconds() / 3600, 2)})
    return [r.policy for r in rows]


def answer(session: Session, app, case: Case, text: str, actor: str, now: datetime, *,
           inbound_id: int | None = None, in_reply_to: str | None = None) -> str:
    """Send the handler's answer to the customer, signed with the handler's details, and record it."""
    text = (text or "").strip()
    if not text:
        raise ActionError("the answer is empty")
    handler, department = _handler(app, case)
    ctx = replies.reply_relay_context(facts_of(app, case), handler, department, app.org, answer=text)
    fax_to = _fax_address(app, case)
    reason = customer_skip_reason(app, case.customer_address)
    if fax_to is not None and (reason is not None or case.preferred_reply == "fax"):
        _send_by_fax(session, app, case, ctx, fax_to, now)
        stopped = answered(session, app, case, actor, now, how=f"relayed by fax via {fax_to}", inbound_id=inbound_id)
        return f"{case.ref} answer faxed via {fax_to} (clocks met: {', '.join(stopped) or '-'})"
    if reason is not None:
        how = "by phone, by fax or with a printed letter (intake cases letter)"
        raise ActionError(f"cannot send the answer by e-mail: {reason}; answer {how} and record it with #close")
    enqueue(session, app, case, "reply-relay", "reply-relay", ctx, language=case.language, to=case.customer_address,
            now=now, in_reply_to=in_reply_to, auto_submitted=None)
    stopped = answered(session, app, case, actor, now, how="relayed by intake", inbound_id=inbound_id)
    return f"{case.ref} answer relayed to {case.customer_address} (clocks met: {', '.join(stopped) or '-'})"


def _fax_address(app, case: Case) -> str | None:
    """The e-mail-to-fax gateway address for the customer's fax number, when both are known."""
    pattern = app.settings.fax.gateway_address
    if not pattern or not case.customer_fax:
        return None
    if any(same_number(case.customer_fax, own) for own in app.settings.fax.own_numbers):
        return None
    return gateway_address(pattern, case.customer_fax)


def _send_by_fax(session: Session, app, case: Case, ctx: dict, address: str, now: datetime) -> None:
    """The signed answer as a PDF through the fax gateway (the customer asked for fax, or has no e-mail)."""
    from intake.adapters.pdf_render import FontNotFoundError, render_mail_pdf

    rendered = app.templates.render("reply-relay", ctx, language=case.language)
    try:
        pdf = render_mail_pdf(rendered)
    except FontNotFoundError as exc:
        raise ActionError(f"the fax PDF could not be rendered ({exc}); print the answer with intake cases letter") from None
    enqueue(session, app, case, "reply-relay-fax", "reply-relay", ctx, language=case.language, to=address, now=now,
            auto_submitted=None, attachments=(FileAttachment(f"answer-{case.ref}.pdf", "application/pdf", pdf),))


def run_command(session: Session, app, case: Case, command: Command, actor: str, now: datetime) -> str:
    """One parsed staff command on ``case``."""
    n = command.name
    if case.status == "closed" and n not in ("note", "reassign", "error", "spam"):
        raise ActionError(f"{case.ref} is closed")
    if n == "hold":
        return hold(session, app, case, command.argument, actor, now)
    if n == "resume":
        return resume(session, app, case, actor, now)
    if n == "extend":
        return extend(session, app, case, command.date, command.argument, actor, now)
    if n == "reassign":
        return do_reassign(session, app, case, command.target or "", command.argument, actor, now)
    if n == "close":
        return close(session, app, case, command.argument, actor, now)
    if n == "called":
        return called(session, app, case, command.written, command.argument, actor, now)
    if n == "approved":
        return approved(session, app, case, actor, now)
    if n == "error":
        return service_error(session, app, case, command.argument, actor, now)
    if n == "note":
        return note(session, app, case, command.argument, actor, now)
    if n == "spam":
        return mark_spam(session, app, case, command.argument, actor, now)
    if n == "decision":
        from intake.stages.suggestions import decide   # (suggestions imports this module)

        return decide(session, app, case, command.outcome or "", command.argument, actor, now)
    raise ActionError(f"unknown command #{n}")

