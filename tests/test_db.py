"""SQLite as intake opens it (intake/db.py): WAL, BEGIN IMMEDIATE, a busy timeout, a waiting
writer that takes the lock within milliseconds of its release."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from intake.db import begin_immediate, make_engine, transaction


def _holder(path, hold: float, began: threading.Event):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    began.set()
    time.sleep(hold)
    conn.execute("COMMIT")
    conn.close()
    return time.monotonic()


def test_pragmas_and_begin_immediate(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with transaction(engine) as s:
        conn = s.connection()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2          # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 60000
        assert conn.connection.dbapi_connection.in_transaction
    engine.dispose()


def test_a_waiting_writer_gets_the_lock_right_after_its_release(tmp_path):
    path = str(tmp_path / "x.db")
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    began = threading.Event()
    released: list[float] = []
    t = threading.Thread(target=lambda: released.append(_holder(path, 0.6, began)))
    t.start()
    began.wait(5)
    waiter = sqlite3.connect(path, isolation_level=None)
    begin_immediate(waiter)
    got = time.monotonic()
    t.join()
    waiter.execute("COMMIT")
    assert got - released[0] < 0.05, "taken within milliseconds, not after a 100 ms sleep"


def test_a_writer_gives_up_after_the_timeout(tmp_path):
    path = str(tmp_path / "x.db")
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    began = threading.Event()
    t = threading.Thread(target=_holder, args=(path, 1.5, began))
    t.start()
    began.wait(5)
    waiter = sqlite3.connect(path, isolation_level=None)
    t0 = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter, timeout=0.3)
    assert 0.25 < time.monotonic() - t0 < 1.2
    t.join()
