"""Several instances, and one instance killed again and again (issue 17, item 1).

Real ``intake run`` daemons (subprocesses) on one database and one Dovecot mailbox, fed 300 mails
while a random daemon is SIGKILLed every few seconds and restarted at once (what systemd's
``Restart=`` does). Every mail must become exactly one case with exactly one acknowledgement at the
SMTP sink, none lost, all done within 60 s of the last kill. The figures are printed (``-s``).
"""

from __future__ import annotations

import email
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intake.db import make_engine
from intake.models import Case, InboundMessage, Outbox
from tests.e2e.harness import REPO, copies_outside_the_smtp_window, make_env, sample_bytes

pytestmark = pytest.mark.integration

MAILS = 300
DONE_WITHIN = 60.0
HOST = socket.gethostname()


def customer_mail(n: int) -> bytes:
    """sample-001 (a request that opens a case) from customer ``n``: its own address and content."""
    raw = sample_bytes("sample-001.eml")
    raw = raw.replace(b"eunha_kook@hanmail.net", f"customer{n:03d}@hanmail.net".encode())
    return raw.replace(b"<20260326135803.Tt4U8AUVAsTL@hanmail.net>", f"<instances-{n:03d}@hanmail.net>".encode())


class Daemons:
    """``count`` daemon slots; each slot is one running ``intake run`` at a time, its log kept."""

    def __init__(self, env, count: int, logs: Path):
        self.env, self.logs = env, logs
        self.procs: list[subprocess.Popen | None] = [None] * count
        self.started = 0
        self.kills: list[float] = []

    def start(self, slot: int) -> None:
        self.started += 1
        log = open(self.logs / f"daemon-{slot}-{self.started}.log", "wb")
        self.procs[slot] = subprocess.Popen([sys.executable, "-m", "intake", "--config", str(self.env.config), "run"],
                                            cwd=str(REPO), stdout=log, stderr=log)
        log.close()

    def kill(self, slot: int) -> str:
        proc = self.procs[slot]
        self.kills.append(time.time())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        return f"{HOST}:{proc.pid}"

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text("utf-8", "replace") for p in sorted(self.logs.glob("daemon-*.log")))


class Waits:
    """After each kill: the rows the killed worker held, and how long until each is done."""

    def __init__(self, engine):
        self.engine = engine
        self.open: list[tuple[float, set[int], set[int]]] = []
        self.longest = 0.0
        self.done_at_kills: list[int] = []      # messages done when each kill came (kills while draining)

    def killed(self, worker: str, at: float) -> None:
        i, o = InboundMessage.__table__, Outbox.__table__
        with self.engine.connect() as conn:
            inbound = set(conn.execute(select(i.c.id).where(i.c.claimed_by == worker, i.c.stage != "done")).scalars())
            outbox = set(conn.execute(select(o.c.id).where(o.c.claimed_by == worker, o.c.status == "sending")).scalars())
            self.done_at_kills.append(conn.execute(select(func.count()).where(i.c.stage == "done")).scalar())
        self.open.append((at, inbound, outbox))

    def check(self) -> None:
        i, o = InboundMessage.__table__, Outbox.__table__
        still = []
        with self.engine.connect() as conn:
            for at, inbound, outbox in self.open:
                waiting = (conn.execute(select(func.count()).where(i.c.id.in_(inbound), i.c.stage != "done")).scalar()
                           + conn.execute(select(func.count()).where(o.c.id.in_(outbox), o.c.status != "sent")).scalar())
                if waiting:
                    still.append((at, inbound, outbox))
                else:
                    self.longest = max(self.longest, time.time() - at)
        self.open = still


def all_done(engine) -> bool:
    i, o = InboundMessage.__table__, Outbox.__table__
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).where(i.c.stage == "done")).scalar()
        unsent = conn.execute(select(func.count()).where(o.c.status != "sent")).scalar()
    return done >= MAILS and unsent == 0


def feed(env, mails: list[bytes], seconds: float) -> threading.Thread:
    def run():
        for raw in mails:
            env.append(raw)
            time.sleep(seconds / len(mails))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def outcome(sink, engine, kills: list[float]) -> dict:
    """Cases, acknowledgements per customer, duplicates, losses. A second copy is only allowed inside
    SMTP's own window (the server stored the mail and was about to say 250 as its sender was killed:
    no client can close it, RFC 1047); it is counted apart, and any other second copy fails."""
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(InboundMessage)).scalar()
        cases = conn.execute(select(func.count()).select_from(Case)).scalar()
    acks: dict[str, set[str]] = {}
    copies = 0
    seen: set[str] = set()
    for m in sink.messages():
        msg = email.message_from_bytes(m.raw, policy=default_policy)
        if msg["Message-ID"] in seen:
            copies += 1
            continue
        seen.add(msg["Message-ID"])
        if msg["Auto-Submitted"] == "auto-replied":
            acks.setdefault(m.rcpt_to[0], set()).add(msg["Message-ID"])
    outside = copies_outside_the_smtp_window(sink, kills)
    expected = {f"customer{n:03d}@hanmail.net" for n in range(MAILS)}
    per_customer = {addr: len(ids) for addr, ids in acks.items()}
    return {"rows": rows, "cases": cases, "acks": sum(per_customer.values()),
            "dups": len(outside) + sum(n - 1 for n in per_customer.values()),
            "copies_in_smtp_window": copies - len(outside),
            "losses": len(expected - set(acks)), "acks_per_customer": per_customer}


def run_scenario(tmp_path, dovecot, smtp_sink, db_url: str, *, daemons: int, kills: int, feed_seconds: float,
                 prefeed: bool, gap: tuple[float, float]) -> dict:
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    engine = make_engine(db_url)
    mails = [customer_mail(n) for n in range(MAILS)]
    if prefeed:
        for raw in mails:
            env.append(raw)
    fleet = Daemons(env, daemons, tmp_path)
    waits = Waits(engine)
    rng = random.Random(20261205)
    t0 = time.time()
    try:
        for slot in range(daemons):
            fleet.start(slot)
        feeder = None if prefeed else feed(env, mails, feed_seconds)
        last_kill = t0
        for _ in range(kills):
            deadline = time.time() + rng.uniform(*gap)
            while time.time() < deadline:
                waits.check()
                time.sleep(0.2)
            slot = rng.randrange(daemons)
            worker = fleet.kill(slot)
            last_kill = time.time()
            waits.killed(worker, last_kill)
            fleet.start(slot)                         # restarted at once
        if feeder is not None:
            feeder.join()
        while time.time() < last_kill + DONE_WITHIN + 30 and not all_done(engine):
            waits.check()
            time.sleep(0.25)
        done_at = time.time()
        waits.check()
    finally:
        fleet.stop_all()
    logs = fleet.log_text()
    figures = outcome(smtp_sink, engine, fleet.kills)
    figures.update(mails=MAILS, kills=kills, daemons=daemons, last_kill_to_done=round(done_at - last_kill, 1),
                   longest_wait_after_kill=round(waits.longest, 1), done_at_kills=waits.done_at_kills, unfinished_after_kills=len(waits.open),
                   total=round(done_at - t0, 1), unique_violation="UniqueViolation" in logs,
                   fetch_errors=logs.count("fetch loop error"), fetch_skips=logs.count("stored by another instance"),
                   error_lines=sum(" ERROR " in line for line in logs.splitlines()))
    engine.dispose()
    print("\nfigures:", {k: v for k, v in figures.items() if k != "acks_per_customer"})
    return figures


def assert_exactly_once(figures: dict) -> None:
    assert figures["rows"] == figures["cases"] == MAILS, figures
    assert figures["acks"] == MAILS and figures["dups"] == 0 and figures["losses"] == 0, figures
    assert set(figures["acks_per_customer"].values()) == {1}
    assert figures["last_kill_to_done"] <= DONE_WITHIN, figures
    assert figures["unfinished_after_kills"] == 0
    assert not figures["unique_violation"] and figures["fetch_errors"] == 0


def test_three_daemons_on_postgresql_killed_at_random(tmp_path, dovecot, smtp_sink, fresh_postgres_url):
    figures = run_scenario(tmp_path, dovecot, smtp_sink, fresh_postgres_url, daemons=3, kills=8,
                           feed_seconds=20, prefeed=False, gap=(2.0, 4.0))
    assert_exactly_once(figures)


def test_one_daemon_on_sqlite_killed_three_times_while_draining(tmp_path, dovecot, smtp_sink):
    figures = run_scenario(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}", daemons=1,
                           kills=3, feed_seconds=0, prefeed=True, gap=(0.8, 2.0))
    assert max(figures["done_at_kills"]) < MAILS          # every kill came while it was draining
    assert_exactly_once(figures)
