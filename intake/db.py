"""Engine, transactions and schema management (Alembic).

SQLite runs in WAL mode with foreign keys on, synchronous=FULL, and every
transaction opened with BEGIN IMMEDIATE (no read→write upgrade deadlocks between
the fetcher, the runner and the sender). PostgreSQL uses psycopg 3.

Threads of one process that share an SQLite engine take turns at its write
lock through a first-come-first-served gate (``_WriteGate``) before BEGIN
IMMEDIATE, released right after COMMIT/ROLLBACK. Without it a thread that finds
the database locked sleeps in SQLite's busy handler (1, 2, 5, 10 … ms) and
keeps missing the short gaps between another thread's transactions: with the
process stage and several SMTP senders writing at once, the senders spent most
of their time asleep there. Other processes still meet SQLite's own locking.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from intake.errors import IntakeError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaOutOfDate(IntakeError):
    pass


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 60, "check_same_thread": False,
                                                             "factory": _GatedConnection})
        _configure_sqlite(engine, _WriteGate())
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


GATE_TIMEOUT_SECONDS = 60
_HANDED_OVER = -1   # owner while the next waiter wakes up


class _WriteGate:
    """A lock handed to waiting threads in arrival order (``threading.Lock`` is not fair).

    A thread that already holds the gate through another connection is not made
    to wait on itself: it goes straight to SQLite's own locking, as before.
    """

    def __init__(self) -> None:
        _GATES.add(self)
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._owner: int | None = None

    def acquire(self, timeout: float = GATE_TIMEOUT_SECONDS) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                return False
            if self._owner is None and not self._waiters:
                self._owner = me
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        got = waiter.acquire(timeout=timeout)
        with self._mutex:
            if not got:
                try:
                    self._waiters.remove(waiter)
                    return False          # timed out: SQLite's busy timeout decides from here
                except ValueError:
                    pass                  # handed over just as the wait ran out
            self._owner = me
            return True

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._owner = _HANDED_OVER             # not the releasing thread's any more
                self._waiters.popleft().release()   # straight to the next in line
            else:
                self._owner = None


_GATES: "weakref.WeakSet[_WriteGate]" = weakref.WeakSet()


def _reset_gates_in_child() -> None:
    # A forked child has only the forking thread: no one in it holds or waits for a gate.
    for gate in list(_GATES):
        gate.__init__()


os.register_at_fork(after_in_child=_reset_gates_in_child)


class _GatedConnection(sqlite3.Connection):
    """Releases its engine's write gate when its transaction ends, however it ends."""

    gate: _WriteGate | None = None
    holds_gate = False

    def _release_gate(self) -> None:
        if self.holds_gate:
            self.holds_gate = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_gate()


def _configure_sqlite(engine: Engine, gate: _WriteGate | None = None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        if isinstance(dbapi_conn, _GatedConnection):
            dbapi_conn.gate = gate
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        dbapi_conn = conn.connection.dbapi_connection
        gated = isinstance(dbapi_conn, _GatedConnection) and dbapi_conn.gate is not None
        if gated and not dbapi_conn.holds_gate:
            dbapi_conn.holds_gate = dbapi_conn.gate.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gated:
                dbapi_conn._release_gate()
            raise


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing (empty database)'}, code needs {head}: run `intake db upgrade`"
        )
