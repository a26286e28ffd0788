"""Effects of the messages that are not a new case, written inside the caller's transaction.

- follow-up: attached to its case, the handler told, a closed case reopened
  (a reference to a case we do not know raises ``UnknownCaseRef``: the process
  stage then registers the message as a new case rather than lose it);
- bounce: linked to the outgoing mail it reports, which is marked
  undeliverable; the handler gets a task to reach the customer another way;
- auto-reply: attached to the case it answers, never answered;
- spam: kept in quarantine, never answered.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from intake.domain import replies
from intake.domain.outgoing import one_line
from intake.domain.pii import mask_rrn
from intake.domain.records import MessageDecision, ParsedMail
from intake.models import Case, InboundMessage, Outbox
from intake.stages.attachments import store_attachments
from intake.stages.case_facts import case_by_ref, facts_for_staff, facts_of, handler_of
from intake.stages.outbox import enqueue
from intake.stages.rows import audit
from intake.stages.spam_marking import follow_up_of_spam

if TYPE_CHECKING:
    from intake.app import App

QUARANTINE = "quarantine"
"""The inbound stage of spam: kept, listed for review, never answered."""


class UnknownCaseRef(LookupError):
    def __init__(self, ref: str | None):
        self.ref = ref
        super().__init__(f"follow-up refers to case {ref!r}, which does not exist")


def attach_follow_up(session: Session, app: App, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                     now: datetime) -> str:
    case = case_by_ref(session, decision.kind.case_ref)
    if case is None:
        raise UnknownCaseRef(decision.kind.case_ref)
    spam = follow_up_of_spam(session, row, case, now)
    if spam is not None:
        return spam
    row.case_id = case.id
    store_attachments(session, app, row, mail)
    reopened = False
    if case.status == "closed" and app.settings.processing.reopen_closed_on_follow_up:
        case.status = "open"
        reopened = True
        session.add(case)
    audit(session, now, "follow-up", case_id=case.id, inbound_id=row.id,
          detail={"from": mail.from_address, "reopened": reopened,
                  "evidence": [f"{e.rule}: {e.detail}" for e in decision.kind.evidence]})
    staff = handler_of(app, case)
    if staff is not None:
        handler, department = staff
        ctx = replies.follow_up_notice_context(
            facts_for_staff(facts_of(app, case)), handler, department, app.org, sender=mail.from_address,
            subject=one_line(mail.subject), text=mask_rrn(decision.body)[:20000],
            received_at=row.received_at.astimezone(app.settings.tz), reopened=reopened)
        enqueue(session, app, case, "follow-up-notice", "follow-up-notice", ctx, language="ko",
                to=handler.email, attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
                reply_to=app.settings.organization.intake_address)
    return f"{case.ref} follow-up attached{' (case reopened)' if reopened else ''}"


def record_auto_reply(session: Session, app: App, row: InboundMessage, decision: MessageDecision,
                      now: datetime) -> str:
    case = case_by_ref(session, decision.kind.case_ref)
    if case is not None:
        row.case_id = case.id
    audit(session, now, "auto-reply", case_id=case.id if case else None, inbound_id=row.id,
          detail={"evidence": [f"{e.rule}: {e.detail}" for e in decision.kind.evidence]})
    return f"{case.ref if case else '-'} auto-reply recorded (never answered)"


def record_bounce(session: Session, app: App, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                  now: datetime) -> str:
    kd = decision.kind
    bounced = _bounced_outbox(session, mail)
    case = case_by_ref(session, kd.case_ref)
    if case is None and bounced is not None and bounced.case_id:
        case = session.get(Case, bounced.case_id)
    if bounced is not None:
        bounced.status = "undeliverable"
        bounced.last_error = f"bounce {kd.bounce_status or ''} for {kd.failed_recipient or bounced.rcpt_to}".strip()
        session.add(bounced)
    if case is not None:
        row.case_id = case.id
    audit(session, now, "bounce", case_id=case.id if case else None, inbound_id=row.id,
          detail={"failed_recipient": kd.failed_recipient, "status": kd.bounce_status,
                  "outbox_id": bounced.id if bounced else None})
    staff = handler_of(app, case) if case is not None else None
    if staff is not None and (bounced is None or bounced.purpose != "staff-task"):
        handler, department = staff
        ctx = replies.bounce_task_context(facts_for_staff(facts_of(app, case)), handler, department, app.org,
                                          failed_recipient=kd.failed_recipient or case.customer_address or "",
                                          bounce_status=kd.bounce_status or "", diagnostic="")
        enqueue(session, app, case, "bounce-task", "bounce-task", ctx, language="ko", to=handler.email,
                attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
                reply_to=app.settings.organization.intake_address)
    return f"{case.ref if case else '-'} bounce recorded ({kd.failed_recipient or 'unknown recipient'})"


def _bounced_outbox(session: Session, mail: ParsedMail) -> Outbox | None:
    """The outgoing mail a bounce reports: by Message-ID found in the returned headers."""
    ids: list[str] = []
    for att in mail.attachments:
        if att.content_type.startswith("message/") or att.content_type == "text/rfc822-headers":
            ids += [i.decode("ascii", "replace") for i in re.findall(rb"(?im)^message-id:\s*(<[^>\s]+>)", att.payload)]
    ids += re.findall(r"(?im)^message-id:\s*(<[^>\s]+>)", mail.text or "")
    for mid in ids:
        found = session.exec(select(Outbox).where(Outbox.message_id == mid)).first()
        if found is not None:
            return found
    return None


def quarantine_spam(session: Session, row: InboundMessage, decision: MessageDecision, now: datetime) -> str:
    row.stage = QUARANTINE
    audit(session, now, "spam-quarantined", inbound_id=row.id,
          detail={"evidence": [f"{e.rule}: {e.detail}" for e in decision.kind.evidence]})
    return "- spam quarantined (never answered; listed for review)"
