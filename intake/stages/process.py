"""Process stage: one stored message → decisions → rows (case, outbox, audit), in one transaction.

    parse → channel → (OCR, its own stage) → thread/kind → classify → route →
    deadline → render → outbox

``prepare`` does the pure part (parse and decide) given lookups; ``apply``
writes the effects for the message's kind. The caller (``intake.runner``)
owns claiming, retries and the catch-all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam
from sqlmodel import Session, select

from intake.domain.decide import as_follow_up, as_new_case, decide_message
from intake.domain.pii import mask_rrn
from intake.domain.threading_ import subject_matches
from intake.domain.mailparse import parse_message
from intake.domain.records import Channel, Kind, MessageDecision, ParsedMail
from intake.models import Case, InboundMessage, Outbox
from intake.stages import registration, staff_mail
from intake.stages.rows import audit, audits_batched

log = logging.getLogger("intake.process")


@dataclass(frozen=True)
class Prepared:
    mail: ParsedMail
    decision: MessageDecision
    staff: staff_mail.StaffMail | None = None    # a staff command/answer, not a customer's message


def known_ids_lookup(session: Session) -> Callable[[str], str | None]:
    """Message-ID → case ref, over mail we sent (outbox) and mail we received."""

    def lookup(message_id: str) -> str | None:
        mid = message_id.strip()
        row = session.exec(select(Case.ref).join(Outbox, Outbox.case_id == Case.id)
                           .where(Outbox.message_id == mid)).first()
        if row:
            return row
        return session.exec(select(Case.ref).join(InboundMessage, InboundMessage.case_id == Case.id)
                            .where(InboundMessage.message_id == mid)).first()

    return lookup


def needs_ocr(mail: ParsedMail, decision: MessageDecision) -> bool:
    return decision.channel.channel in (Channel.FAX, Channel.POST) and any(
        registration.is_page_attachment(a) for a in mail.attachments)


def parse(raw: bytes, row: InboundMessage) -> ParsedMail:
    return parse_message(raw, row.received_at)


def prepare(mail: ParsedMail, row: InboundMessage, session: Session, app,
            decision: MessageDecision | None = None) -> Prepared:
    """``decision``: made already without the database (``intake.parse_ahead``; only for mail whose
    decision did not consult the Message-ID lookup); else it is made here."""
    if decision is None:
        decision = decide_message(mail, app.rules, known_message_ids=known_ids_lookup(session),
                                  page_text=row.page_text)
    staff = staff_mail.recognise(session, app, mail, decision)
    if staff is not None:
        return Prepared(mail, decision, staff)
    if decision.kind.kind is Kind.CASE and decision.channel.channel is Channel.EMAIL and decision.reply_to:
        decision = thread_by_sender_and_subject(session, app, decision, row.received_at)
    return Prepared(mail, decision)


def thread_by_sender_and_subject(session: Session, app, decision: MessageDecision, received_at: datetime):
    """Last resort: the same sender writing again with the same subject about an open case
    within ``follow_up_window_days`` is a follow-up, not a new case (no duplicate cases)."""
    window = timedelta(days=app.settings.processing.follow_up_window_days)
    # Only the columns needed, and the status tested here: with ``status = 'open'`` in the WHERE
    # clause SQLite walked the status index (every open case) instead of the sender's few cases.
    candidates = session.connection().execute(_SENDERS_RECENT_CASES, {
        "address": decision.reply_to, "since": received_at - window}).all()
    for ref, subject, case_received_at, status in candidates:
        if status == "open" and subject_matches(subject, decision.subject):
            return as_follow_up(decision, ref,
                                f"same sender {decision.reply_to} and subject as open case {ref} "
                                f"(received {case_received_at.isoformat()})")
    return decision


# Only the columns needed, and the status tested in Python (see above); built once, run on the
# session's connection (the cases of earlier messages in the group are flushed already).
_SENDERS_RECENT_CASES = (select(Case.ref, Case.subject, Case.received_at, Case.status)
                         .where(Case.customer_address == bindparam("address"),
                                Case.received_at >= bindparam("since", type_=Case.__table__.c.received_at.type))
                         .order_by(Case.received_at.desc()))


def apply_as_new_case(session: Session, app, row: InboundMessage, prepared: Prepared, now: datetime,
                      reason: str) -> str:
    """A follow-up whose case we do not know becomes a new case (nothing is dropped)."""
    decision = as_new_case(prepared.mail, prepared.decision, app.rules, reason)
    return apply(session, app, row, Prepared(prepared.mail, decision), now)


def apply(session: Session, app, row: InboundMessage, prepared: Prepared, now: datetime) -> str:
    """Write the effects of one message; returns a one-line summary for the log."""
    if prepared.staff is None and prepared.decision.kind.kind is Kind.CASE:
        # A new case's events go in one statement. (Not the other kinds': a follow-up whose case
        # is unknown, or a refused staff command, rolls a savepoint back and goes on.)
        with audits_batched(session):
            return _apply(session, app, row, prepared, now)
    return _apply(session, app, row, prepared, now)


def _apply(session: Session, app, row: InboundMessage, prepared: Prepared, now: datetime) -> str:
    mail, decision = prepared.mail, prepared.decision
    kind = decision.kind.kind
    row.kind = kind.value
    row.channel = decision.channel.channel.value
    row.subject = mask_rrn(mail.subject)[:2000]
    row.from_address = (mail.from_address or "")[:320]
    row.decision = mask_rrn(json.dumps(decision_evidence(decision), ensure_ascii=False))
    row.page_text = mask_rrn(row.page_text) if row.page_text else row.page_text   # decided: no clear RRN kept
    audit(session, now, "received", inbound_id=row.id,
          detail={"kind": kind.value, "channel": row.channel, "from": row.from_address,
                  "staff": prepared.staff.kind if prepared.staff else None})
    if prepared.staff is not None:
        return staff_mail.apply(session, app, row, mail, prepared.staff, now)
    if kind is Kind.CASE:
        case = registration.register_case(session, app, row, mail, decision, now)
        return f"{case.ref} case registered: {case.category} → {case.handler_id}, due {case.due_at.isoformat()}"
    if kind is Kind.FOLLOW_UP:
        return registration.attach_follow_up(session, app, row, mail, decision, now)
    if kind is Kind.BOUNCE:
        return registration.record_bounce(session, app, row, mail, decision, now)
    if kind is Kind.AUTO_REPLY:
        return registration.record_auto_reply(session, app, row, decision, now)
    return registration.quarantine_spam(session, row, decision, now)


def decision_evidence(decision: MessageDecision) -> dict:
    def ev(items):
        return [{"rule": e.rule, "detail": e.detail, "score": e.score} for e in items]

    out = {
        "kind": {"value": decision.kind.kind.value, "evidence": ev(decision.kind.evidence),
                 "case_ref": decision.kind.case_ref},
        "channel": {"value": decision.channel.channel.value, "fax_number": decision.channel.fax_number,
                    "evidence": ev(decision.channel.evidence)},
        "reply_to": decision.reply_to,
        "phone": decision.phone,
        "language": decision.language,
        "pii": decision.pii,
        "other": ev(decision.evidence),
    }
    if decision.classification is not None:
        c = decision.classification
        out["classification"] = {"category": c.category, "department": c.department,
                                 "confidence": c.confidence, "low_confidence": c.low_confidence,
                                 "evidence": ev(c.evidence)}
    return out
