"""The generic runner (intake/runner.py) on a real SQLite database, no servers.

Messages are stored as the fetch stage stores them; the pipeline's process stage, and stages
defined here (real ``Stage`` objects whose halves fail on purpose), run in-process.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from intake.app import build_app
from intake.db import transaction, upgrade
from intake.devservers.localconfig import offline_config
from intake.models import AuditEvent, Case, InboundMessage
from intake.pipeline import PROCESS
from intake.runner import Stage, run_stage
from intake.settings import load_settings
from intake.stages.fetch import header_message_id
from tests.e2e.harness import FixedClock, sample_bytes

NEW_REQUESTS = ["sample-001.eml", "sample-002.eml", "sample-003.eml"]


START = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path):
    app = build_app(load_settings(offline_config(tmp_path)), clock=FixedClock(START))
    upgrade(app.engine)
    yield app
    app.engine.dispose()


def store_inbound(app, raws: list[bytes]) -> list[int]:
    now = app.now()
    blobs = app.store.put_messages(raws)
    with transaction(app.engine) as session:
        rows = [InboundMessage(mailbox="INBOX", uidvalidity=1, uid=uid, message_id=header_message_id(raw),
                               content_hash=blob.sha256, raw_path=str(blob.path), size=blob.size,
                               received_at=now, fetched_at=now, next_attempt_at=now, server_done=True)
                for uid, (raw, blob) in enumerate(zip(raws, blobs), start=1)]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def applied_rows(session: Session) -> list[int]:
    """At an outermost commit: the inbound rows this transaction applied, each in its savepoint
    (noted when the savepoint was released: the rows themselves may be gone from the session)."""
    if session.in_nested_transaction():
        session.info.setdefault("applied", []).extend(
            o.id for o in session.identity_map.values() if isinstance(o, InboundMessage) and o.stage == "done")
        return []
    return sorted(set(session.info.pop("applied", [])))


def test_a_group_whose_commit_fails_is_applied_one_by_one(app, caplog):
    ids = store_inbound(app, [sample_bytes(f) for f in NEW_REQUESTS])
    failed_commits = []

    def fail_the_group_commit(session: Session) -> None:
        # Only a group's transaction applied rows (stage "done"); fail the first such commit.
        done = applied_rows(session)
        if not failed_commits and done:
            failed_commits.append(len(done))
            raise RuntimeError("commit refused (test)")

    event.listen(Session, "before_commit", fail_the_group_commit)
    try:
        with caplog.at_level(logging.WARNING, logger="intake.runner"):
            report = run_stage(app, PROCESS)
    finally:
        event.remove(Session, "before_commit", fail_the_group_commit)

    assert failed_commits == [len(ids)], "the whole group was in the refused commit"
    assert "could not be committed" in caplog.text and "one by one" in caplog.text
    assert (report.processed, report.failed) == (len(ids), 0)
    with transaction(app.engine) as s:
        cases = s.exec(select(Case)).all()
        assert len(cases) == len(ids) and len({c.ref for c in cases}) == len(ids)
        rows = s.exec(select(InboundMessage)).all()
        assert {r.stage for r in rows} == {"done"} and all(r.case_id for r in rows)
        registered = s.exec(select(AuditEvent).where(AuditEvent.event == "registered")).all()
        assert len(registered) == len(ids), "the refused group left nothing behind"


def test_messages_are_committed_a_group_at_a_time(app):
    raws = [sample_bytes(NEW_REQUESTS[i % len(NEW_REQUESTS)]).replace(
        b"Message-ID: <", f"Message-ID: <g{i}.".encode(), 1) for i in range(PROCESS.group_size + 3)]
    store_inbound(app, raws)
    commits_with_cases = []

    def count(session: Session) -> None:
        done = applied_rows(session)
        if done:
            commits_with_cases.append(len(done))

    event.listen(Session, "before_commit", count)
    try:
        report = run_stage(app, PROCESS)
    finally:
        event.remove(Session, "before_commit", count)
    assert report.processed == PROCESS.group_size + 3
    assert commits_with_cases == [PROCESS.group_size, 3]


def _fail_outside(app, row):
    raise ValueError(f"cannot read inbound {row.id} (test)")


def _mark_read(app, session, row, value, now):
    row.stage = "read"
    return f"- inbound {row.id} read"


FAILS_OUTSIDE = Stage(name="test-read", claims=("received",), outside=_fail_outside, inside=_mark_read)


def test_a_failing_row_is_retried_with_backoff_then_set_aside(app):
    [row_id] = store_inbound(app, [sample_bytes(NEW_REQUESTS[0])])
    assert app.settings.processing.max_attempts == 3 and app.settings.processing.retry_base_seconds == 1
    first = run_stage(app, FAILS_OUTSIDE)
    assert (first.processed, first.failed, first.set_aside) == (0, 1, 0)
    assert run_stage(app, FAILS_OUTSIDE).failed == 0, "not due before its backoff (1 s)"
    app.clock.now += timedelta(seconds=1)
    assert run_stage(app, FAILS_OUTSIDE).failed == 1
    app.clock.now += timedelta(seconds=1)
    assert run_stage(app, FAILS_OUTSIDE).failed == 0, "the second backoff is 2 s"
    app.clock.now += timedelta(seconds=1)
    last = run_stage(app, FAILS_OUTSIDE)
    assert (last.failed, last.set_aside) == (1, 1)
    with transaction(app.engine) as s:
        row = s.get(InboundMessage, row_id)
        assert (row.stage, row.attempts, row.claimed_until) == ("set-aside", 3, None)
        assert "ValueError: cannot read inbound" in row.last_error
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.inbound_id == row_id)
                                           .order_by(AuditEvent.id)).all()]
        assert events == ["failed", "failed", "set-aside"]


def _fail_second_inside(app, session, row, value, now):
    row.stage = "read"
    session.add(row)
    session.flush()
    if row.uid == 2:
        raise RuntimeError("the effect failed (test)")
    return f"- inbound {row.id} read"


FAILS_INSIDE_ONCE = Stage(name="test-read", claims=("received",), outside=lambda app, row: None,
                          inside=_fail_second_inside, group_size=8)


def test_one_rows_failure_rolls_back_its_savepoint_only(app):
    ids = store_inbound(app, [sample_bytes(f) for f in NEW_REQUESTS])
    report = run_stage(app, FAILS_INSIDE_ONCE)
    assert (report.processed, report.failed) == (2, 1)
    with transaction(app.engine) as s:
        rows = {r.id: r for r in s.exec(select(InboundMessage)).all()}
        assert [rows[i].stage for i in ids] == ["read", "received", "read"], "the failed row's change rolled back"
        assert rows[ids[1]].attempts == 1 and "the effect failed" in rows[ids[1]].last_error
        assert all(rows[i].claimed_until is None for i in ids)


def test_the_fetcher_and_sender_are_not_starved_by_back_to_back_groups(app):
    """SQLite has one write lock and no queue (WAL, BEGIN IMMEDIATE, a busy timeout): a short
    writer must still get it between the process stage's group transactions, which leave it
    free while the next group is parsed (``db.begin_immediate`` tries every few ms)."""
    import threading
    import time

    from sqlalchemy import text

    raws = [sample_bytes(NEW_REQUESTS[i % len(NEW_REQUESTS)]).replace(
        b"Message-ID: <", f"Message-ID: <s{i}.".encode(), 1) for i in range(6 * PROCESS.group_size)]
    store_inbound(app, raws)
    waits: list[float] = []
    done = threading.Event()

    def short_writer():          # what the fetcher and the senders do: small write transactions
        while not done.is_set():
            t0 = time.monotonic()
            with transaction(app.engine) as s:      # BEGIN IMMEDIATE is issued at the first statement
                s.connection().execute(text("UPDATE mailbox_state SET last_uid = last_uid WHERE 0"))
            waits.append(time.monotonic() - t0)
            time.sleep(0.01)

    writer = threading.Thread(target=short_writer)
    writer.start()
    try:
        report = run_stage(app, PROCESS)
    finally:
        done.set()
        writer.join()
    assert report.processed == len(raws)
    # About one group's transaction at most (0.2 s here under load); SQLite's own busy handler,
    # whose sleeps grow to 100 ms, kept missing the gaps between groups: 0.4–0.9 s.
    assert len(waits) >= 2 and max(waits) < 1.0, sorted(waits)[-5:]
