"""Mail from staff: commands and answers by reply, and answers sent directly with intake in Cc.

Recognition (``recognise``) decides, before a message is treated as a customer's:

``command``   a reply from the handler's registered address carrying the case's
              task token: its commands run, or its plain text is relayed to the
              customer as the answer;
``answer-cc`` a staff member's mail to the customer with the intake address in
              Cc (not To) about a known case: recorded as the answer;
``refused``   a staff address writing about a case without a valid token (or
              someone else's token): nothing is done, the registered address is
              told why.

Anything else — a customer, a forged From without the token — is never a
command: it goes through the normal path. Auto-replies and bounces are never
staff mail (a handler's vacation notice must not become an answer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from intake.domain import replies
from intake.domain.records import Kind, MessageDecision, ParsedMail, StaffMember
from intake.domain.staff_commands import own_text, parse_staff_reply, tokens_in
from intake.models import Case, InboundMessage, Outbox
from intake.stages.case_actions import ActionError, answer, answered, run_command
from intake.stages.outbox import enqueue
from intake.stages.rows import audit

log = logging.getLogger("intake.staff")

COMMAND = "command"
ANSWER_CC = "answer-cc"
REFUSED = "refused"


@dataclass(frozen=True)
class StaffMail:
    kind: str                  # command | answer-cc | refused
    staff: StaffMember
    case_ref: str | None
    reason: str                # why it was recognised so (audit)


def _is_intake(app, address: str) -> bool:
    intake = app.settings.organization.intake_address.lower()
    local, _, domain = intake.partition("@")
    a = address.strip().lower()
    return a == intake or (a.endswith("@" + domain) and a.split("@")[0].split("+")[0] == local)


def recognise(session: Session, app, mail: ParsedMail, decision: MessageDecision) -> StaffMail | None:
    if decision.kind.kind in (Kind.AUTO_REPLY, Kind.BOUNCE):
        return None
    staff = app.settings.roster.member_by_email(mail.from_address)
    if staff is None:
        return None
    tokens = tokens_in(mail)
    for token in tokens:
        case = session.exec(select(Case).where(Case.task_token == token)).first()
        if case is None:
            continue
        if case.handler_id == staff.id:
            # Even when it looks like spam: a handler's reply about a spam case quotes the spam
            # (and says "#스팸 광고"); the handler's address with the case's token decides.
            return StaffMail(COMMAND, staff, case.ref, f"task token of {case.ref} from its handler {staff.id}")
        if decision.kind.kind == Kind.SPAM:
            return None
        return StaffMail(REFUSED, staff, case.ref,
                         f"{staff.id} is not the handler of {case.ref} (the handler is {case.handler_id}); "
                         f"only the handler's replies are commands — ask for #reassign first")
    if decision.kind.kind == Kind.SPAM:
        return None                 # spam that merely claims a staff address stays in quarantine
    if tokens:
        return StaffMail(REFUSED, staff, decision.kind.case_ref,
                         "the task token in this mail matches no case (an old or altered mail?)")
    case_ref = decision.kind.case_ref
    if not case_ref and _answers_our_mail(session, mail):
        return StaffMail(REFUSED, staff, None,
                         "a reply to a mail intake sent that is about no case (a digest, an error notice) is not "
                         "a request; to work a case, reply to its task mail")
    if case_ref:
        in_to = any(_is_intake(app, a) for a in mail.to)
        in_cc = any(_is_intake(app, a) for a in mail.cc)
        if in_cc and not in_to:
            return StaffMail(ANSWER_CC, staff, case_ref, f"{staff.id} answered the customer with intake in Cc")
        return StaffMail(REFUSED, staff, case_ref,
                         "a staff mail about a case without its task token is not a command; reply to the "
                         "task mail itself (its Reply-To address and the intake-token line carry the token)")
    return None


def _answers_our_mail(session: Session, mail: ParsedMail) -> bool:
    ids = [i for i in (mail.in_reply_to, *mail.references) if i]
    return bool(ids) and session.exec(select(Outbox.id).where(Outbox.message_id.in_(ids))).first() is not None


def apply(session: Session, app, row: InboundMessage, mail: ParsedMail, staff_mail: StaffMail, now: datetime) -> str:
    """Carry out one recognised staff mail inside the caller's transaction; returns a log summary."""
    case = session.exec(select(Case).where(Case.ref == staff_mail.case_ref)).first() if staff_mail.case_ref else None
    row.kind = f"staff-{staff_mail.kind}"
    if case is not None:
        row.case_id = case.id
    actor = staff_mail.staff.id
    if staff_mail.kind == REFUSED or case is None:
        return _refuse(session, app, row, staff_mail.staff, case, "(reply)", staff_mail.reason, now)
    if staff_mail.kind == ANSWER_CC:
        stopped = answered(session, app, case, actor, now, how="handler answered directly (intake in Cc)",
                           inbound_id=row.id)
        return f"{case.ref} answered directly by {actor} (intake in Cc; clocks met: {', '.join(stopped) or '-'})"

    reply = parse_staff_reply(mail.text)
    audit(session, now, "staff-reply", case_id=case.id, inbound_id=row.id, actor=actor,
          detail={"commands": [c.name for c in reply.commands], "errors": list(reply.errors),
                  "reason": staff_mail.reason})
    if reply.errors:
        return _refuse(session, app, row, staff_mail.staff, case, _command_lines(mail.text), "; ".join(reply.errors), now)
    savepoint = session.begin_nested()
    try:
        if reply.commands:
            results = [run_command(session, app, case, c, actor, now) for c in reply.commands]
        else:
            results = [answer(session, app, case, reply.answer, actor, now, inbound_id=row.id,
                              in_reply_to=_customer_message_id(session, case))]
        savepoint.commit()
    except ActionError as exc:
        savepoint.rollback()
        what = _command_lines(mail.text) if reply.commands else "(answer)"
        return _refuse(session, app, row, staff_mail.staff, case, what, str(exc), now)
    for line in results:
        log.info("%s", line)
    return "; ".join(results)


def _command_lines(text: str) -> str:
    lines = [l.strip() for l in own_text(text).splitlines() if l.strip().startswith("#")]
    return "\n".join(lines)[:500] or "(reply)"


def _customer_message_id(session: Session, case: Case) -> str | None:
    return session.exec(select(InboundMessage.message_id).where(InboundMessage.case_id == case.id)
                        .order_by(InboundMessage.id)).first()


def _refuse(session: Session, app, row: InboundMessage, staff: StaffMember, case: Case | None, command: str,
            error: str, now: datetime) -> str:
    """Nothing done: the staff member's registered address is told why (never the customer)."""
    audit(session, now, "command-refused", case_id=case.id if case else None, inbound_id=row.id, actor=staff.id,
          detail={"command": command, "error": error})
    ctx = replies.command_error_context(staff, app.org, command=command, error=error,
                                        case_ref=case.ref if case else None)
    # The handler's own error mail carries the task token (a corrected command can be sent by replying to
    # it); anyone else's never does, so a refusal cannot hand out a token.
    own = case if case is not None and case.handler_id == staff.id else None
    enqueue(session, app, own, "command-error", "command-error", ctx, language="ko", to=staff.email,
            auto_submitted="auto-replied", now=now)
    ref = case.ref if case else "-"
    log.warning("%s staff mail from %s refused: %s", ref, staff.id, error)
    return f"{ref} staff mail from {staff.id} refused: {error}"
