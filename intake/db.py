"""Engine, transactions and schema management (Alembic).

SQLite runs in WAL mode with foreign keys on, synchronous=FULL, and every
transaction opened with BEGIN IMMEDIATE (no read→write upgrade deadlocks between
the fetcher, the runner and the sender). PostgreSQL uses psycopg 3.

Writers take turns through a gate in front of SQLite's lock: an exclusive
``flock`` on ``<database>.gate`` taken before BEGIN IMMEDIATE and released
right after COMMIT or ROLLBACK (``_GatedConnection``). A waiter is woken by the
kernel the moment the lock is free; without the gate it would sleep in SQLite's
busy handler (1, 2, 5, 10 … ms) and keep missing the short gaps between another
writer's transactions. ``flock`` locks belong to open files, so the gate works
between the threads of one process (each connection opens the file itself) and
between processes (``run --once`` sends from a forked child). A thread that
already holds the gate through another connection goes straight to SQLite's
own locking, so it never waits on itself.
"""

from __future__ import annotations

import contextlib
import fcntl
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
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


_held = threading.local()     # .connection: the connection through which this thread holds the gate
_gated: "weakref.WeakSet[_GatedConnection]" = weakref.WeakSet()


def _forget_inherited_gates() -> None:
    """In a forked child: the parent's gate files are the parent's. A child holding an inherited
    descriptor would keep the parent's lock alive after the parent died, and wait on it forever."""
    for conn in list(_gated):
        if conn._gate_fd is not None:
            os.close(conn._gate_fd)
        conn._gate_fd, conn._gate_held, conn._gate_path = None, False, None
    _held.connection = None


os.register_at_fork(after_in_child=_forget_inherited_gates)


class _GatedConnection(sqlite3.Connection):
    """An SQLite connection whose write transactions pass the file-lock gate (module docstring)."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database)
        self._gate_path = None if path in ("", ":memory:") or path.startswith("file:") else path + ".gate"
        self._gate_fd: int | None = None
        self._gate_held = False
        _gated.add(self)

    def enter_gate(self) -> None:
        if self._gate_path is None or getattr(_held, "connection", None) is not None:
            return
        if self._gate_fd is None:
            self._gate_fd = os.open(self._gate_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        fcntl.flock(self._gate_fd, fcntl.LOCK_EX)
        self._gate_held = True
        _held.connection = self

    def leave_gate(self) -> None:
        if self._gate_held:
            self._gate_held = False
            _held.connection = None
            fcntl.flock(self._gate_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_gate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_gate()
            if self._gate_fd is not None:
                os.close(self._gate_fd)
                self._gate_fd = None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
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
        gated = isinstance(dbapi_conn, _GatedConnection)
        if gated:
            dbapi_conn.enter_gate()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gated:
                dbapi_conn.leave_gate()
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
