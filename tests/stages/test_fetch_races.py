"""Concurrent fetch is a quiet, expected case: two instances storing the same UIDs from one real
Dovecot mailbox into one database. The second one's copies are skipped (no error, no pause), the
mailbox's ``last_uid`` only grows, and moving what the other already moved is not an error."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select, text

from intake.adapters.imap_source import ImapSource
from intake.adapters.raw_store import RawStore
from intake.db import insert_or_skip, make_engine, transaction, upgrade
from intake.models import InboundMessage, MailboxState
from intake.stages.fetch import fetch_once
from tests.adapters.imap_helpers import message, settings_for
from tests.devservers_fixtures import dovecot, fresh_postgres_url, tls_ca  # noqa: F401

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path}/intake.db" if request.param == "sqlite" else request.getfixturevalue(
        "fresh_postgres_url")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def connected(server) -> ImapSource:
    src = ImapSource(settings_for(server))
    src.connect()
    return src


def rows(engine) -> list[tuple[int, int]]:
    with transaction(engine) as s:
        return [tuple(r) for r in s.execute(select(InboundMessage.uid, InboundMessage.id)
                                            .order_by(InboundMessage.uid)).all()]


def last_uid(engine) -> int:
    with transaction(engine) as s:
        return s.execute(select(MailboxState.last_uid)).scalar_one()


@pytest.mark.parametrize("first,second,stored", [
    ([{"mailbox": "INBOX", "uidvalidity": 1, "last_uid": 0}], [{"mailbox": "INBOX", "uidvalidity": 1, "last_uid": 5}], 0),
    ([{"mailbox": "INBOX", "uidvalidity": 1, "last_uid": 0}], [{"mailbox": "INBOX", "uidvalidity": 2, "last_uid": 0}], 1),
])
def test_insert_or_skip_skips_what_is_there(engine, first, second, stored):
    t = MailboxState.__table__
    with engine.begin() as conn:
        assert len(insert_or_skip(conn, t, [dict(r, updated_at=NOW) for r in first], t.c.id)) == 1
        assert len(insert_or_skip(conn, t, [dict(r, updated_at=NOW) for r in second], t.c.id)) == stored
        assert conn.execute(select(t.c.last_uid).where(t.c.uidvalidity == 1)).scalar_one() == 0


def test_an_instance_refetching_what_another_stored_skips_it_quietly(engine, dovecot, tmp_path, caplog):  # noqa: F811
    for n in range(1, 5):
        dovecot.append("INBOX", message(n))
    store = RawStore(tmp_path / "store")
    a, b = connected(dovecot), connected(dovecot)
    try:
        first = fetch_once(engine, store, a, mailbox="INBOX", processed_mailbox="", now=NOW)
        # b read last_uid before a committed: it fetches and stores the same four again
        with engine.begin() as conn:
            conn.execute(text("UPDATE mailbox_state SET last_uid = 0"))
        with caplog.at_level(logging.INFO):
            second = fetch_once(engine, store, b, mailbox="INBOX", processed_mailbox="", now=NOW)
    finally:
        a.close()
        b.close()
    assert (first.registered, second.registered, second.duplicates) == (4, 0, 4)
    assert [uid for uid, _ in rows(engine)] == [1, 2, 3, 4]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_slower_instance_committing_the_same_batch_skips_it_and_never_moves_last_uid_back(
        fresh_postgres_url, dovecot, tmp_path, caplog):  # noqa: F811
    """PostgreSQL (several instances' database): b checks which messages are known, then, just
    before b inserts, a stores the whole mailbox and commits. b's insert meets a's rows."""
    for n in range(1, 5):
        dovecot.append("INBOX", message(n))
    slow, fast = make_engine(fresh_postgres_url), make_engine(fresh_postgres_url)
    upgrade(slow)
    store = RawStore(tmp_path / "store")
    a, b = connected(dovecot), connected(dovecot)
    raced = []

    @event.listens_for(slow, "before_cursor_execute")
    def _a_commits_first(conn, cursor, statement, *args):  # noqa: ANN001
        if statement.startswith("INSERT INTO inbound_message") and not raced:
            raced.append(fetch_once(fast, store, a, mailbox="INBOX", processed_mailbox="", now=NOW))

    try:
        with caplog.at_level(logging.INFO):
            report = fetch_once(slow, store, b, mailbox="INBOX", processed_mailbox="", now=NOW, batch_size=2)
    finally:
        a.close()
        b.close()
    assert raced[0].registered == 4                      # a stored all four, last_uid 4
    assert (report.registered, report.duplicates) == (0, 4)
    assert [uid for uid, _ in rows(slow)] == [1, 2, 3, 4]
    assert last_uid(slow) == 4                           # b's batch of UIDs 1–2 did not move it back
    assert "stored by another instance" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    slow.dispose()
    fast.dispose()


def test_moving_what_another_instance_already_moved_is_quiet(dovecot):  # noqa: F811
    for n in range(1, 4):
        dovecot.append("INBOX", message(n))
    a, b = connected(dovecot), connected(dovecot)
    try:
        a.select()
        b.select()
        a.move([1, 2], "Processed")
        b.move([1, 2, 3], "Processed")          # 1 and 2 are gone: only 3 is moved, no error
        b.mark_done([1, 2])                     # nothing left to flag: no error
        assert b.pending_uids(0) == []
    finally:
        a.close()
        b.close()
