"""The generic runner (intake/runner.py) on a real SQLite database, no servers.

Messages are stored as the fetch stage stores them; the pipeline's process stage, and stages
defined here (real ``Stage`` objects whose halves fail on purpose), run in-process.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

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
from tests.e2e.harness import sample_bytes

NEW_REQUESTS = ["sample-001.eml", "sample-002.eml", "sample-003.eml"]


@pytest.fixture
def app(tmp_path):
    app = build_app(load_settings(offline_config(tmp_path)), clock=lambda: datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc))
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
