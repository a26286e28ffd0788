"""Who holds a claim, and whether it is still alive: several instances, crashed ones taken over at once.

Every running process (``App.worker_id``, ``host:pid``) has a row in ``intake_worker``
that it refreshes every ``HEARTBEAT_SECONDS``. A claim records its worker
(``claimed_by``). A claim is free when it expired, OR its worker has no row, OR
the row was not refreshed for ``STALE_SECONDS`` (a daemon on another host that
died). A process that starts removes the rows of dead processes on its own host
(their pid is gone: a restart by systemd's ``Restart=``), so a killed daemon's
claims are taken back the moment it is restarted, not when they expire.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, insert, or_, select, update

from intake.models import InboundMessage, Worker

log = logging.getLogger("intake.workers")

HEARTBEAT_SECONDS = 5
STALE_SECONDS = 30


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


def beat(engine, worker_id: str, now: datetime) -> None:
    """Refresh this process's sign of life (re-adding the row if another instance removed it)."""
    w = Worker.__table__
    with engine.begin() as conn:
        if conn.execute(update(w).where(w.c.id == worker_id).values(heartbeat_at=now)).rowcount == 0:
            conn.execute(insert(w).values(id=worker_id, host=socket.gethostname(), pid=os.getpid(),
                                          started_at=now, heartbeat_at=now))


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

