"""The daemon under a fake systemd: READY, WATCHDOG from the loops' progress, STOPPING; metrics
and /healthz scraped while it runs; /healthz fails when a loop stops completing cycles."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from intake.ops_runtime import OpsRuntime, Progress
from intake.adapters.sd_notify import SdNotifier
from tests.e2e.harness import REPO, make_env, sample_bytes, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _metric(text: str, line_start: str) -> float:
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(line_start))


def test_daemon_notifies_systemd_and_serves_metrics(tmp_path, dovecot, smtp_sink):
    port = _free_port()
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra=f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
    env.append(sample_bytes("sample-001.eml"))
    notify_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(0.5)
    received: list[str] = []

    def drain() -> None:
        try:
            while True:
                received.extend(sock.recv(4096).decode().split("\n"))
        except (socket.timeout, BlockingIOError):
            pass

    proc = subprocess.Popen([sys.executable, "-m", "intake", "--config", str(env.config), "run"], cwd=str(REPO),
                            env={**__import__("os").environ, "NOTIFY_SOCKET": notify_path},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: drain() or "READY=1" in received, 60), received
        assert wait_for(lambda: drain() or received.count("WATCHDOG=1") >= 2, 60), received
        assert received.index("READY=1") < received.index("WATCHDOG=1")
        assert wait_for(lambda: "intake_cases{" in _get(f"http://127.0.0.1:{port}/metrics")[1]
                        and len(smtp_sink.messages()) >= 2, 60)
        status, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert _metric(text, 'intake_cases{channel="email"') == 1
        assert _metric(text, 'intake_messages{kind="case",stage="done"}') == 1
        assert 'intake_errors_total{server="imap"} 0.0' in text
        assert _metric(text, "intake_outbox_retrying ") == 0
        for name in ("intake_outbox_oldest_unsent_seconds", "intake_set_aside_messages", "intake_clocks_open",
                     "intake_processing_seconds_bucket", "intake_ack_latency_seconds_bucket",
                     "intake_ocr_page_seconds_bucket", "intake_oldest_pending_message_seconds"):
            assert name in text, name
        (tmp_path / "metrics-scrape.txt").write_text(text)
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(body)["ok"] is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        drain()
        assert "STOPPING=1" in received
        (tmp_path / "notify.txt").write_text("\n".join(received))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_watchdog_only_while_every_loop_progresses_and_healthz_fails_when_stale(tmp_path):
    from intake.app import build_app
    from intake.db import upgrade
    from intake.devservers.localconfig import offline_config
    from intake.metrics import serve
    from intake.settings import load_settings

    path = str(tmp_path / "n.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    clock = FakeClock()
    ops = OpsRuntime(notifier=SdNotifier(path), progress=Progress(clock=clock, started=clock.t))

    def messages() -> list[str]:
        out = []
        while True:
            try:
                out += sock.recv(4096).decode().split("\n")
            except BlockingIOError:
                return out

    ops.tick("send")
    assert messages() == [], "not ready before the mailbox is open; no watchdog while fetch has not ticked"
    ops.tick("fetch")
    assert messages() == ["READY=1", "STATUS=mailbox open, loops running", "WATCHDOG=1"]
    for _ in range(3):
        ops.tick("send")          # the fetch loop hangs: the send loop alone never pings
    assert messages() == []
    ops.tick("fetch")
    assert messages() == ["WATCHDOG=1"]

    app = build_app(load_settings(offline_config(tmp_path)))
    upgrade(app.engine)
    port = _free_port()
    server = serve(app, ops, f"127.0.0.1:{port}", stale_seconds=60)
    try:
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        clock.t += 61
        ops.tick("send")
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and list(json.loads(body)["stale_loops"]) == ["fetch"]
        ops.stopping()
        assert messages() == ["STOPPING=1", "STATUS=stopping"]
    finally:
        server.shutdown()
        server.server_close()
        app.engine.dispose()
        sock.close()


def test_server_errors_are_counted_by_server(tmp_path):
    """A send pass whose mail the SMTP server deferred or refused counts as SMTP errors; none counts nothing."""
    from prometheus_client import generate_latest

    ops = OpsRuntime(notifier=SdNotifier(""))    # no notify socket
    for server, count in (("smtp", 2), ("smtp", 0), ("imap", 1), ("smtp", 1)):
        ops.error(server, count)
    text = generate_latest(ops.registry).decode()
    assert 'intake_errors_total{server="smtp"} 3.0' in text
    assert 'intake_errors_total{server="imap"} 1.0' in text
