"""Messages that kill the process (intake/claims.py): the choice as a table, then on a real
SQLite database through the runner's claims."""

from __future__ import annotations

import pytest
from sqlmodel import select

from intake import workers
from intake.claims import Candidate, Choice, choose
from intake.db import transaction
from intake.models import AuditEvent, InboundMessage
from intake.pipeline import PROCESS
from intake.runner import SET_ASIDE, claim_rows, run_stage
from tests.e2e.harness import sample_bytes
from tests.stages.test_runner import store_inbound
from tests.stages.test_workers import START, add_worker, app, dead_pid  # noqa: F401 (app: the fixture)


def c(*pairs):
    return [Candidate(i, n) for i, n in pairs]


@pytest.mark.parametrize("candidates, limit, max_deaths, expected", [
    ([], 50, 5, Choice((), ())),
    (c((1, 0), (2, 0), (3, 0)), 50, 5, Choice((1, 2, 3), ())),          # nobody died: a batch
    (c((1, 0), (2, 0), (3, 0)), 2, 5, Choice((1, 2), ())),              # up to the limit
    (c((1, 0), (2, 1), (3, 1)), 50, 5, Choice((2,), ())),               # a suspect goes alone, first one first
    (c((1, 4), (2, 0)), 50, 5, Choice((1,), ())),                       # four deaths: still tried, alone
    (c((1, 5), (2, 0), (3, 0)), 50, 5, Choice((2, 3), (1,))),           # fifth: given up, the others go on
    (c((1, 7), (2, 2)), 50, 5, Choice((2,), (1,))),
    (c((1, 3), (2, 3)), 50, 3, Choice((), (1, 2))),
    (c((1, 1)), 50, 1, Choice((), (1,))),                               # max 1: the first death ends it
])
def test_choose(candidates, limit, max_deaths, expected):
    assert choose(candidates, limit, max_deaths) == expected


def _die_holding(app, max_deaths: int) -> list[int]:
    """A worker claims what it may and dies before finishing (as SIGKILL leaves it); its row goes,
    as when the process is restarted. Returns the ids it held."""
    pid = dead_pid()
    worker_id = f"doomed:{pid}"
    add_worker(app, worker_id, pid, START)
    got = [r.id for r in claim_rows(app.engine, ("received",), app.now(), 50, worker_id, max_deaths)]
    with transaction(app.engine) as session:
        session.delete(session.get(workers.Worker, worker_id))
    return got


def _rows(app, ids):
    with transaction(app.engine) as session:
        return [session.get(InboundMessage, i) for i in ids]


def test_after_a_death_the_batch_is_retried_one_message_at_a_time(app):
    ids = store_inbound(app, [sample_bytes(f"sample-00{n}.eml") for n in (1, 2, 3)])
    assert _die_holding(app, 3) == ids              # the first death: all three were in its batch
    assert [r.claim_count for r in _rows(app, ids)] == [1, 1, 1]
    assert _die_holding(app, 3) == ids[:1]          # now each alone: the next death names one message
    report = run_stage(app, PROCESS)                # a healthy worker: all done, counts back to 0
    assert report.processed == 3
    assert [(r.stage, r.claim_count) for r in _rows(app, ids)] == [("done", 0)] * 3


def test_the_nth_death_sets_the_message_aside_with_the_reason_and_the_others_go_on(app):
    deaths = app.settings.processing.max_attempts
    ids = store_inbound(app, [sample_bytes("sample-001.eml"), sample_bytes("sample-002.eml")])
    held = [_die_holding(app, deaths) for _ in range(deaths)]
    assert held == [ids] + [ids[:1]] * (deaths - 1)   # the first message kills every claim of it
    report = run_stage(app, PROCESS)
    assert report.processed == 1
    poison, other = _rows(app, ids)
    assert poison.stage == SET_ASIDE and poison.last_error.startswith(f"ProcessDied: the process died {deaths} times")
    assert other.stage == "done"
    with transaction(app.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.event == "set-aside")).all()
        assert [e.inbound_id for e in events] == [poison.id]
    assert app.store.read(poison.raw_path) == sample_bytes("sample-001.eml")   # raw bytes kept
