"""The writer gate in front of SQLite's write lock (``intake.db.WriterGate``): queued writers go
before a yielding bulk writer, nobody waits on itself, and a forked child never keeps its parent's
place at the gate."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlalchemy import text

from intake.db import GatedConnection, WriterGate, make_engine, transaction


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE entered (id INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)"))
    yield engine
    engine.dispose()


def _entered(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT who FROM entered ORDER BY id")).scalars())


def _write(engine, who: str, *, yield_to_waiting: bool = False, hold: threading.Event | None = None,
           began: threading.Event | None = None) -> None:
    with transaction(engine, yield_to_waiting=yield_to_waiting) as session:
        session.execute(text("INSERT INTO entered (who) VALUES (:who)"), {"who": who})
        if began is not None:
            began.set()
        if hold is not None:
            assert hold.wait(10)


def _waiting_at_gate(thread: threading.Thread, seconds: float = 0.3) -> bool:
    thread.join(seconds)
    return thread.is_alive()


def test_connections_are_gated_and_files_sit_beside_the_database(engine, tmp_path):
    with engine.connect() as conn:
        assert isinstance(conn.connection.dbapi_connection, GatedConnection)
    _write(engine, "a")
    assert (tmp_path / "gate.db.gate").exists() and (tmp_path / "gate.db.gate-queue").exists()


@pytest.mark.parametrize("round_", range(3))
def test_a_yielding_writer_lets_the_queued_writer_go_first(engine, round_):
    """The process stage's pattern: commit, and at once begin again. Without the queue the bulk
    writer would take the free lock again before the waiting writer's next try."""
    release, began = threading.Event(), threading.Event()

    def bulk_writer():
        _write(engine, "bulk 1", yield_to_waiting=True, hold=release, began=began)
        _write(engine, "bulk 2", yield_to_waiting=True)

    bulk = threading.Thread(target=bulk_writer)
    bulk.start()
    assert began.wait(10)
    queued = threading.Thread(target=_write, args=(engine, "queued"))
    queued.start()
    assert _waiting_at_gate(queued)
    release.set()
    for t in (bulk, queued):
        t.join(10)
    assert _entered(engine) == ["bulk 1", "queued", "bulk 2"]


def test_a_yielding_writer_alone_does_not_wait(engine):
    t0 = time.monotonic()
    for i in range(20):
        _write(engine, f"bulk{i}", yield_to_waiting=True)
    assert len(_entered(engine)) == 20
    assert time.monotonic() - t0 < 5


def test_a_failed_transaction_leaves_the_gate(engine):
    with pytest.raises(RuntimeError):
        with transaction(engine) as session:
            session.execute(text("INSERT INTO entered (who) VALUES ('rolled back')"))
            raise RuntimeError("boom")
    other = threading.Thread(target=_write, args=(engine, "next"))
    other.start()
    other.join(10)
    assert not other.is_alive() and _entered(engine) == ["next"]


def test_a_thread_holding_the_gate_does_not_wait_on_itself(engine, tmp_path):
    """A second write transaction on another connection of the same thread goes straight to SQLite,
    whose busy timeout then reports the conflict, instead of waiting at the gate for ever."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    second = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")

    @event.listens_for(second, "connect")
    def _short_busy_timeout(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    try:
        with transaction(engine) as session:
            session.execute(text("INSERT INTO entered (who) VALUES ('outer')"))
            t0 = time.monotonic()
            with pytest.raises(OperationalError, match="locked"):
                with second.begin() as conn:
                    conn.execute(text("INSERT INTO entered (who) VALUES ('inner')"))
            assert time.monotonic() - t0 < 10
        assert _entered(engine) == ["outer"]
    finally:
        second.dispose()


def test_a_stuck_gate_holder_does_not_hold_writers_for_ever(engine, tmp_path):
    """A holder of the gate that does not come back (here: it holds the gate file's lock and no
    database lock) delays the others by the gate's timeout only; then SQLite's lock decides."""
    import fcntl

    fd = os.open(str(tmp_path / "gate.db.gate"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    old = WriterGate.timeout_seconds
    WriterGate.timeout_seconds = 0.3
    try:
        t0 = time.monotonic()
        _write(engine, "went past")
        assert 0.3 <= time.monotonic() - t0 < 5
    finally:
        WriterGate.timeout_seconds = old
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert _entered(engine) == ["went past"]


def test_a_forked_child_does_not_keep_a_dead_parents_place(engine, tmp_path):
    """A writer holding the gate forks a long-lived child and is killed: the gate is free at once
    (the child closed its copies of the gate files; a copy would keep the dead writer's lock)."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:                                             # the writer
        try:
            os.close(ready_r)
            own = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
            with own.begin() as conn:
                conn.execute(text("INSERT INTO entered (who) VALUES ('killed')"))
                grandchild = os.fork()
                if grandchild == 0:                          # its child, alive long after
                    time.sleep(30)
                    os._exit(0)
                os.write(ready_w, f"{grandchild}\n".encode())
                time.sleep(30)
        finally:
            os._exit(1)
    os.close(ready_w)
    grandchild = int(os.read(ready_r, 64).decode())
    os.close(ready_r)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        old = WriterGate.timeout_seconds
        WriterGate.timeout_seconds = 30      # a kept gate would show as a wait, not be walked past
        try:
            t0 = time.monotonic()
            _write(engine, "after")
            assert time.monotonic() - t0 < 5, "the dead writer's child kept the gate"
        finally:
            WriterGate.timeout_seconds = old
        assert _entered(engine) == ["after"]
    finally:
        os.kill(grandchild, signal.SIGKILL)


def test_postgresql_connections_have_no_gate(postgres_url):
    engine = make_engine(postgres_url)
    try:
        with transaction(engine, yield_to_waiting=True) as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
            assert not isinstance(session.connection().connection.dbapi_connection, GatedConnection)
    finally:
        engine.dispose()


def test_gate_files_of_another_user_readable_to_all_still_serve(engine, tmp_path):
    """An admin's command run as root may create the gate files first: read-only is enough."""
    for name in ("gate.db.gate", "gate.db.gate-queue"):
        (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / name).touch()
        os.chmod(tmp_path / name, 0o444)
    engine.dispose()
    _write(engine, "read-only gate")
    assert _entered(engine) == ["read-only gate"]


def test_a_gate_that_cannot_be_opened_is_passed_by(engine, tmp_path):
    engine.dispose()
    for name in ("gate.db.gate", "gate.db.gate-queue"):
        (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / name).mkdir()                  # not a file: open() fails
    _write(engine, "no gate")
    assert _entered(engine) == ["no gate"]
