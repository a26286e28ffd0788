"""Engine, transactions and schema management (Alembic).

SQLite runs in WAL mode (readers never wait for the writer) with foreign keys on,
synchronous=FULL, a busy timeout, and every transaction opened with BEGIN
IMMEDIATE: a writer takes the database's one write lock when it begins, so two
transactions never deadlock upgrading a read to a write. SQLite serialises the
writers; the stages keep their transactions short (the process stage commits a
small group of messages, and parses outside the transaction), and a waiting
writer tries again every few milliseconds (``begin_immediate``), so that the
fetcher and the senders get the lock between the process stage's groups. Several writers that need more than
that (more than one instance, heavy load) is what PostgreSQL is for (psycopg 3).
"""

from __future__ import annotations

import ast
import contextlib
import logging
import sqlite3
import time
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


SQLITE_BUSY_TIMEOUT_SECONDS = 60
"""How long an SQLite writer waits for the write lock before the transaction fails (and is retried)."""


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                             "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        if conn.get_execution_options().get(READ_ONLY):
            conn.connection.dbapi_connection.execute("BEGIN")     # a snapshot; WAL: writers go on
        else:
            begin_immediate(conn.connection.dbapi_connection)


def begin_immediate(dbapi_conn: sqlite3.Connection, timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> None:
    """``BEGIN IMMEDIATE``, tried again every 0.5–2 ms while another writer holds the lock, for
    up to ``timeout`` seconds. SQLite's own busy handler sleeps longer and longer (up to 100 ms)
    between tries, so a writer waiting behind the process stage's back-to-back groups kept
    missing the short gaps between them (waits of a second and more); at 2 ms it takes the next
    gap. Only BEGIN waits here: once it holds the write lock a transaction is not kept waiting
    (WAL: readers never block it)."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def insert_or_skip(conn, table, rows: list[dict], *returning):
    """``INSERT … ON CONFLICT DO NOTHING`` of ``rows`` in one statement (SQLite and PostgreSQL): a row
    another instance inserted first is skipped, not an error. Returns the inserted rows' ``returning``
    columns (skipped rows return nothing), or the result when nothing is asked back."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    stmt = dialect_insert(table).values(rows).on_conflict_do_nothing()
    if not returning:
        return conn.execute(stmt)
    return conn.execute(stmt.returning(*returning)).all()


READ_ONLY = "intake_read_only"


def read_connection(engine: Engine):
    """A connection whose transactions only read (``with read_connection(engine) as conn``): on SQLite
    a deferred ``BEGIN``, so a long report neither waits for nor holds the one write lock."""
    return engine.connect().execution_options(**{READ_ONLY: True})


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work (reports, pages, lookups): on SQLite a plain deferred ``BEGIN``, so it
    neither waits for nor holds the one write lock; whatever it changed is rolled back."""
    with read_connection(engine) as conn:
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()


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
