"""The generic runner: claim a stage's rows, run its two halves, commit, catch.

A ``Stage`` (listed in ``intake/pipeline.py``) says which ``inbound_message``
rows it takes (``claims``: the rows' ``stage`` values) and gives two functions:

``outside(app, row) -> value``                 its pure half, run with no transaction
                                                 open (parsing, deciding, reading pages)
``inside(app, session, row, value, now) -> str`` its effect, inside the transaction;
                                                 sets the row's next stage, returns a
                                                 one-line summary for the log

The runner knows nothing else of a stage. Per claimed batch it runs ``outside``
for each row, then applies a group of up to ``group_size`` rows in ONE
transaction, each in a savepoint of its own (one write lock and one fsync per
group, not per message). A crash before the commit leaves the group claimed and
unapplied: it is processed again once the claims are free (``intake.workers``: at
once when the worker is dead). If the group's commit
itself fails, its rows are applied again one transaction each, so one bad
message cannot hold up the others.

The catch-all (Mailman's "shunt"): any exception in either half rolls back that
row's savepoint, records the reason on the row in a transaction of its own, and
schedules a retry with exponential backoff; after ``[processing] max_attempts``
the row is set aside (stage ``set-aside``) for a human. The raw bytes stay in
the store; the other rows and the daemon go on.

Claiming is ``UPDATE … WHERE id IN (…) AND <still claimable> RETURNING``, correct
on SQLite (one writer at a time) and on PostgreSQL (the re-checked WHERE makes a
second instance's claim of the same row return nothing; ``FOR UPDATE SKIP
LOCKED`` keeps them from queueing behind each other).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, func, select as sa_select, update
from sqlmodel import Session, select

from intake import claims
from intake.budget import OverBudget, time_budget
from intake.db import is_sqlite, transaction
from intake.models import InboundMessage
from intake.stages.rows import audit
from intake.testing_hooks import crash_on_message, crash_point
from intake.workers import claim_is_free

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.runner")

CLAIM_SECONDS = 600
SET_ASIDE = "set-aside"
"""The stage of a row the runner gave up on; ``intake messages retry ID`` puts it back."""


@dataclass(frozen=True)
class Stage:
    name: str
    claims: tuple[str, ...]
    outside: Callable[["App", InboundMessage], Any]
    inside: Callable[["App", Session, InboundMessage, Any, datetime], str]
    group_size: int = 1
    claim_batch: int = 50          # rows claimed at a time (their claims must not expire while they wait)


@dataclass
class RunReport:
    processed: int = 0
    failed: int = 0
    set_aside: int = 0
    summaries: list[str] = field(default_factory=list)

    @property
    def worked(self) -> bool:
        """Rows moved on (mail may have been queued, pages wait to be read)."""
        return self.processed > 0

    def add(self, more: "RunReport") -> None:
        self.processed += more.processed
        self.failed += more.failed
        self.set_aside += more.set_aside
        self.summaries += more.summaries


def run_stage(app: App, stage: Stage, limit: int = 10**9) -> RunReport:
    """Run ``stage`` over every claimable row (at most ``limit``); returns what happened."""
    report = RunReport()
    while limit > 0:
        rows = claim_rows(app.engine, stage.claims, app.now(), min(limit, stage.claim_batch), app.worker_id,
                          app.settings.processing.max_attempts)
        if not rows:
            break
        limit -= len(rows)
        for i in range(0, len(rows), stage.group_size):
            _run_group(app, stage, rows[i:i + stage.group_size], report)
    return report


def claim_rows(engine, stages: tuple[str, ...], now: datetime, limit: int,
               worker_id: str | None = None, max_deaths: int = 5) -> list[InboundMessage]:
    """Claim up to ``limit`` rows in ``stages`` that are due and not claimed by a live worker
    (``intake.workers``); the rows as read in the claim's own transaction (detached): the
    snapshot ``outside`` works on. A row a dead process held is claimed alone, and set aside
    once the process died on it ``max_deaths`` times (``intake.claims``)."""
    t = InboundMessage.__table__
    due = and_(t.c.stage.in_(stages), t.c.next_attempt_at <= now, claim_is_free(t, now))
    candidates = sa_select(t.c.id, t.c.claim_count).where(due).order_by(t.c.id).limit(limit)
    if not is_sqlite(engine):
        candidates = candidates.with_for_update(skip_locked=True)
    with transaction(engine) as session:
        found = [claims.Candidate(i, n or 0) for i, n in session.execute(candidates).all()]
        choice = claims.choose(found, limit, max_deaths)
        for row_id in choice.give_up:
            _set_aside_after_deaths(session, row_id, now)
        if not choice.claim:
            return []
        stmt = (update(t).where(t.c.id.in_(choice.claim), due)
                .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=worker_id,
                        claim_count=func.coalesce(t.c.claim_count, 0) + 1).returning(t.c.id))
        ids = [r[0] for r in session.execute(stmt).all()]
        if not ids:
            return []
        rows = list(session.exec(sa_select(InboundMessage).where(InboundMessage.id.in_(ids))).scalars().all())
    return sorted(rows, key=lambda r: r.id)


def _set_aside_after_deaths(session: Session, row_id: int, now: datetime) -> None:
    row = session.get(InboundMessage, row_id)
    reason = claims.died_reason(row.claim_count)
    row.stage = SET_ASIDE
    row.last_error = reason
    row.claimed_until = None
    row.claimed_by = None
    session.add(row)
    audit(session, now, "set-aside", inbound_id=row.id,
          detail={"attempts": row.claim_count, "reason": reason, "raw": row.raw_path})
    log.error("- inbound %s set aside for a human: %s (raw kept at %s)", row_id, reason, row.raw_path)


def _run_group(app: App, stage: Stage, snapshots: list[InboundMessage], report: RunReport) -> None:
    """``outside`` for each row (no transaction open), then ``inside`` for all in one transaction."""
    now = app.now()
    prepared: list[tuple[int, Any]] = []
    for snapshot in snapshots:
        crash_on_message(snapshot.message_id)
        try:
            with time_budget(app.settings.processing.message_seconds, f"{stage.name} of inbound {snapshot.id}"):
                prepared.append((snapshot.id, stage.outside(app, snapshot)))
        except Exception as exc:
            _record_failure(app, snapshot.id, exc, now, report)
    if prepared:
        _apply(app, stage, prepared, now, report)


def _apply(app: App, stage: Stage, prepared: list[tuple[int, Any]], now: datetime, report: RunReport) -> None:
    applied: list[tuple[int, str]] = []
    failed: list[tuple[int, Exception]] = []
    try:
        with transaction(app.engine) as session:
            # The group's rows in one query (held here: the session keeps them only weakly), so
            # that no row needs a statement of its own.
            query = select(InboundMessage).where(InboundMessage.id.in_([row_id for row_id, _ in prepared]))
            if not is_sqlite(app.engine):
                # Locked until the commit: a worker that took a row over cannot apply it meanwhile
                # (SQLite: the transaction holds the one write lock already).
                query = query.with_for_update()
            rows = {r.id: r for r in session.exec(query).all()}
            for row_id, value in prepared:
                if _taken_elsewhere(app, stage, rows[row_id]):
                    continue
                try:
                    with session.begin_nested():
                        applied.append((row_id, _apply_one(app, stage, session, rows[row_id], value, now)))
                except Exception as exc:   # this row's savepoint is rolled back; the others stand
                    failed.append((row_id, exc))
    except Exception as exc:
        if len(prepared) == 1:
            _record_failure(app, prepared[0][0], exc, now, report)
            return
        log.warning("- a group of %d message(s) could not be committed (%s); applying them one by one",
                    len(prepared), exc)
        for one in prepared:
            _apply(app, stage, [one], now, report)
        return
    for row_id, summary in applied:
        report.processed += 1
        report.summaries.append(summary)
        log.info("%s (inbound %s)", summary, row_id)
        crash_point(f"after-{stage.name}-commit")
    for row_id, exc in failed:
        _record_failure(app, row_id, exc, now, report)


def _taken_elsewhere(app: App, stage: Stage, row: InboundMessage) -> bool:
    """This worker's claim was taken over (it looked dead for a while): the row is another worker's
    now, or already past this stage. Left to it, never applied twice."""
    if row.claimed_by not in (None, app.worker_id):
        log.info("- inbound %s was taken over by %s: left to it", row.id, row.claimed_by)
        return True
    if row.stage not in stage.claims:
        log.info("- inbound %s was already taken further (%s) by another worker: left as it is", row.id, row.stage)
        return True
    return False


def _apply_one(app: App, stage: Stage, session: Session, row: InboundMessage, value: Any, now: datetime) -> str:
    summary = stage.inside(app, session, row, value, now)
    row.claimed_until = None
    row.claimed_by = None
    row.claim_count = 0
    row.last_error = None
    session.add(row)
    crash_point(f"before-{stage.name}-commit")
    return summary


def _record_failure(app: App, inbound_id: int, exc: Exception, now: datetime, report: RunReport) -> None:
    """Record why, then retry with backoff, or set the row aside after ``max_attempts``."""
    settings = app.settings.processing
    reason = f"{type(exc).__name__}: {exc}"
    detail = "".join(traceback.format_exception(exc))[-4000:]
    with transaction(app.engine) as session:
        row = session.get(InboundMessage, inbound_id)
        row.attempts += 1
        row.last_error = f"{reason}\n{detail}"
        row.claimed_until = None
        row.claimed_by = None
        row.claim_count = 0
        if row.attempts >= settings.max_attempts or isinstance(exc, OverBudget):
            row.stage = SET_ASIDE
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
