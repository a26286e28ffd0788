"""Reconnecting (the retry wrapper) against a real private Dovecot (no mocks)."""

from __future__ import annotations

import logging

import pytest

from intake.adapters.imap_source import ImapSource, Reconnecting, UidValidityChanged
from intake.devservers.dovecot_config import capability_without
from intake.settings_types import ImapSettings
from tests.adapters.imap_helpers import message, settings_for
from tests.devservers_fixtures import dovecot, make_dovecot, tls_ca  # noqa: F401

pytestmark = pytest.mark.integration


def test_reconnecting_reports_uidvalidity_change_once(dovecot):  # noqa: F811
    dovecot.append("Intake", message(1))
    imap = Reconnecting(ImapSource(settings_for(dovecot, mailbox="Intake")))
    assert imap.pending_uids(0) == [1]
    uv1 = imap.uidvalidity
    imap.close()
    uv2 = dovecot.recreate_mailbox("Intake")
    with pytest.raises(UidValidityChanged) as info:
        imap.pending_uids(0)
    assert (info.value.old, info.value.new) == (uv1, uv2)
    assert imap.pending_uids(0) == []  # proceeds with the new value
    imap.close()


def test_reconnecting_move_keeps_foreign_deleted_messages(make_dovecot):  # noqa: F811
    server = make_dovecot(imap_capability=capability_without("MOVE", "UIDPLUS"))
    foreign = server.append("INBOX", message(9), flags=[b"\\Deleted"])
    ours = server.append("INBOX", message(1))
    imap = Reconnecting(ImapSource(settings_for(server)), sleep=lambda s: None)
    try:
        imap.move([ours], "처리완료")
        assert imap.pending_uids(0) == [foreign, ours]
    finally:
        imap.close()


def test_reconnecting_backoff_logs_once_per_outage(dovecot, caplog):  # noqa: F811
    dovecot.append("INBOX", message(1))
    now = [1000.0]
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        if len(slept) == 4:
            dovecot.restart()  # same ports, same mail store

    imap = Reconnecting(ImapSource(settings_for(dovecot, timeout_seconds=2)),
                        sleep=fake_sleep, clock=lambda: now[0],
                        rng=lambda: 0.5)
    assert imap.pending_uids(0) == [1]
    dovecot.kill()
    caplog.set_level(logging.DEBUG, logger="intake.imap")
    assert imap.pending_uids(0) == [1]
    assert slept == [1, 2, 4, 8]
    lost = [r for r in caplog.records if "imap connection lost" in r.message]
    restored = [r for r in caplog.records
                if "imap connection restored after 15 s" in r.message]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING
    assert len(restored) == 1
    # a second outage logs again, and backoff starts from 1 s again
    dovecot.kill()
    slept.clear()
    fake_sleep_calls = len(caplog.records)
    imap._sleep = lambda s: (slept.append(s), dovecot.restart())
    assert imap.wait_for_new(30) is True  # reconnected: check at once
    assert slept == [1]
    assert len([r for r in caplog.records[fake_sleep_calls:]
                if "imap connection lost" in r.message]) == 1
    imap.close()


def test_backoff_caps_at_max_with_jitter():
    imap = Reconnecting(ImapSource(ImapSettings()), rng=lambda: 1.0)
    delays = [imap._delay() for _ in range(10)]
    assert delays[:3] == [1.2, 2.4, 4.8]
    assert max(delays) == 60.0
    imap2 = Reconnecting(ImapSource(ImapSettings()), rng=lambda: 0.0)
    assert [imap2._delay() for _ in range(8)][-1] == 48.0  # 60 * 0.8
