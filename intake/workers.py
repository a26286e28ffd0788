"""Who holds a claim, and whether it is still alive: several instances, crashed ones taken over at once.

Every running process (``App.worker_id``, ``host:pid``) has a row in ``intake_worker``
that a ``Heartbeat`` thread refreshes every ``HEARTBEAT_SECONDS`` (the daemon, and
``run --once`` too: a long run must not look dead). A claim records its worker
(``claimed_by``). A claim is free when it expired, OR its worker has no row, OR
the row was not refreshed for ``STALE_SECONDS`` (a daemon on another host that
died). Each beat also removes the rows of dead workers: on its own host a worker
whose pid is gone is dead at once (pids are only meaningful per host); elsewhere
one stale for ``STALE_SECONDS``. Their claims are then free, and the beat tells
its owner so that the steps look at once instead of at their next poll. A process
that starts does the same, so a daemon restarted by systemd's ``Restart=`` takes
its killed predecessor's work back at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import and_, case, delete, insert, or_, select, update

from intake.models import InboundMessage, Worker

log = logging.getLogger("intake.workers")

HEARTBEAT_SECONDS = 2
STALE_SECONDS = 10


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # alive, someone else's
        return True
    return True


def register(engine, worker_id: str, now: datetime) -> int:
    """Add this process's row; drop the rows of dead processes on this host. Returns how many
    dead workers' claims were freed by that."""
    host = socket.gethostname()
    w = Worker.__table__
    with engine.begin() as conn:
        local = conn.execute(select(w.c.id, w.c.pid).where(w.c.host == host)).all()
        dead = [wid for wid, pid in local if wid == worker_id or not _pid_alive(pid)]
        if dead:
            conn.execute(delete(w).where(w.c.id.in_(dead)))
        conn.execute(insert(w).values(id=worker_id, host=host, pid=os.getpid(), started_at=now, heartbeat_at=now))
    gone = [wid for wid in dead if wid != worker_id]
    if gone:
        log.info("- took back the claims of %d dead worker(s) on this host: %s", len(gone), ", ".join(gone))
    return len(gone)


def beat(engine, worker_id: str, now: datetime) -> int:
    """Refresh this process's sign of life (re-adding the row if another instance removed it), and
    remove dead workers' rows. Returns how many were removed (their claims are free now)."""
    w = Worker.__table__
    host = socket.gethostname()
    with engine.begin() as conn:
        if conn.execute(update(w).where(w.c.id == worker_id).values(heartbeat_at=now)).rowcount == 0:
            conn.execute(insert(w).values(id=worker_id, host=host, pid=os.getpid(),
                                          started_at=now, heartbeat_at=now))
        others = conn.execute(select(w.c.id, w.c.host, w.c.pid, w.c.heartbeat_at).where(w.c.id != worker_id)).all()
        stale = now - timedelta(seconds=STALE_SECONDS)
        dead = [wid for wid, whost, pid, at in others
                if (not _pid_alive(pid) if whost == host else _aware(at) < stale)]
        if dead:
            conn.execute(delete(w).where(w.c.id.in_(dead)))
    if dead:
        log.info("- worker(s) %s are gone: their claims are free", ", ".join(dead))
    return len(dead)


def _aware(at: datetime) -> datetime:
    # SQLite gives naive datetimes back (stored as UTC)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


class Heartbeat:
    """A thread that calls ``beat`` every ``every`` seconds until ``stop``; ``on_freed`` is called
    when a beat removed dead workers (the daemon wakes its steps). A failing beat is logged and
    tried again at the next one (a database restart must not end the daemon's sign of life)."""

    def __init__(self, engine, worker_id: str, now: Callable[[], datetime], *, every: float = HEARTBEAT_SECONDS,
                 on_freed: Callable[[], None] | None = None):
        self.engine, self.worker_id, self.now, self.every, self.on_freed = engine, worker_id, now, every, on_freed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if beat(self.engine, self.worker_id, self.now()) and self.on_freed:
                    self.on_freed()
            except Exception as exc:     # noqa: BLE001 - logged; the next beat tries again
                log.warning("- heartbeat failed: %s", exc)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def retire(engine, worker_id: str) -> None:
    """At a clean exit: release this process's inbound claims and remove its row."""
    w, t = Worker.__table__, InboundMessage.__table__
    with engine.begin() as conn:
        # given back unstarted: not a death (intake.claims counts those)
        conn.execute(update(t).where(t.c.claimed_by == worker_id).values(
            claimed_until=None, claimed_by=None,
            claim_count=case((t.c.claim_count > 0, t.c.claim_count - 1), else_=0)))
        conn.execute(delete(w).where(w.c.id == worker_id))


def claim_is_free(table, now: datetime):
    """SQL: this row's claim (if any) can be taken: expired, or its worker is dead or unknown."""
    w = Worker.__table__
    live = select(w.c.id).where(w.c.heartbeat_at >= now - timedelta(seconds=STALE_SECONDS))
    return or_(table.c.claimed_until.is_(None), table.c.claimed_until < now,
               and_(table.c.claimed_by.is_not(None), table.c.claimed_by.not_in(live.scalar_subquery())))

