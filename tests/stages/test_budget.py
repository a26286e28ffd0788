"""The per-message budget (intake/budget.py) in the generic runner, on a real SQLite database."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone

import pytest

from intake.app import build_app
from intake.budget import OverBudget, time_budget
from intake.db import transaction, upgrade
from intake.devservers.localconfig import offline_config
from intake.models import AuditEvent, InboundMessage
from intake.pipeline import PROCESS
from intake.runner import SET_ASIDE, Stage, run_stage
from intake.settings import load_settings
from sqlmodel import select
from tests.e2e.harness import FixedClock, sample_bytes
from tests.stages.test_runner import store_inbound

START = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path):
    settings = load_settings(offline_config(tmp_path))
    settings = dataclasses.replace(settings, processing=dataclasses.replace(settings.processing, message_seconds=1))
    app = build_app(settings, clock=FixedClock(START))
    upgrade(app.engine)
    yield app
    app.engine.dispose()


def spin_forever_on_the_second(app, row):
    if row.uid == 2:
        while True:          # a pure-Python loop that never ends: a hostile message's worst case
            pass
    return PROCESS.outside(app, row)


def test_a_message_over_its_budget_is_set_aside_at_once_and_the_others_go_on(app):
    ids = store_inbound(app, [sample_bytes(f) for f in ("sample-001.eml", "sample-002.eml", "sample-003.eml")])
    stage = dataclasses.replace(PROCESS, outside=spin_forever_on_the_second)
    started = time.monotonic()
    report = run_stage(app, stage)
    assert time.monotonic() - started < 20
    assert (report.processed, report.set_aside) == (2, 1)
    with transaction(app.engine) as session:
        rows = {r.uid: r for r in session.exec(select(InboundMessage)).all()}
        assert rows[2].stage == SET_ASIDE and rows[2].attempts == 1
        assert "per-message budget" in rows[2].last_error
        assert {rows[1].stage, rows[3].stage} == {"done"}
        events = session.exec(select(AuditEvent).where(AuditEvent.event == "set-aside")).all()
        assert [e.inbound_id for e in events] == [ids[1]]


def test_the_budget_does_not_fire_after_its_block_ended():
    with time_budget(0.2, "quick"):
        pass
    time.sleep(0.5)                          # an interruption left pending would surface here
    with pytest.raises(OverBudget, match="more than 0.2 s"):
        with time_budget(0.2, "slow"):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pass
