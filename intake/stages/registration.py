"""Effects of each kind of message, written inside the caller's transaction.

- case: a reference, a handler, a due time, the acknowledgement and the task
  mail in the outbox — all in the same transaction as the case row;
- follow-up: attached to its case, the handler told, a closed case reopened;
- bounce: linked to the outgoing mail it reports, which is marked
  undeliverable; the handler gets a task to reach the customer another way;
- auto-reply: attached to the case it answers, never answered;
- spam: kept in quarantine, never answered.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import replace
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, select

from intake.domain.deadlines import due_time
from intake.domain.outgoing import Envelope, compose, new_message_id, one_line
from intake.domain.pii import mask_rrn
from intake.domain.records import (
    Attachment, CaseFacts, Channel, Department, MessageDecision, ParsedMail, RenderedMail, Route,
)
from intake.domain import replies
from intake.domain.route import choose_handler
from intake.models import Case, InboundMessage, Outbox, StoredAttachment, TemplateVersion
from intake.stages.rows import ACK_WINDOW, acks_sent_since, audit, open_case_counts

log = logging.getLogger("intake.register")

PAGE_TYPES = ("application/pdf", "image/tiff", "image/tif", "image/png", "image/jpeg", "image/gif")


def is_page_attachment(att: Attachment) -> bool:
    ct = (att.content_type or "").lower()
    name = (att.filename or "").lower()
    return ct in PAGE_TYPES or name.endswith((".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"))


# ------------------------------------------------------------------ references


def next_ref(session: Session, year: int) -> str:
    """``YYYY-NNNNNN`` from a per-year counter, unique under concurrency.

    INSERT … ON CONFLICT DO NOTHING then UPDATE … RETURNING: the UPDATE takes
    the row lock (PostgreSQL) or the database write lock (SQLite) until commit.
    """
    session.execute(text("INSERT INTO ref_sequence (year, last_value) VALUES (:y, 0) ON CONFLICT (year) DO NOTHING"),
                    {"y": year})
    value = session.execute(text("UPDATE ref_sequence SET last_value = last_value + 1 WHERE year = :y "
                                 "RETURNING last_value"), {"y": year}).scalar_one()
    return f"{year:04d}-{value:06d}"


def new_token() -> str:
    return f"{secrets.token_hex(8)}.{secrets.token_hex(3)}"


# ------------------------------------------------------------------ attachments


def store_attachments(session: Session, app, row: InboundMessage, mail: ParsedMail) -> None:
    for att in mail.attachments:
        blob = app.store.put_attachment(att.payload)
        session.add(StoredAttachment(inbound_id=row.id, filename=att.filename[:255],
                                     original_filename=att.original_filename or "", content_type=att.content_type[:255],
                                     size=att.size, sha256=blob.sha256, path=str(blob.path)))


# ------------------------------------------------------------------ cases


def _department(app, dep_id: str) -> Department:
    dep = app.settings.roster.department(dep_id)
    if dep is None:
        raise LookupError(f"department {dep_id!r} from categories.toml is not in staff.toml")
    return dep


def _route(session: Session, app, department: str, low_confidence: bool, now: datetime):
    roster = app.settings.roster
    triage = app.settings.processing.triage_staff
    if low_confidence and triage:
        member = roster.member(triage)
        if member is not None:
            return Route(department=member.department, staff_id=member.id,
                         reason=f"low-confidence classification: triage person {member.id}")
    local_day = now.astimezone(app.settings.tz).date()
    return choose_handler(department, list(roster.staff), list(roster.departments), open_case_counts(session),
                          roster.absences, local_day)


def case_policy(app, decision: MessageDecision) -> str:
    if decision.channel.channel is Channel.POST:
        return "phone-call"
    cat = app.rules.category_rules.category(decision.classification.category)
    return cat.policy


def register_case(session: Session, app, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                  now: datetime) -> Case:
    cls = decision.classification
    assert cls is not None, "a case always has a classification"
    tz = app.settings.tz
    received = row.received_at.astimezone(tz)
    route = _route(session, app, cls.department, cls.low_confidence, now)
    handler = app.settings.roster.member(route.staff_id)
    department = _department(app, handler.department)
    policy_id = case_policy(app, decision)
    policy = app.policies[policy_id]
    due = due_time(app.calendar(received), policy, received)
    ref = next_ref(session, received.year)
    category = app.rules.category_rules.category(cls.category)
    customer_name = (decision.contact.name if decision.contact and decision.contact.name else mail.from_name) or ""
    case = Case(
        ref=ref, status="open", channel=decision.channel.channel.value, category=cls.category,
        department=handler.department, handler_id=handler.id, subject=decision.subject[:2000] or "(제목 없음)",
        customer_name=customer_name[:255], customer_address=decision.reply_to,
        customer_phone=decision.phone, customer_fax=decision.channel.fax_number,
        language=decision.language, pii=decision.pii, received_at=received, registered_at=now,
        policy=policy_id, due_at=due, text=decision.body,
        evidence=json.dumps({"classification": [e.__dict__ for e in cls.evidence],
                             "route": route.reason, "confidence": cls.confidence,
                             "low_confidence": cls.low_confidence}, ensure_ascii=False),
    )
    session.add(case)
    session.flush()
    row.case_id = case.id
    store_attachments(session, app, row, mail)
    audit(session, now, "registered", case_id=case.id, inbound_id=row.id, detail={"ref": ref})
    audit(session, now, "classified", case_id=case.id,
          detail={"category": cls.category, "confidence": cls.confidence, "low_confidence": cls.low_confidence,
                  "evidence": [f"{e.rule}: {e.detail}" for e in cls.evidence[:10]]})
    audit(session, now, "routed", case_id=case.id, detail={"handler": handler.id, "reason": route.reason})
    audit(session, now, "deadline", case_id=case.id, detail={"policy": policy_id, "due": due.isoformat()})

    facts = case_facts(case, category.label, cls.evidence)
    org = app.org
    customer_refs = tuple(mail.references) + ((mail.message_id,) if mail.message_id else ())

    # The customer's acknowledgement, by the channel's duty.
    ack_to = decision.reply_to
    skip_reason = ack_skip_reason(app, ack_to, decision, session, now)
    if skip_reason is None:
        enqueue(session, app, case, "acknowledgement", "acknowledgement",
                replies.acknowledgement_context(facts, handler, department, org), language=case.language,
                to=ack_to, in_reply_to=mail.message_id, references=customer_refs, now=now)
        audit(session, now, "acknowledgement-queued", case_id=case.id, detail={"to": ack_to})
    else:
        audit(session, now, "acknowledgement-skipped", case_id=case.id, detail={"reason": skip_reason})

    # The handler's task.
    if decision.channel.channel is Channel.POST:
        ctx = replies.phone_call_task_context(facts_for_staff(facts), handler, department, org, call_by=due)
        name = "phone-call-task"
    else:
        ctx = replies.staff_task_context(facts_for_staff(facts), handler, department, org,
                                         low_confidence=cls.low_confidence)
        name = "staff-task"
    enqueue(session, app, case, "staff-task", name, ctx, language="ko", to=handler.email,
            attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
            reply_to=app.settings.organization.intake_address)
    audit(session, now, "task-queued", case_id=case.id, detail={"to": handler.email, "template": name})
    return case


def ack_skip_reason(app, ack_to: str | None, decision: MessageDecision, session: Session, now: datetime) -> str | None:
    """Why no acknowledgement goes out, or None. Loops are the worst failure of intake."""
    own = app.rules.own_addresses
    if decision.channel.channel is Channel.POST:
        return "postal request: the charter promises a phone call, not an e-mail to the scanner"
    if not ack_to:
        return "no customer e-mail address known"
    if ack_to.lower() in own or ack_to.lower().split("@")[-1] == app.settings.organization.domain:
        return f"{ack_to} is one of our own addresses (loop protection)"
    if ack_to.lower().startswith(("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")):
        return f"{ack_to} is a robot address"
    limit = app.settings.processing.acks_per_sender_per_day
    if acks_sent_since(session, ack_to, now - ACK_WINDOW) >= limit:
        return f"{ack_to} already got {limit} acknowledgements in 24 h (loop protection)"
    return None


def case_facts(case: Case, category_label: str, evidence=()) -> CaseFacts:
    return CaseFacts(
        ref=case.ref, channel=Channel(case.channel), category=case.category, category_label=category_label,
        subject=one_line(case.subject), customer_name=case.customer_name, customer_address=case.customer_address,
        customer_phone=case.customer_phone, customer_fax=case.customer_fax, received_at=case.received_at,
        due_at=case.due_at, policy=case.policy, text=case.text, language=case.language,
        evidence=tuple(evidence), pii=case.pii,
    )


def facts_for_staff(facts: CaseFacts) -> CaseFacts:
    """Staff mail never carries a resident registration number in clear."""
    return replace(facts, text=mask_rrn(facts.text)[:20000])


def enqueue(session: Session, app, case: Case | None, purpose: str, template: str, context: dict, *, language: str,
            to: str, now: datetime, in_reply_to: str | None = None, references: tuple[str, ...] = (),
            attach_raw_path: str | None = None, auto_submitted: str | None = "auto-replied",
            reply_to: str | None = None) -> Outbox:
    rendered = app.templates.render(template, context, language=language)
    record_template_version(session, app, rendered, language, now)
    message_id = new_message_id(new_token(), app.settings.organization.domain)
    raw = compose(rendered, Envelope(
        from_address=app.settings.smtp.from_address, from_name=app.settings.organization.name, to=(to,),
        message_id=message_id, date=now, in_reply_to=in_reply_to, references=references,
        auto_submitted=auto_submitted, case_ref=case.ref if case else None, reply_to=reply_to))
    item = Outbox(case_id=case.id if case else None, purpose=purpose, message_id=message_id,
                  mail_from=app.settings.smtp.from_address, rcpt_to=to, raw=raw, attach_raw_path=attach_raw_path,
                  template=rendered.template, template_version=rendered.template_version, status="pending",
                  next_attempt_at=now, created_at=now)
    session.add(item)
    return item


def record_template_version(session: Session, app, rendered: RenderedMail, language: str, now: datetime) -> None:
    key = (rendered.template, rendered.template_version)
    known = getattr(app, "known_template_versions", set())
    if key in known:
        return
    pending = session.info.setdefault("template_versions_added", set())   # added in this transaction
    exists = session.exec(select(TemplateVersion.id).where(TemplateVersion.name == rendered.template,
                                                           TemplateVersion.version == rendered.template_version)).first()
    if exists is None:
        content = app.templates.source(rendered.template, language)
        session.add(TemplateVersion(name=rendered.template, version=rendered.template_version,
                                    content=content or "", first_used_at=now))
        session.flush()
        pending.add(key)
    elif key not in pending:
        known.add(key)   # a committed row (rows are never deleted): no need to look again


# ------------------------------------------------------------------ other kinds


def _case_by_ref(session: Session, ref: str | None) -> Case | None:
    if not ref:
        return None
    return session.exec(select(Case).where(Case.ref == ref)).first()


def attach_follow_up(session: Session, app, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                     now: datetime) -> str:
    case = _case_by_ref(session, decision.kind.case_ref)
    if case is None:
        # The reference points nowhere we know: treat it as a new request rather than lose it.
        raise UnknownCaseRef(decision.kind.case_ref)
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
    handler = app.settings.roster.member(case.handler_id)
    if handler is not None:
        department = _department(app, handler.department)
        category = app.rules.category_rules.category(case.category)
        facts = facts_for_staff(case_facts(case, category.label))
        ctx = replies.follow_up_notice_context(
            facts, handler, department, app.org, sender=mail.from_address, subject=one_line(mail.subject),
            text=mask_rrn(decision.body)[:20000], received_at=row.received_at.astimezone(app.settings.tz),
            reopened=reopened)
        enqueue(session, app, case, "follow-up-notice", "follow-up-notice", ctx, language="ko",
                to=handler.email, attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
                reply_to=app.settings.organization.intake_address)
    return f"{case.ref} follow-up attached{' (case reopened)' if reopened else ''}"


class UnknownCaseRef(LookupError):
    def __init__(self, ref: str | None):
        self.ref = ref
        super().__init__(f"follow-up refers to case {ref!r}, which does not exist")


def record_auto_reply(session: Session, app, row: InboundMessage, decision: MessageDecision, now: datetime) -> str:
    case = _case_by_ref(session, decision.kind.case_ref)
    if case is not None:
        row.case_id = case.id
    audit(session, now, "auto-reply", case_id=case.id if case else None, inbound_id=row.id,
          detail={"evidence": [f"{e.rule}: {e.detail}" for e in decision.kind.evidence]})
    return f"{case.ref if case else '-'} auto-reply recorded (never answered)"


def record_bounce(session: Session, app, row: InboundMessage, mail: ParsedMail, decision: MessageDecision,
                  now: datetime) -> str:
    kd = decision.kind
    bounced = _bounced_outbox(session, mail)
    case = _case_by_ref(session, kd.case_ref)
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
    if case is not None and (bounced is None or bounced.purpose != "staff-task"):
        handler = app.settings.roster.member(case.handler_id)
        if handler is not None:
            department = _department(app, handler.department)
            category = app.rules.category_rules.category(case.category)
            facts = facts_for_staff(case_facts(case, category.label))
            ctx = replies.bounce_task_context(facts, handler, department, app.org,
                                              failed_recipient=kd.failed_recipient or case.customer_address or "",
                                              bounce_status=kd.bounce_status or "",
                                              diagnostic="")
            enqueue(session, app, case, "bounce-task", "bounce-task", ctx, language="ko", to=handler.email,
                    attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
                    reply_to=app.settings.organization.intake_address)
    return f"{case.ref if case else '-'} bounce recorded ({kd.failed_recipient or 'unknown recipient'})"


def _bounced_outbox(session: Session, mail: ParsedMail) -> Outbox | None:
    """The outgoing mail a bounce reports: by Message-ID found in the returned headers."""
    ids: list[str] = []
    for att in mail.attachments:
        if att.content_type.startswith("message/") or att.content_type == "text/rfc822-headers":
            ids += re.findall(rb"(?im)^message-id:\s*(<[^>\s]+>)", att.payload)
    ids_s = [i.decode("ascii", "replace") for i in ids]
    ids_s += re.findall(r"(?im)^message-id:\s*(<[^>\s]+>)", mail.text or "")
    for mid in ids_s:
        found = session.exec(select(Outbox).where(Outbox.message_id == mid)).first()
        if found is not None:
            return found
    return None


def quarantine_spam(session: Session, row: InboundMessage, decision: MessageDecision, now: datetime) -> str:
    row.stage = "quarantine"
    audit(session, now, "spam-quarantined", inbound_id=row.id,
          detail={"evidence": [f"{e.rule}: {e.detail}" for e in decision.kind.evidence]})
    return "- spam quarantined (never answered; listed for review)"

