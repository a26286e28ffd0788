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
from intake.domain.attachments import AttachmentLimits, is_page, plan_attachments
from intake.domain.fax_gateway import gateway_address, same_number
from intake.domain.outgoing import Envelope, FileAttachment, attach_file, compose, new_message_id, one_line
from intake.domain.pii import mask_rrn
from intake.domain.records import (
    Attachment, CaseFacts, Channel, Department, MessageDecision, ParsedMail, RenderedMail, Route,
)
from intake.domain import replies
from intake.domain.route import choose_handler
from intake.domain.staff_commands import reply_address, staff_footer
from intake.models import Case, InboundMessage, Outbox, StoredAttachment, TemplateVersion
from intake.stages.clocks import start_clock
from intake.stages.rows import ACK_WINDOW, acks_sent_since, audit, audit_many, audit_values, open_case_counts

log = logging.getLogger("intake.register")

def is_page_attachment(att: Attachment) -> bool:
    """A page to read: by its bytes (magic), the declared type and name only when the bytes say nothing."""
    return is_page(att)


def attachment_limits(app) -> AttachmentLimits:
    st = app.settings.storage
    return AttachmentLimits(max_bytes=st.max_attachment_bytes, max_count=st.max_attachments)


# ------------------------------------------------------------------ references


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


def new_token() -> str:
    return f"{secrets.token_hex(8)}.{secrets.token_hex(3)}"


# ------------------------------------------------------------------ attachments


def store_attachments(session: Session, app, row: InboundMessage, mail: ParsedMail) -> list[tuple[str, str, int, str]]:
    """Store every part as it came (archives are never unpacked), typed by its bytes.

    Parts over the size or count limits are stored too but kept aside (not read);
    returns ``(filename, content_type, size, reason)`` of those for the task mail.
    """
    limits = attachment_limits(app)
    kept: list[tuple[str, str, int, str]] = []
    parts = plan_attachments(mail.attachments, limits)
    blobs = app.store.put_attachments([part.attachment.payload for part in parts])   # one sync for all
    for part, blob in zip(parts, blobs):
        att = part.attachment
        session.add(StoredAttachment(inbound_id=row.id, filename=att.filename[:255],
                                     original_filename=att.original_filename or "", content_type=part.content_type[:255],
                                     size=att.size, sha256=blob.sha256, path=str(blob.path),
                                     kept_aside=part.kept_aside, aside_reason=part.aside_reason))
        if part.kept_aside:
            kept.append((att.filename, part.content_type, att.size, _aside_reason_ko(att.size, part.index, limits)))
            log.warning("%s attachment %d (%s, %d bytes) kept aside: %s", f"message #{row.id}", part.index + 1,
                        part.content_type, att.size, part.aside_reason)
    return kept


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _aside_reason_ko(size: int, index: int, limits: AttachmentLimits) -> str:
    if index >= limits.max_count:
        return f"한 메일의 첨부 {limits.max_count}개 제한을 넘는 {index + 1}번째 첨부입니다"
    return f"크기 {_mb(size)}가 첨부 한 개의 제한 {_mb(limits.max_bytes)}를 넘습니다"


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
    # No flush: the only pending change here is the inbound row's; cases are flushed when added.
    counts = open_case_counts(session, handlers=[s.id for s in roster.staff if s.department == department],
                              flush=False)
    return choose_handler(department, list(roster.staff), list(roster.departments), counts,
                          roster.absences, local_day)


def case_policy(app, decision: MessageDecision) -> str:
    if decision.channel.channel is Channel.POST:
        return "phone-call"
    cat = app.rules.category_rules.category(decision.classification.category)
    work = app.policies.get(cat.work_policy) if cat.work_policy else None
    if work is not None and work.start_event.value == "receipt":
        return work.id     # e.g. review: its own period (7 days) is the promise from receipt
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
    values = dict(
        ref=ref, status="open", channel=decision.channel.channel.value, category=cls.category,
        department=handler.department, handler_id=handler.id, subject=decision.subject[:2000] or "(제목 없음)",
        customer_name=customer_name[:255], customer_address=decision.reply_to,
        customer_phone=decision.phone, customer_fax=decision.channel.fax_number,
        language=decision.language, pii=decision.pii, received_at=received, registered_at=now,
        policy=policy_id, due_at=due, text=decision.body, task_token=new_token(),
        preferred_reply=decision.contact.preferred_reply if decision.contact else None,
        evidence=json.dumps({"classification": [e.__dict__ for e in cls.evidence],
                             "route": route.reason, "confidence": cls.confidence,
                             "low_confidence": cls.low_confidence}, ensure_ascii=False),
    )
    # A Core insert (the unit of work's flush of a new case was a large share of its time); the
    # Case object below is a record of what was written, not added to the session: code that
    # needs the case later in the transaction reads it from the database like any other.
    case = Case(id=session.connection().execute(_CASE_INSERT, values).scalar_one(), **values)
    row.case_id = case.id
    kept_aside = store_attachments(session, app, row, mail)
    audit_many(session, [
        audit_values(now, "registered", case_id=case.id, inbound_id=row.id, detail={"ref": ref}),
        audit_values(now, "classified", case_id=case.id,
                     detail={"category": cls.category, "confidence": cls.confidence,
                             "low_confidence": cls.low_confidence,
                             "evidence": [f"{e.rule}: {e.detail}" for e in cls.evidence[:10]]}),
        audit_values(now, "routed", case_id=case.id, detail={"handler": handler.id, "reason": route.reason}),
        audit_values(now, "deadline", case_id=case.id, detail={"policy": policy_id, "due": due.isoformat()}),
    ])
    start_clock(session, app, case, policy_id, received, now, sync=False)

    facts = case_facts(case, category.label, cls.evidence, needs_manual_reading=row.needs_manual_reading)
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

    # A fax is acknowledged by fax: through the gateway, else by the handler by hand.
    fax_status, task_files = replies.fax_acknowledgement_status(), ()
    if decision.channel.channel is Channel.FAX:
        fax_status, task_files = acknowledge_by_fax(session, app, case, facts, handler, department, decision, now)
        from intake.stages.gateway_notice import notify_new_gateway   # issue 15: tell admins once
        notify_new_gateway(session, app, case, mail.from_address, decision.channel, now)

    # The handler's task.
    if decision.channel.channel is Channel.POST:
        ctx = replies.phone_call_task_context(facts_for_staff(facts), handler, department, org, call_by=due,
                                              kept_aside=kept_aside)
        name = "phone-call-task"
    else:
        ctx = replies.staff_task_context(facts_for_staff(facts), handler, department, org,
                                         low_confidence=cls.low_confidence, fax_acknowledgement=fax_status,
                                         kept_aside=kept_aside)
        name = "staff-task"
    enqueue(session, app, case, "staff-task", name, ctx, language="ko", to=handler.email,
            attach_raw_path=row.raw_path, auto_submitted="auto-generated", now=now,
            reply_to=app.settings.organization.intake_address, attachments=task_files)
    audit(session, now, "task-queued", case_id=case.id, detail={"to": handler.email, "template": name})
    return case


def customer_skip_reason(app, address: str | None) -> str | None:
    """Why no mail may go to ``address`` as a customer, or None: the loop guards every customer mail shares."""
    if not address:
        return "no customer e-mail address known"
    a = address.lower()
    if a in app.rules.own_addresses or a.split("@")[-1] == app.settings.organization.domain:
        return f"{address} is one of our own addresses (loop protection)"
    if a.startswith(("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")):
        return f"{address} is a robot address"
    return None


def ack_skip_reason(app, ack_to: str | None, decision: MessageDecision, session: Session, now: datetime,
                    purpose: str = "acknowledgement") -> str | None:
    """Why no acknowledgement goes out, or None. Loops are the worst failure of intake.

    ``purpose`` "fax-acknowledgement": ``ack_to`` is the fax gateway address, capped on its own.
    """
    if decision.channel.channel is Channel.POST:
        return "postal request: the charter promises a phone call, not an e-mail to the scanner"
    if purpose == "acknowledgement" and decision.channel.channel is Channel.FAX and not app.settings.fax.email_copy:
        return "fax: the e-mail copy of the acknowledgement is switched off ([fax] email_copy = false)"
    reason = customer_skip_reason(app, ack_to)
    if reason is not None:
        return reason
    limit = app.settings.processing.acks_per_sender_per_day
    if acks_sent_since(session, ack_to, now - ACK_WINDOW, purpose) >= limit:
        return f"{ack_to} already got {limit} acknowledgements in 24 h (loop protection)"
    return None


def acknowledge_by_fax(session: Session, app, case: Case, facts: CaseFacts, handler, department: Department,
                       decision: MessageDecision, now: datetime) -> tuple[dict, tuple[FileAttachment, ...]]:
    """The fax acknowledgement: a one-page PDF to the gateway address built from the caller's number.

    Returns the ``fax_acknowledgement`` status for the task mail and the files to attach to
    the task (the PDF when the handler must fax it by hand). The same loop guards as the
    e-mail acknowledgement apply (``ack_skip_reason`` on the gateway address), and our own
    fax numbers are never faxed.
    """
    from intake.adapters.pdf_render import FontNotFoundError, render_mail_pdf

    number = case.customer_fax
    if number and any(same_number(number, own) for own in app.settings.fax.own_numbers):
        reason = f"{number} is one of our own fax numbers (loop protection)"
        audit(session, now, "fax-acknowledgement-skipped", case_id=case.id, detail={"reason": reason})
        return replies.fax_acknowledgement_status("not-sent", number, reason=f"우리 기관의 팩스번호입니다 ({reason})"), ()

    ctx = replies.fax_acknowledgement_context(facts, handler, department, app.org)
    rendered = app.templates.render("fax-acknowledgement", ctx, language=case.language)
    try:
        pdf = FileAttachment(f"fax-acknowledgement-{case.ref}.pdf", "application/pdf", render_mail_pdf(rendered))
    except FontNotFoundError as exc:
        log.error("%s fax acknowledgement PDF not rendered: %s", case.ref, exc)
        audit(session, now, "fax-acknowledgement-skipped", case_id=case.id, detail={"reason": str(exc)})
        return replies.fax_acknowledgement_status(
            "by-hand", number, reason="PDF를 만들지 못했습니다(한글 글꼴 없음). "
            f"'intake templates preview fax-acknowledgement --case {case.ref}'로 본문을 출력하여 보내 주십시오"), ()

    pattern = app.settings.fax.gateway_address
    address = gateway_address(pattern, number) if pattern else None
    if address is None:
        if not pattern:
            why, reason = "no fax gateway configured ([fax] gateway_address)", "팩스 게이트웨이가 설정되어 있지 않습니다"
        elif not number:
            why, reason = "the caller's fax number is not known", "발신 팩스번호를 알 수 없습니다. 팩스 원본에서 확인하여 주십시오"
        else:
            why, reason = (f"{number} is not a Korean number the gateway can dial",
                           f"팩스번호 {number}은(는) 게이트웨이로 보낼 수 있는 국내 번호가 아닙니다")
        record_template_version(session, app, rendered, case.language, now)
        audit(session, now, "fax-acknowledgement-by-hand", case_id=case.id,
              detail={"reason": why, "number": number, "template_version": rendered.template_version})
        return replies.fax_acknowledgement_status("by-hand", number, reason=reason), (pdf,)

    skip = ack_skip_reason(app, address, decision, session, now, purpose="fax-acknowledgement")
    if skip is not None:
        audit(session, now, "fax-acknowledgement-skipped", case_id=case.id, detail={"reason": skip, "to": address})
        return replies.fax_acknowledgement_status("not-sent", number, address, reason=f"반복 발송 방지: {skip}"), ()
    enqueue(session, app, case, "fax-acknowledgement", "fax-acknowledgement", ctx, language=case.language,
            to=address, now=now, attachments=(pdf,))
    audit(session, now, "fax-acknowledgement-queued", case_id=case.id, detail={"to": address, "number": number})
    return replies.fax_acknowledgement_status("gateway", number, address), ()


def case_facts(case: Case, category_label: str, evidence=(), needs_manual_reading: bool = False) -> CaseFacts:
    return CaseFacts(
        ref=case.ref, channel=Channel(case.channel), category=case.category, category_label=category_label,
        subject=one_line(case.subject), customer_name=case.customer_name, customer_address=case.customer_address,
        customer_phone=case.customer_phone, customer_fax=case.customer_fax, received_at=case.received_at,
        due_at=case.due_at, policy=case.policy, text=case.text, language=case.language,
        evidence=tuple(evidence), pii=case.pii, needs_manual_reading=needs_manual_reading,
    )


def facts_for_staff(facts: CaseFacts) -> CaseFacts:
    """Staff mail never carries a resident registration number in clear."""
    return replace(facts, text=mask_rrn(facts.text)[:20000])


def enqueue(session: Session, app, case: Case | None, purpose: str, template: str, context: dict, *, language: str,
            to: str, now: datetime, in_reply_to: str | None = None, references: tuple[str, ...] = (),
            attach_raw_path: str | None = None, auto_submitted: str | None = "auto-replied",
            reply_to: str | None = None, attachments: tuple[FileAttachment, ...] = ()) -> int:
    """Render ``template`` and queue the mail; returns the new outbox row's id.

    A Core insert on the session's connection (executed at once, so later queries in the
    transaction see it), not an ORM object: outbox rows are never changed through the
    session, and the unit of work's flush of each was a large share of a new case's time."""
    rendered = app.templates.render(template, context, language=language)
    record_template_version(session, app, rendered, language, now)
    if case is not None and case.task_token and replies.message_spec(template).audience == replies.STAFF:
        # Staff mail about a case carries its task token: a reply from the handler is a command.
        rendered = replace(rendered, text=rendered.text.rstrip("\n") + "\n\n" + staff_footer(case.task_token))
        reply_to = reply_address(app.settings.organization.intake_address, case.task_token)
    message_id = new_message_id(new_token(), app.settings.organization.domain)
    raw = compose(rendered, Envelope(
        from_address=app.settings.smtp.from_address, from_name=app.settings.organization.name, to=(to,),
        message_id=message_id, date=now, in_reply_to=in_reply_to, references=references,
        auto_submitted=auto_submitted, case_ref=case.ref if case else None, reply_to=reply_to))
    for file in attachments:
        raw = attach_file(raw, file)
    return session.connection().execute(_OUTBOX_INSERT, dict(
        case_id=case.id if case else None, purpose=purpose, message_id=message_id,
        mail_from=app.settings.smtp.from_address, rcpt_to=to, raw=raw, attach_raw_path=attach_raw_path,
        template=rendered.template, template_version=rendered.template_version, status="pending", attempts=0,
        next_attempt_at=now, claimed_until=None, sent_at=None, last_error=None, created_at=now)).scalar_one()


_OUTBOX_INSERT = Outbox.__table__.insert().returning(Outbox.__table__.c.id)


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

