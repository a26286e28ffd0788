"""ImapSource against a real private Dovecot on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from intake.adapters.imap_source import (
    DONE_KEYWORD, ConnectionLost, ImapAuthError, ImapSource, ImapTlsError)
from intake.devservers.certs import create_ca
from intake.devservers.dovecot_config import capability_without
from intake.settings_types import ImapSettings
from tests.adapters.imap_helpers import message, settings_for
from tests.devservers_fixtures import dovecot, make_dovecot, tls_ca  # noqa: F401

pytestmark = pytest.mark.integration

KST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture
def source(dovecot):  # noqa: F811
    src = ImapSource(settings_for(dovecot))
    src.connect()
    yield src
    src.close()


@pytest.mark.parametrize("security", ["ssl", "starttls", "none"])
def test_connect_and_select_each_security(dovecot, security):  # noqa: F811
    dovecot.append("INBOX", message(1))
    with ImapSource(settings_for(dovecot, security)) as src:
        uidvalidity, uidnext = src.select()
        assert uidvalidity > 0
        assert uidnext == 2
        assert src.pending_uids(0) == [1]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_wrong_ca_is_refused(dovecot, tmp_path, security):  # noqa: F811
    other = create_ca(tmp_path / "other-ca", common_name="someone else")
    src = ImapSource(settings_for(dovecot, security, ca_file=other.ca_file))
    with pytest.raises(ImapTlsError) as info:
        src.connect()
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert not src.connected


def test_system_trust_store_does_not_trust_private_ca(dovecot):  # noqa: F811
    # ca_file unset -> default trust store -> our private CA is not trusted
    src = ImapSource(settings_for(dovecot, "ssl", ca_file=None))
    with pytest.raises(ImapTlsError):
        src.connect()


def test_wrong_password(dovecot):  # noqa: F811
    src = ImapSource(settings_for(dovecot, password="nope"))
    with pytest.raises(ImapAuthError):
        src.connect()


def test_connection_refused_is_connection_lost(dovecot):  # noqa: F811
    settings = settings_for(dovecot)
    dovecot.kill()
    with pytest.raises(ConnectionLost):
        ImapSource(settings).connect()


def test_fetch_raw_bytes_and_internaldate(dovecot, source):  # noqa: F811
    dates = [dt.datetime(2024, 3, 1, 9, 30, 15, tzinfo=KST),
             dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc),
             dt.datetime(2025, 1, 2, 8, 0, 0, tzinfo=dt.timezone(
                 dt.timedelta(hours=-5)))]
    for i, d in enumerate(dates, 1):
        assert dovecot.append("INBOX", message(i), internaldate=d) == i
    source.fetch_batch = 2  # force several FETCH batches
    uidvalidity, _ = source.select()
    got = source.fetch([3, 1, 2, 99])  # unknown UID 99 is skipped
    assert [m.uid for m in got] == [1, 2, 3]
    for m, d, i in zip(got, dates, range(1, 4)):
        assert m.raw == message(i)
        assert m.internaldate.tzinfo is not None
        assert m.internaldate.utcoffset() == dt.timedelta(0)
        assert m.internaldate == d
        assert m.uidvalidity == uidvalidity
        assert m.mailbox == "INBOX"
        assert "\\Seen" not in m.flags  # BODY.PEEK


def test_pending_uids_filters_last_message_pitfall(dovecot, source):  # noqa: F811
    source.select()
    assert source.pending_uids(0) == []  # empty mailbox
    for i in range(1, 4):
        dovecot.append("INBOX", message(i))
    source.select()
    # the pitfall is real on this server: "4:*" matches UID 3
    assert source._c().search(["UID", "4:*"]) == [3]
    assert source.pending_uids(3) == []
    assert source.pending_uids(10) == []
    assert source.pending_uids(1) == [2, 3]
    assert source.pending_uids(0) == [1, 2, 3]


def test_recreated_mailbox_has_new_uidvalidity(dovecot):  # noqa: F811
    dovecot.append("Intake", message(1))
    settings = settings_for(dovecot, mailbox="Intake")
    with ImapSource(settings) as src:
        uv1, _ = src.select()
    uv2 = dovecot.recreate_mailbox("Intake")
    assert uv2 != uv1
    dovecot.append("Intake", message(2))
    with ImapSource(settings) as src:
        assert src.select() == (uv2, 2)


def test_recreated_inbox_has_new_uidvalidity(dovecot, source):  # noqa: F811
    dovecot.append("INBOX", message(1))
    uv1, _ = source.select()
    source.close()
    uv2 = dovecot.recreate_mailbox("INBOX")
    assert uv2 != uv1
    source.connect()
    assert source.select() == (uv2, 1)


def test_mark_done_and_reconcile(dovecot, source):  # noqa: F811
    for i in range(1, 4):
        dovecot.append("INBOX", message(i))
    source.select()
    assert source.uids_flagged_done() == []
    source.mark_done([1, 3])
    source.mark_done([])
    assert source.uids_flagged_done() == [1, 3]
    flags = {m.uid: m.flags for m in source.fetch([1, 2, 3])}
    assert DONE_KEYWORD in flags[1] and "\\Seen" in flags[1]
    assert DONE_KEYWORD not in flags[2] and "\\Seen" not in flags[2]


#: Servers a move must work on: with MOVE, without it (UIDPLUS: UID EXPUNGE),
#: and without MOVE and UIDPLUS (the copies stay flagged, nothing is expunged).
MOVE_SERVERS = {
    "move": None,
    "no-move": capability_without("MOVE"),
    "no-move-no-uidplus": capability_without("MOVE", "UIDPLUS"),
}


@pytest.fixture(params=list(MOVE_SERVERS))
def move_server(request, make_dovecot):  # noqa: F811
    return request.param, make_dovecot(imap_capability=MOVE_SERVERS[request.param])


def test_move_creates_destination_and_keeps_foreign_deleted_messages(move_server):
    kind, server = move_server
    # someone else (a mail client) flagged this one \Deleted and has not expunged yet
    foreign = server.append("INBOX", message(9, "삭제 표시"), flags=[b"\\Deleted"])
    ours = [server.append("INBOX", message(i)) for i in range(1, 4)]
    with ImapSource(settings_for(server)) as src:
        src.select()
        assert src.supports("MOVE") is (kind == "move")
        assert src.supports("UIDPLUS") is (kind != "no-move-no-uidplus")
        src.move(ours[:2], "처리완료")
        left = src.fetch(src.pending_uids(0))
        by_uid = {m.uid: m for m in left}
        assert by_uid[foreign].raw == message(9, "삭제 표시")
        assert "\\Deleted" in by_uid[foreign].flags
        if kind == "no-move-no-uidplus":
            assert sorted(by_uid) == [foreign, *ours]
            assert all("\\Deleted" in by_uid[u].flags for u in ours[:2])
            assert "\\Deleted" not in by_uid[ours[2]].flags
        else:
            assert sorted(by_uid) == [foreign, ours[2]]
        src.select("처리완료")
        moved = src.fetch(src.pending_uids(0))
        assert [m.raw for m in moved] == [message(1), message(2)]
    # the foreign message is still there for another client too
    c = server.client()
    try:
        c.select_folder("INBOX")
        assert foreign in c.search(["DELETED"])
    finally:
        c.logout()


def test_idle_wakes_on_append_from_other_connection(dovecot, source):  # noqa: F811
    source.select()
    timer = threading.Timer(0.3, dovecot.append, ("INBOX", message(1)))
    t0 = time.monotonic()
    timer.start()
    try:
        assert source.wait_for_new(15) is True
    finally:
        timer.join()
    assert time.monotonic() - t0 < 5
    assert source.pending_uids(0) == [1]


def test_idle_times_out_and_keeps_connection(dovecot):  # noqa: F811
    src = ImapSource(settings_for(dovecot), liveness_interval=0.2)
    with src:
        src.select()
        t0 = time.monotonic()
        assert src.wait_for_new(0.7) is False
        assert 0.6 < time.monotonic() - t0 < 3
        dovecot.append("INBOX", message(1))
        assert src.pending_uids(0) == [1]


def test_idle_renewal_cycles(dovecot):  # noqa: F811
    src = ImapSource(settings_for(dovecot, idle_renew_seconds=1))
    cycles = []
    orig = src._idle_cycle
    src._idle_cycle = lambda d: cycles.append(d) or orig(d)
    with src:
        src.select()
        assert src.wait_for_new(1.3) is False
    assert len(cycles) == 2 and cycles[0] == 1.0 and cycles[1] < 0.5


def test_poll_mode_sleeps_then_checks(dovecot):  # noqa: F811
    slept = []
    src = ImapSource(settings_for(dovecot, idle=False), sleep=slept.append)
    with src:
        src.select()
        assert src.wait_for_new(42) is True
    assert slept == [42]


def test_killed_server_during_idle_raises_connection_lost(dovecot, source):  # noqa: F811
    source.select()
    killer = threading.Timer(0.5, dovecot.kill)
    t0 = time.monotonic()
    killer.start()
    try:
        with pytest.raises(ConnectionLost):
            source.wait_for_new(60)
    finally:
        killer.join()
    assert time.monotonic() - t0 < 8
    assert not source.connected
    source.close()  # tolerant of the dead socket


def test_dovecot_cli_seeds_and_stops_on_sigterm(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "a.eml").write_bytes(message(1))
    (seed / "b.eml").write_bytes(message(2))
    work = Path(__import__("tempfile").mkdtemp(prefix="intake-dovecot-cli-"))
    os.chmod(work, 0o711)
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake.devservers.dovecot", "--dir",
         str(work), "--seed", str(seed)],
        stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        info = json.loads(proc.stdout.readline())
        assert info["seeded"] == 2
        settings = ImapSettings(host=info["host"], port=info["imaps_port"],
                                username=info["user"],
                                password=info["password"],
                                ca_file=Path(info["ca_file"]),
                                timeout_seconds=5)
        with ImapSource(settings) as src:
            src.select()
            assert src.pending_uids(0) == [1, 2]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        import shutil
        shutil.rmtree(work, ignore_errors=True)
