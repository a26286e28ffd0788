"""Engine, transactions and schema management (Alembic).

SQLite runs in WAL mode with foreign keys on, synchronous=FULL, and every
transaction opened with BEGIN IMMEDIATE (no read→write upgrade deadlocks between
the fetcher, the runner and the sender). PostgreSQL uses psycopg 3.

On SQLite, writers queue at a gate in front of the database's one write lock
(``WriterGate``). SQLite itself makes a waiting writer poll (its busy handler
sleeps 1, 2, 5 … 100 ms between tries), so a writer that commits and at once
begins again, as the process stage does group after group, keeps winning the
lock, and the fetcher's and the senders' short transactions starve behind it
for seconds. At the gate a waiter takes the lock within 2 ms of its release,
and the bulk writer (``transaction(…, yield_to_waiting=True)``)
lets every writer already queued go first. The gate is advisory: SQLite's own
lock still guards the data, and a writer that does not pass the gate (another
program) is merely not queued.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from intake.errors import IntakeError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

log = logging.getLogger("intake.db")


class SchemaOutOfDate(IntakeError):
    pass


def make_engine(url: str, *, echo: bool = False, synced_commits: bool = True) -> Engine:
    """``synced_commits=False`` (SQLite only): this engine's commits are not fsynced themselves
    (``synchronous=NORMAL``). In WAL mode they survive a crash of the process at once, and a power
    loss once the next synced commit of any connection (or a checkpoint) has written the log
    after them. Only for writers whose lost commits are safe to redo (the senders')."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 60, "check_same_thread": False,
                                                             "factory": GatedConnection})
        _configure_sqlite(engine, "FULL" if synced_commits else "NORMAL")
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, synchronous: str = "FULL") -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        gate = conn.connection.dbapi_connection.gate        # a GatedConnection (make_engine)
        gate.enter(yield_to_waiting=getattr(_policy, "yield_to_waiting", False))
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.leave()
            raise


_policy = threading.local()     # .yield_to_waiting: set by ``transaction(…, yield_to_waiting=True)``
_held = threading.local()       # .gate: the gate this thread holds (through any of its connections)


class WriterGate:
    """The queue in front of one SQLite database's write lock (module docstring).

    Two lock files beside the database, each opened by this gate alone (``flock`` locks belong to
    an open file, so gates of two threads or two processes exclude each other): ``<db>.gate``,
    held exclusively from BEGIN to COMMIT/ROLLBACK, and ``<db>.gate-queue``, held shared by a
    writer while it waits for the gate. A writer that yields takes the queue exclusively first,
    which it gets only when no one is waiting, and lets it go at once.

    A thread that holds the gate already (through another connection) does not wait for it
    again: it would wait on itself.
    """

    timeout_seconds = 60.0
    """How long a writer waits at the gate (as long as SQLite's own busy timeout) before it goes
    on to SQLite's lock without it."""

    def __init__(self, database_path: str | None):
        """``database_path`` None (an in-memory database, which no other connection shares): no gate."""
        self.path = database_path + ".gate" if database_path else None
        self.queue_path = database_path + ".gate-queue" if database_path else None
        self._fds: tuple[int, int] | None = None
        self.held = False
        self.unusable = database_path is None

    def _open(self) -> tuple[int, int] | None:
        """The two lock files, opened read-only (``flock`` needs no more, and files another user
        created, readable to all, still serve); None, with a warning, when they cannot be opened:
        then this connection goes to SQLite's own lock as if there were no gate."""
        if self._fds is None and not self.unusable:
            flags = os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC
            try:
                gate = os.open(self.path, flags, 0o644)
                try:
                    queue = os.open(self.queue_path, flags, 0o644)
                except BaseException:
                    os.close(gate)
                    raise
            except OSError as exc:     # said once: the connection does not try again
                log.warning("- database writer gate %s cannot be opened (%s); writers wait at SQLite's "
                            "own lock instead", self.path, exc)
                self.unusable = True
                return None
            self._fds = (gate, queue)
        return self._fds

    def enter(self, *, yield_to_waiting: bool = False) -> None:
        holding = getattr(_held, "gate", None)
        if holding is not None and holding.held:
            return
        fds = self._open()
        if fds is None:
            return
        gate, queue = fds
        deadline = time.monotonic() + self.timeout_seconds
        if yield_to_waiting:
            if _flock_by(queue, fcntl.LOCK_EX, deadline):    # granted once every queued writer has the gate
                fcntl.flock(queue, fcntl.LOCK_UN)
            entered = _flock_by(gate, fcntl.LOCK_EX, deadline)
        else:
            queued = _flock_by(queue, fcntl.LOCK_SH, deadline)   # "I am waiting": a yielding writer lets me go first
            try:
                entered = _flock_by(gate, fcntl.LOCK_EX, deadline)
            finally:
                if queued:
                    fcntl.flock(queue, fcntl.LOCK_UN)
        if not entered:
            # A writer that holds the gate this long is stuck (stopped, or waiting on something else):
            # go on to SQLite's own lock, whose busy timeout then decides, as it did without the gate.
            log.warning("- database writer gate %s not free after %.0f s; waiting at SQLite's lock instead",
                        self.path, self.timeout_seconds)
            return
        self.held = True
        _held.gate = self

    def leave(self) -> None:
        if self.held:
            self.held = False
            _held.gate = None
            fcntl.flock(self._fds[0], fcntl.LOCK_UN)

    def close(self) -> None:
        self.leave()
        self.forget()

    def forget(self) -> None:
        """Close the lock files without unlocking (a forked child's copies: the locks are the parent's)."""
        fds, self._fds = self._fds, None
        self.held = False
        for fd in fds or ():
            os.close(fd)


def _flock_by(fd: int, operation: int, deadline: float) -> bool:
    """``flock(fd, operation)``, waiting until ``deadline`` (``time.monotonic()``) at the most.
    ``flock`` itself cannot time out, so a waiter tries again every 0.2 ms at first, then every
    2 ms: a freed lock is taken within 2 ms, and a stuck holder cannot hold a waiter for ever."""
    delay = 0.0002
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
        time.sleep(delay)
        delay = min(delay * 2, 0.002)


class GatedConnection(sqlite3.Connection):
    """An SQLite connection whose write transactions pass its database's ``WriterGate``."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database)
        self.gate = WriterGate(None if path in ("", ":memory:") or path.startswith("file:") else path)
        _gated.add(self)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.gate.leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.gate.leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.gate.close()


_gated: "weakref.WeakSet[GatedConnection]" = weakref.WeakSet()


def _forget_inherited_gates() -> None:
    """In a forked child: the parent's connections and their gate files are the parent's. A child
    holding such a descriptor open would keep the parent's lock alive after the parent died."""
    for conn in list(_gated):
        conn.gate.forget()
    _held.gate = None


os.register_at_fork(after_in_child=_forget_inherited_gates)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def transaction(engine: Engine, *, yield_to_waiting: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    ``yield_to_waiting``: a long or back-to-back writer (the process stage's groups) lets the
    writers waiting at the SQLite gate go first (``WriterGate``); no effect on PostgreSQL."""
    with Session(engine, expire_on_commit=False) as session:
        _policy.yield_to_waiting = yield_to_waiting
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            _policy.yield_to_waiting = False


def alembic_config(engine: Engine):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    """The newest migration, as Alembic reads the migration scripts."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not set up). Plain SQL on Alembic's own table, so that
    the check before every run does not load Alembic (a fifth of the start-up's imports)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise SchemaOutOfDate(f"the database has {len(versions)} schema heads ({', '.join(versions)}): "
                              "it was not set up by `intake db upgrade`")
    return versions[0] if versions else None


def schema_head(versions_dir: Path = MIGRATIONS_DIR / "versions") -> str:
    """The newest migration, read from the ``revision``/``down_revision`` assignments of the scripts in
    ``migrations/versions`` without loading Alembic (``head_revision`` is Alembic's answer, and the
    tests hold the two equal). The migrations form one line: exactly one revision is nobody's parent."""
    revisions: dict[str, str | None] = {}
    for path in sorted(versions_dir.glob("*.py")):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in ("revision", "down_revision") and isinstance(node.value, ast.Constant)):
                found[node.targets[0].id] = node.value.value
        if isinstance(found.get("revision"), str):
            revisions[found["revision"]] = found.get("down_revision")  # type: ignore[assignment]
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise SchemaOutOfDate(f"the migrations in {versions_dir} have {len(heads)} heads "
                              f"({', '.join(sorted(heads)) or 'none'}), not one")
    return heads.pop()


def require_current_schema(engine: Engine) -> None:
    current, head = current_revision(engine), schema_head()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing (empty database)'}, code needs {head}: run `intake db upgrade`"
        )
