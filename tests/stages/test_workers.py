"""Claims with an owner (intake/workers.py): a dead worker's claims are free at once, a live
one's are not, on a real SQLite database."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from intake import workers
from intake.app import build_app
from intake.db import transaction, upgrade
from intake.devservers.localconfig import offline_config
from intake.models import InboundMessage, Worker
from intake.pipeline import PROCESS
from intake.runner import claim_rows, run_stage
from intake.settings import load_settings
from tests.e2e.harness import FixedClock, sample_bytes, wait_for
from tests.stages.test_runner import store_inbound

START = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
CLAIMS = ("received", "ocr-done")


@pytest.fixture
def app(tmp_path):
    app = build_app(load_settings(offline_config(tmp_path)), clock=FixedClock(START))
    upgrade(app.engine)
    yield app
    app.engine.dispose()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def add_worker(app, worker_id: str, pid: int, heartbeat: datetime) -> None:
    with transaction(app.engine) as session:
        session.add(Worker(id=worker_id, host=socket.gethostname(), pid=pid, started_at=heartbeat,
                           heartbeat_at=heartbeat))


def claim_by(app, worker_id: str) -> list[int]:
    return [r.id for r in claim_rows(app.engine, CLAIMS, app.now(), 50, worker_id)]


def test_a_dead_local_workers_claims_are_taken_back_when_a_process_starts(app):
    ids = store_inbound(app, [sample_bytes("sample-001.eml"), sample_bytes("sample-002.eml")])
    add_worker(app, "old:1", dead_pid(), START)
    assert claim_by(app, "old:1") == ids                 # the old daemon claimed both, then was killed
    assert claim_by(app, app.worker_id) == []            # its row still looks alive: nothing to take
    assert workers.register(app.engine, app.worker_id, app.now()) == 1
    # at once, not 10 minutes later; one at a time, since the process died holding them (intake.claims)
    assert claim_by(app, app.worker_id) == ids[:1]
    assert claim_by(app, app.worker_id) == ids[1:]


def test_a_live_workers_claims_stay_its_own_until_its_heartbeat_is_stale(app):
    ids = store_inbound(app, [sample_bytes("sample-001.eml")])
    other = subprocess.Popen(["sleep", "30"])
    try:
        add_worker(app, "elsewhere:7", other.pid, START)
        workers.register(app.engine, app.worker_id, app.now())
        assert claim_by(app, "elsewhere:7") == ids
        assert claim_by(app, app.worker_id) == []
        app.clock = FixedClock(START + timedelta(seconds=workers.STALE_SECONDS - 1))
        assert claim_by(app, app.worker_id) == []
        app.clock = FixedClock(START + timedelta(seconds=workers.STALE_SECONDS + 1))   # on another host, dead
        assert claim_by(app, app.worker_id) == ids
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("meanwhile,logged", [
    ({"claimed_by": "other:1"}, "taken over by other:1"),                         # it holds the row now
    ({"claimed_by": None, "stage": "done"}, "already taken further (done)"),      # it applied it already
])
def test_a_row_taken_over_meanwhile_is_left_to_its_new_owner(app, caplog, meanwhile, logged):
    ids = store_inbound(app, [sample_bytes("sample-001.eml")])
    workers.register(app.engine, app.worker_id, app.now())
    add_worker(app, "other:1", os.getpid(), START)        # alive: its claim stands
    taken_over = []

    def outside_then_lose_the_claim(a, row):
        value = PROCESS.outside(a, row)
        with transaction(app.engine) as session:
            session.execute(update(InboundMessage).where(InboundMessage.id == row.id).values(**meanwhile))
        taken_over.append(row.id)
        return value

    with caplog.at_level(logging.INFO, logger="intake.runner"):
        report = run_stage(app, dataclasses.replace(PROCESS, outside=outside_then_lose_the_claim))
    assert taken_over == ids and report.processed == 0 and report.failed == 0
    assert logged in caplog.text


def test_retire_releases_the_claims_and_the_row(app):
    ids = store_inbound(app, [sample_bytes("sample-001.eml")])
    workers.register(app.engine, app.worker_id, app.now())
    assert claim_by(app, app.worker_id) == ids
    workers.retire(app.engine, app.worker_id)
    with transaction(app.engine) as session:
        row = session.get(InboundMessage, ids[0])
        assert (row.claimed_by, row.claimed_until, row.claim_count) == (None, None, 0)   # not a death
        assert session.get(Worker, app.worker_id) is None


def add_remote_worker(app, worker_id: str, heartbeat: datetime) -> None:
    with transaction(app.engine) as session:
        session.add(Worker(id=worker_id, host="another-host", pid=os.getpid(), started_at=heartbeat,
                           heartbeat_at=heartbeat))


@pytest.mark.parametrize("host,age,gone", [
    ("here-dead-pid", 0, True),                               # this host, pid gone: dead at once
    ("here-live-pid", workers.STALE_SECONDS - 1, False),      # this host, pid alive, recent beat
    ("another-host", workers.STALE_SECONDS - 1, False),       # elsewhere, recent beat
    ("another-host", workers.STALE_SECONDS + 1, True),        # elsewhere, stale
])
def test_each_beat_removes_dead_workers_and_frees_their_claims(app, host, age, gone):
    ids = store_inbound(app, [sample_bytes("sample-001.eml")])
    if host == "another-host":
        add_remote_worker(app, "w:1", START)
    else:
        add_worker(app, "w:1", dead_pid() if host == "here-dead-pid" else os.getpid(), START)
    assert claim_by(app, "w:1") == ids
    app.clock = FixedClock(START + timedelta(seconds=age))
    assert workers.beat(app.engine, app.worker_id, app.now()) == (1 if gone else 0)
    assert claim_by(app, app.worker_id) == (ids if gone else [])


class MovableClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_long_run_keeps_its_claims_while_its_heartbeat_thread_beats(app):
    """run --once holds its claims for as long as it runs: a run longer than STALE_SECONDS without
    beats was taken over by another instance, which sent its mail again."""
    ids = store_inbound(app, [sample_bytes("sample-001.eml")])
    clock = MovableClock(START)
    app.clock = clock
    add_remote_worker(app, "elsewhere:9", START)            # the other instance, on another host
    workers.register(app.engine, app.worker_id, app.now())
    assert claim_by(app, app.worker_id) == ids
    heartbeat = workers.Heartbeat(app.engine, app.worker_id, app.now, every=0.02).start()
    try:
        clock.now = START + timedelta(seconds=workers.STALE_SECONDS * 4)    # a long pass
        assert wait_for(lambda: _heartbeat_at(app) == clock.now, 5, 0.02)
        assert claim_by(app, "elsewhere:9") == []
    finally:
        heartbeat.stop()
    clock.now += timedelta(seconds=workers.STALE_SECONDS + 1)    # no beats any more: looks dead
    assert claim_by(app, "elsewhere:9") == ids


def _heartbeat_at(app) -> datetime:
    with transaction(app.engine) as session:
        at = session.get(Worker, app.worker_id).heartbeat_at
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def test_the_heartbeat_wakes_the_steps_when_a_dead_workers_claims_are_freed(app):
    freed = threading.Event()
    workers.register(app.engine, app.worker_id, app.now())
    add_worker(app, "killed:1", dead_pid(), START)
    heartbeat = workers.Heartbeat(app.engine, app.worker_id, app.now, every=0.02, on_freed=freed.set).start()
    try:
        assert freed.wait(5)
    finally:
        heartbeat.stop()
