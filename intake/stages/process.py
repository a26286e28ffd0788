"""Process stage: one stored message → decisions → rows (case, outbox, audit).

    parse → channel → (OCR, its own stage) → thread/kind → classify → route →
    deadline → render → outbox

Its two halves, as the runner (``intake.runner``) calls them:

``parse_and_decide``  outside any transaction: parse the raw bytes and decide
                      what they are (pure). A decision that consulted the
                      Message-ID lookup (a reply, a bounce) is left to be made
                      inside, where the answers are current.
``apply_message``     inside the message's transaction: the remaining decisions
                      that need the database (staff mail, threading), then the
                      effects for the message's kind, and the row's next stage
                      (``done``, ``ocr`` for fax/post pages, ``quarantine``).

A follow-up to a case we do not know is registered as a new case: nothing is dropped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from sqlalchemy import bindparam
from sqlmodel import Session, select

from intake.domain.bounds import bounds_evidence
from intake.domain.decide import as_follow_up, as_new_case, decide_message
from intake.domain.pii import mask_rrn
from intake.domain.threading_ import subject_matches
from intake.domain.mailparse import parse_message
from intake.domain.records import Channel, Kind, MessageDecision, ParsedMail
from intake.domain.attachments import is_page
from intake.models import Case, InboundMessage, Outbox
from intake.stages import other_kinds, registration, staff_mail
from intake.stages.other_kinds import UnknownCaseRef
from intake.stages.rows import audit, audits_batched

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.process")

DONE = "done"
OCR = "ocr"
"""The inbound stage of a fax or post message whose pages are to be read (``intake.stages.ocr_stage``)."""


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
    return decision.channel.channel in (Channel.FAX, Channel.POST) and any(is_page(a) for a in mail.attachments)


def parse(raw: bytes, row: InboundMessage) -> ParsedMail:
    return parse_message(raw, row.received_at)


@dataclass(frozen=True)
class Parsed:
    """The pure half's result: the parse, and the decision when it needed no database lookup."""

    mail: ParsedMail
    decision: MessageDecision | None


def parse_and_decide(app: App, row: InboundMessage) -> Parsed:
    """The pure half (no transaction open): parse, and decide with a Message-ID lookup that
    knows nothing; a decision that asked it is made again inside (``apply_message``)."""
    mail = parse(app.store.read(row.raw_path), row)
    asked: list[str] = []

    def unknown(message_id: str) -> None:
        asked.append(message_id)
        return None

    decision = decide_message(mail, app.rules, known_message_ids=unknown, page_text=row.page_text)
    return Parsed(mail, None if asked else decision)


def apply_message(app: App, session: Session, row: InboundMessage, parsed: Parsed, now: datetime) -> str:
    """The effect half, inside the message's transaction; returns a one-line summary for the log."""
    prepared = prepare(parsed.mail, row, session, app, decision=parsed.decision)
    if row.stage == "received" and needs_ocr(prepared.mail, prepared.decision):
        row.stage = OCR
        row.next_attempt_at = now
        return f"- {prepared.decision.channel.channel.value} pages queued for OCR"
    row.stage = DONE                 # spam sets its own (quarantine)
    row.processed_at = now
    try:
        if prepared.decision.kind.kind is Kind.FOLLOW_UP and prepared.staff is None:
            # Only a follow-up can raise UnknownCaseRef; its partial effects are rolled back with
            # this savepoint. (Other kinds need none: a savepoint and its flush cost time.)
            with session.begin_nested():
                return apply(session, app, row, prepared, now)
        return apply(session, app, row, prepared, now)
    except UnknownCaseRef as exc:
        log.warning("inbound %s: %s; registering it as a new case", row.id, exc)
        return apply_as_new_case(session, app, row, prepared, now, reason=str(exc))


def prepare(mail: ParsedMail, row: InboundMessage, session: Session, app: App,
            decision: MessageDecision | None = None) -> Prepared:
    """The decisions that need the database: the kind (when ``decision`` is None), staff mail,
    threading by sender and subject."""
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
    row.decision = mask_rrn(json.dumps({**decision_evidence(decision), "bounds": bounds_evidence(mail)},
                                       ensure_ascii=False))
    row.page_text = mask_rrn(row.page_text) if row.page_text else row.page_text   # decided: no clear RRN kept
    audit(session, now, "received", inbound_id=row.id,
          detail={"kind": kind.value, "channel": row.channel, "from": row.from_address,
                  "staff": prepared.staff.kind if prepared.staff else None})
    if prepared.staff is not None:
        return staff_mail.apply(session, app, row, mail, prepared.staff, now)
    if kind in (Kind.CASE, Kind.FOLLOW_UP):   # issue 13: a reply to a satisfaction survey (its token in To)
        from intake.stages.survey import apply_reply

        if (answered := apply_reply(session, app, row, mail, now)) is not None:
            return answered
    if kind is Kind.CASE:
        case = registration.register_case(session, app, row, mail, decision, now)
        return f"{case.ref} case registered: {case.category} → {case.handler_id}, due {case.due_at.isoformat()}"
    if kind is Kind.FOLLOW_UP:
        return other_kinds.attach_follow_up(session, app, row, mail, decision, now)
    if kind is Kind.BOUNCE:
        return other_kinds.record_bounce(session, app, row, mail, decision, now)
    if kind is Kind.AUTO_REPLY:
        return other_kinds.record_auto_reply(session, app, row, decision, now)
    return other_kinds.quarantine_spam(session, row, decision, now)


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
