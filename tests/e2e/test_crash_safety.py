"""SIGKILL the daemon at several points of processing; restart; nothing lost, nothing twice.

The process kills itself (``INTAKE_CRASH_AT=point[:n]``, see intake/testing_hooks.py)
at the n-th time it reaches a named point, so each crash lands exactly where the
test wants it; a last test kills a running daemon from outside at a random moment.
"""

from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import time
from email.policy import default as default_policy

import pytest
from sqlmodel import select

from intake.models import Case, InboundMessage, Outbox
from tests.e2e.harness import REPO, copies_outside_the_smtp_window, make_env, sample_bytes

# The crash points kill at an exact step of one mail. With several SMTP connections another mail may
# be in the server's hands at that moment, inside the window no client can close (see
# copies_outside_the_smtp_window); one connection makes "exactly once" exact. Several connections
# are what the random kills below run with.
ONE_CONNECTION = "connections = 1"

MESSAGES = ["sample-001.eml", "sample-002.eml", "sample-003.eml", "sample-005.eml", "sample-006.eml"]


def _assert_exactly_once(env, sink, kills: list[float] | None = None):
    with env.session() as s:
        rows = s.exec(select(InboundMessage)).all()
        assert len(rows) == len(MESSAGES), "one row per message"
        assert all(r.stage == "done" for r in rows), [(r.id, r.stage, r.last_error) for r in rows]
        cases = s.exec(select(Case)).all()
        assert len(cases) == len(MESSAGES), "one case per message"
        assert len({c.ref for c in cases}) == len(cases)
        # run --once also sweeps with the real clock: in working hours digests and the calendar
        # review warning may go out too; tasks are told apart by their outbox rows.
        task_ids = set(s.exec(select(Outbox.message_id).where(Outbox.purpose == "staff-task")).all())
    acks: dict[str, int] = {}
    tasks = 0
    seen: set[str] = set()
    if kills is not None:
        assert copies_outside_the_smtp_window(sink, kills) == [], "a mail went out twice outside SMTP's window"
    for m in sink.messages():
        msg = email.message_from_bytes(m.raw, policy=default_policy)
        if kills is not None and msg["Message-ID"] in seen:
            continue     # the second copy from a kill inside the window (checked above)
        seen.add(msg["Message-ID"])
        if msg["Auto-Submitted"] == "auto-replied":
            acks[m.rcpt_to[0]] = acks.get(m.rcpt_to[0], 0) + 1
        elif msg["Message-ID"] in task_ids:
            tasks += 1
    assert tasks == len(MESSAGES), "one task mail per case"
    assert sum(acks.values()) == len(MESSAGES)
    expected_per_customer = {}
    for name in MESSAGES:
        raw = sample_bytes(name)
        sender = email.message_from_bytes(raw, policy=default_policy)
        addr = (sender["Reply-To"] or sender["From"]).addresses[0].addr_spec.lower()
        expected_per_customer[addr] = expected_per_customer.get(addr, 0) + 1
    assert acks == expected_per_customer, "each customer got exactly one acknowledgement per request"


@pytest.mark.parametrize("point", [
    "after-fetch-commit",          # rows committed, messages not yet flagged on the server
    "before-process-commit:2",     # second message's case built but not committed
    "after-process-commit:3",      # third message committed, the rest not processed
    "before-smtp-send:2",          # claimed for sending, not sent
    "after-smtp-accepted:3",       # the server said 250 to the third mail; not yet committed as sent
    "after-smtp-commit:4",         # four mails sent and recorded, the rest pending
])
def test_sigkill_at_each_point_then_restart(tmp_path, dovecot, smtp_sink, point):
    _crash_restart_and_check(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}", point)


def _crash_restart_and_check(tmp_path, dovecot, smtp_sink, db_url: str, point: str) -> None:
    env = make_env(tmp_path, dovecot, smtp_sink, db_url, smtp_extra=ONE_CONNECTION)
    for name in MESSAGES:
        env.append(sample_bytes(name))
    crashed = env.run_cli("run", "--once", env={"INTAKE_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    # The claim of a killed worker expires; a restart after that picks everything up.
    rerun = env.run_cli("run", "--once", env={"INTAKE_TEST_CLOCK_SKEW_SECONDS": "900"})
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _assert_exactly_once(env, smtp_sink)


@pytest.mark.parametrize("point", [
    "before-process-commit:2",     # killed mid-transaction: nothing of the group is committed
    "after-smtp-accepted:3",       # killed after a 250, before the sent mark's commit
])
def test_sigkill_then_restart_on_postgresql(tmp_path, dovecot, smtp_sink, fresh_postgres_url, point):
    """``run --once`` on PostgreSQL: the same exactly-once outcome."""
    _crash_restart_and_check(tmp_path, dovecot, smtp_sink, fresh_postgres_url, point)


def test_sigkill_running_daemon_at_random_moments(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    for name in MESSAGES:
        env.append(sample_bytes(name))
    rng = random.Random(20261125)
    kills: list[float] = []
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "intake", "--config", str(env.config), "run"],
                                cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "INTAKE_TEST_CLOCK_SKEW_SECONDS": str(900 * attempt)})
        time.sleep(rng.uniform(0.3, 1.5))
        kills.append(time.time())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    final = env.run_cli("run", "--once", env={"INTAKE_TEST_CLOCK_SKEW_SECONDS": "3600"})
    assert final.returncode == 0, final.stderr[-3000:]
    _assert_exactly_once(env, smtp_sink, kills)
