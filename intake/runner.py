"""Claim due rows and run the next stage.

The process stage commits a group of up to ``GROUP_SIZE`` messages at a time
(group commit): they are parsed first, outside any transaction; then one
transaction applies each in its own savepoint. One write lock and one fsync
for the group instead of one per message (on SQLite the write lock is the
whole database's, and every other writer, the senders too, queued behind each
message's). A crash before the commit leaves the whole group claimed and
unapplied: it is processed again once the claims expire, as a single message
was before. If the group's commit itself fails, its messages are applied again
one transaction each, so one bad message cannot hold up the others.

The catch-all (Mailman's "shunt"): any exception while processing a message
rolls back its savepoint (or its transaction), records the reason on the row
in a transaction of its own, and schedules a retry with exponential backoff;
after ``max_attempts`` the message is set aside (stage ``set-aside``) for a
human. The raw bytes stay in the store; the daemon goes on with the next message.

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
from sqlmodel import Session, select

from intake.db import is_sqlite, transaction
from intake.domain.records import Kind
from intake.models import InboundMessage
from intake.parse_ahead import Ahead, ParseAhead, Request
from intake.stages import ocr_stage, process
from intake.stages.registration import UnknownCaseRef
from intake.stages.rows import audit
from intake.testing_hooks import crash_point

log = logging.getLogger("intake.runner")

CLAIM_SECONDS = 600
GROUP_SIZE = 16
"""Messages applied in one transaction by the process stage (``process_received``)."""


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


def process_received(app, limit: int = 10**9, on_commit=None, ahead: ParseAhead | None = None) -> RunReport:
    """Run the process stage over every claimable ``received`` (and ``ocr-done``) message
    (at most ``limit``; the default is effectively all of them). ``on_commit()`` is called after
    each group's transaction (the sender is told new mail may be due). With ``ahead`` (``run
    --once``) a helper process parses and decides the claimed rows while groups before them
    are applied (``intake.parse_ahead``)."""
    report = RunReport()
    rows = _claim_batch(app, limit, ahead)
    while rows:
        limit -= len(rows)
        groups = [rows[i:i + GROUP_SIZE] for i in range(0, len(rows), GROUP_SIZE)]
        for n, group in enumerate(groups):
            if n == len(groups) - 1:
                # Claim the next batch before the last group is applied, so that a helper parses
                # it meanwhile (else it would wait for work at every batch boundary, and we for it).
                following = _claim_batch(app, limit, ahead)
            _run_group(app, group, report, ahead)
            if on_commit is not None:
                on_commit()
        rows = following
    return report


def _claim_batch(app, limit: int, ahead: ParseAhead | None) -> list[InboundMessage]:
    """Up to 50 ``received`` and 50 ``ocr-done`` rows, claimed; handed to the helper when there is one."""
    if limit <= 0:
        return []
    now = app.now()
    rows = claim_rows(app.engine, "received", now, min(limit, 50))
    rows += claim_rows(app.engine, "ocr-done", now, min(limit, 50))
    if ahead is not None and rows:
        ahead.submit(Request(r.id, r.raw_path, r.received_at, r.page_text) for r in rows)
    return rows


def _run_group(app, snapshots: list[InboundMessage], report: RunReport, ahead: ParseAhead | None = None) -> None:
    """Parse each message (no transaction open; or take the helper's parse), then apply them all
    in ONE transaction, each in a savepoint of its own; see the module docstring."""
    now = app.now()
    parsed = []
    for snapshot in snapshots:
        done = ahead.take(snapshot.id) if ahead is not None else None
        try:
            parsed.append((snapshot, done or _parse(app, snapshot)))
        except Exception as exc:
            _record_failure(app, snapshot.id, exc, now, report)
    applied: list[tuple[int, str]] = []
    failed: list[tuple[int, Exception]] = []
    try:
        with transaction(app.engine, yield_to_waiting=True) as session:
            # The group's rows in one query (held here: the session keeps them only weakly), so
            # that each message's ``session.get`` finds its row without a statement of its own.
            rows = session.exec(select(InboundMessage).where(
                InboundMessage.id.in_([snapshot.id for snapshot, _ in parsed]))).all()
            for snapshot, work in parsed:
                try:
                    with session.begin_nested():
                        applied.append((snapshot.id, _apply_one(app, session, snapshot.id, work, now)))
                except Exception as exc:   # this message's savepoint is rolled back; the others stand
                    failed.append((snapshot.id, exc))
    except Exception as exc:
        log.warning("- a group of %d message(s) could not be committed (%s); applying them one by one",
                    len(parsed), exc)
        for snapshot, work in parsed:
            _run_one(app, snapshot.id, report, lambda _app, _row, work=work: work, _decide_and_apply,
                     snapshot=snapshot)
        return
    for inbound_id, summary in applied:
        _report_processed(report, inbound_id, summary)
    for inbound_id, exc in failed:
        _record_failure(app, inbound_id, exc, now, report)


def _apply_one(app, session: Session, inbound_id: int, value, now: datetime, inside=None) -> str:
    row = session.get(InboundMessage, inbound_id)
    summary = (inside or _decide_and_apply)(app, session, row, value, now)
    row.claimed_until = None
    row.last_error = None
    session.add(row)
    return summary


def _report_processed(report: RunReport, inbound_id: int, summary: str) -> None:
    report.processed += 1
    report.summaries.append(summary)
    log.info("%s (inbound %s)", summary, inbound_id)
    crash_point("after-process-commit")


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


def _parse(app, row: InboundMessage) -> Ahead:
    """The parse, in this process (the decision is made in the transaction)."""
    return Ahead(process.parse(app.store.read(row.raw_path), row), None)


def _decide_and_apply(app, session: Session, row: InboundMessage, work: Ahead, now: datetime) -> str:
    prepared = process.prepare(work.mail, row, session, app, decision=work.decision)
    if row.stage == "received" and process.needs_ocr(prepared.mail, prepared.decision):
        row.stage = "ocr"
        row.next_attempt_at = now
        return f"- {prepared.decision.channel.channel.value} pages queued for OCR"
    try:
        if prepared.decision.kind.kind is Kind.FOLLOW_UP and prepared.staff is None:
            # Only a follow-up can raise UnknownCaseRef; its partial effects are rolled back with
            # this savepoint. (Other kinds need none: a savepoint and its flush cost time.)
            with session.begin_nested():
                summary = process.apply(session, app, row, prepared, now)
        else:
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
            summary = _apply_one(app, session, inbound_id, value, now, inside)
        _report_processed(report, inbound_id, summary)
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

