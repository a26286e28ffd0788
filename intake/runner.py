"""Claim due rows and run the next stage, one message per transaction.

The catch-all (Mailman's "shunt"): any exception while processing a message
rolls back its transaction, records the reason on the row in a second
transaction, and schedules a retry with exponential backoff; after
``max_attempts`` the message is set aside (stage ``set-aside``) for a human.
The raw bytes stay in the store; the daemon goes on with the next message.

Claiming is ``UPDATE … WHERE id IN (…) AND <still claimable> RETURNING id``,
which is correct on SQLite (one writer at a time) and on PostgreSQL (the
re-checked WHERE makes a second instance's claim of the same row return
nothing; ``FOR UPDATE SKIP LOCKED`` keeps them from queueing behind each other).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select as sa_select, update
from sqlmodel import Session

from intake.db import is_sqlite, transaction
from intake.models import InboundMessage
from intake.stages import ocr_stage, process
from intake.stages.registration import UnknownCaseRef
from intake.stages.rows import audit
from intake.testing_hooks import crash_point

log = logging.getLogger("intake.runner")

CLAIM_SECONDS = 600


@dataclass
class RunReport:
    processed: int = 0
    failed: int = 0
    set_aside: int = 0
    summaries: list[str] = field(default_factory=list)

    def add(self, more: "RunReport") -> None:
        self.processed += more.processed
        self.failed += more.failed
        self.set_aside += more.set_aside
        self.summaries += more.summaries


def claim(engine, stage: str, now: datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` rows of ``stage`` that are due and not claimed by a live worker."""
    return [row.id for row in claim_rows(engine, stage, now, limit)]


def claim_rows(engine, stage: str, now: datetime, limit: int) -> list[InboundMessage]:
    """``claim``, returning the claimed rows as read in the claim's own transaction (detached):
    the snapshot the work outside a transaction (parsing) needs, without a transaction per row."""
    t = InboundMessage.__table__
    due = and_(t.c.stage == stage, t.c.next_attempt_at <= now,
               or_(t.c.claimed_until.is_(None), t.c.claimed_until < now))
    candidates = sa_select(t.c.id).where(due).order_by(t.c.id).limit(limit)
    if not is_sqlite(engine):
        candidates = candidates.with_for_update(skip_locked=True)
    stmt = (update(t).where(t.c.id.in_(candidates.scalar_subquery()), due)
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS)).returning(t.c.id))
    with transaction(engine) as session:
        ids = [r[0] for r in session.execute(stmt).all()]
        if not ids:
            return []
        rows = list(session.exec(sa_select(InboundMessage).where(InboundMessage.id.in_(ids))).scalars().all())
    return sorted(rows, key=lambda r: r.id)


def process_received(app, limit: int = 10**9, on_commit=None) -> RunReport:
    """Run the process stage over every claimable ``received`` (and ``ocr-done``) message
    (at most ``limit``; the default is effectively all of them). ``on_commit()`` is called after
    each message's transaction (the sender is told new mail may be due)."""
    report = RunReport()
    while limit > 0:
        now = app.now()
        rows = claim_rows(app.engine, "received", now, min(limit, 50))
        rows += claim_rows(app.engine, "ocr-done", now, min(limit, 50))
        if not rows:
            break
        for snapshot in rows:
            _run_one(app, snapshot.id, report, _parse, _decide_and_apply, snapshot=snapshot)
            if on_commit is not None:
                on_commit()
        limit -= len(rows)
    return report


def process_ocr(app, reader, limit: int = 20) -> RunReport:
    """The OCR stage: its own worker and claim, so page reading never holds up e-mail.

    Pages are read outside any transaction (seconds per page); only the result
    is written in one.
    """
    report = RunReport()
    while limit > 0:
        ids = claim(app.engine, "ocr", app.now(), 1)
        if not ids:
            break
        _run_one(app, ids[0], report, lambda a, r: ocr_stage.read_pages(a, r, reader), ocr_stage.store_pages)
        limit -= 1
    return report


def _parse(app, row: InboundMessage):
    return process.parse(app.store.read(row.raw_path), row)


def _decide_and_apply(app, session: Session, row: InboundMessage, mail, now: datetime) -> str:
    prepared = process.prepare(mail, row, session, app)
    if row.stage == "received" and process.needs_ocr(prepared.mail, prepared.decision):
        row.stage = "ocr"
        row.next_attempt_at = now
        return f"- {prepared.decision.channel.channel.value} pages queued for OCR"
    try:
        with session.begin_nested():
            summary = process.apply(session, app, row, prepared, now)
    except UnknownCaseRef as exc:
        # A reference to a case we do not know must not lose the request: register it as new.
        log.warning("inbound %s: %s; registering it as a new case", row.id, exc)
        summary = process.apply_as_new_case(session, app, row, prepared, now, reason=str(exc))
    crash_point("before-process-commit")
    if row.stage != "quarantine":
        row.stage = "done"
    row.processed_at = now
    return summary


def _run_one(app, inbound_id: int, report: RunReport, outside, inside,
             snapshot: InboundMessage | None = None) -> None:
    """``outside(app, row)`` runs with no transaction open (parsing, OCR) on ``snapshot``
    (read now when not given); ``inside(app, session, row, value, now)`` writes the effects in one."""
    now = app.now()
    try:
        if snapshot is None:
            with transaction(app.engine) as session:
                snapshot = session.get(InboundMessage, inbound_id)
        value = outside(app, snapshot)
        with transaction(app.engine) as session:
            row = session.get(InboundMessage, inbound_id)
            summary = inside(app, session, row, value, now)
            row.claimed_until = None
            row.last_error = None
            session.add(row)
        report.processed += 1
        report.summaries.append(summary)
        log.info("%s (inbound %s)", summary, inbound_id)
        crash_point("after-process-commit")
    except Exception as exc:  # the catch-all: record, retry later, never stop the daemon
        _record_failure(app, inbound_id, exc, now, report)


def _record_failure(app, inbound_id: int, exc: Exception, now: datetime, report: RunReport) -> None:
    settings = app.settings.processing
    reason = f"{type(exc).__name__}: {exc}"
    detail = "".join(traceback.format_exception(exc))[-4000:]
    with transaction(app.engine) as session:
        row = session.get(InboundMessage, inbound_id)
        row.attempts += 1
        row.last_error = f"{reason}\n{detail}"
        row.claimed_until = None
        if row.attempts >= settings.max_attempts:
            row.stage = "set-aside"
            report.set_aside += 1
            audit(session, now, "set-aside", inbound_id=row.id,
                  detail={"attempts": row.attempts, "reason": reason, "raw": row.raw_path})
            log.error("- inbound %s set aside for a human after %d attempts: %s (raw kept at %s)",
                      inbound_id, row.attempts, reason, row.raw_path)
        else:
            delay = settings.retry_base_seconds * (2 ** (row.attempts - 1))
            row.next_attempt_at = now + timedelta(seconds=delay)
            audit(session, now, "failed", inbound_id=row.id, detail={"attempt": row.attempts, "reason": reason})
            log.warning("- inbound %s failed (attempt %d of %d, retry in %d s): %s",
                        inbound_id, row.attempts, settings.max_attempts, delay, reason)
        session.add(row)
    report.failed += 1

