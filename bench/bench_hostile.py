#!/usr/bin/env python3
"""Hostile mail, two ways:

1. through ``intake inspect`` (parse + decide, OCR included): wall time and peak RSS of one
   process per mail, an ordinary sample mail as the baseline;
2. through the daemon as deployed (``intake run`` on a private Dovecot, SMTP sink and SQLite, the
   per-message budget and ``memory_mb`` on): the whole corpus is in the mailbox when it starts,
   an ordinary mail behind it; for each mail, fetch → decided (a case, quarantined or set aside
   with its reason), the ordinary mail's acknowledgement time and the daemon's peak RSS (VmHWM).

    .venv/bin/python bench/bench_hostile.py [--config config/intake.toml] [--timeout 120] [--no-daemon]

The corpus is written by tests/data/hostile/make_hostile.py into a temporary directory.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKER = ROOT / "tests" / "data" / "hostile" / "make_hostile.py"
BASELINE = ROOT / "tests" / "data" / "samples" / "sample-001.eml"


def run_one(intake: str, config: Path, mail: Path, timeout: float) -> tuple[float, int, int]:
    """(seconds, peak RSS in MB, exit status) of ``intake inspect --json MAIL``."""
    started = time.monotonic()
    proc = subprocess.Popen([intake, "--config", str(config), "inspect", "--json", str(mail)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return time.monotonic() - started, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            proc.kill()
            _pid, status, usage = os.wait4(proc.pid, 0)
            return time.monotonic() - started, usage.ru_maxrss // 1024, -9
        time.sleep(0.02)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "intake.toml")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--no-daemon", action="store_true", help="only the intake inspect table")
    ap.add_argument("--memory-mb", type=int, default=2048, help="[processing] memory_mb of the daemon")
    args = ap.parse_args()
    intake = str(Path(sys.executable).with_name("intake"))
    spec = importlib.util.spec_from_file_location("make_hostile", MAKER)
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o711)   # Dovecot's unprivileged processes must reach the daemon part's folder
        mails = [BASELINE] + maker.write_corpus(Path(tmp))
        print(f"{'mail':<26} {'size MB':>8} {'seconds':>8} {'peak RSS MB':>12} {'exit':>5}")
        worst = 0.0
        for mail in mails:
            seconds, rss, code = run_one(intake, args.config, mail, args.timeout)
            if mail != BASELINE:
                worst = max(worst, seconds)
            name = "baseline:" + mail.stem if mail == BASELINE else mail.stem
            print(f"{name:<26} {mail.stat().st_size / 1e6:>8.2f} {seconds:>8.2f} {rss:>12} {code:>5}", flush=True)
        print(f"slowest hostile mail: {worst:.2f} s (each in its own process: interpreter start included)")
        if not args.no_daemon:
            through_daemon(mails[1:], mails[0], Path(tmp), args.memory_mb, args.timeout * len(mails))
    return 0


FINAL = ("done", "quarantine", "set-aside")


def through_daemon(hostile: list[Path], ordinary: Path, tmp: Path, memory_mb: int, timeout: float) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from local_daemon import local_servers, running_daemon

    with local_servers(tmp / "daemon", extra=f"memory_mb = {memory_mb}\n") as setup:
        client = setup.dovecot.client("ssl", timeout=120)
        try:
            for mail in hostile + [ordinary]:
                client.append("INBOX", mail.read_bytes())
        finally:
            client.logout()
        started = time.monotonic()
        decided: dict[int, tuple[float, str, str]] = {}
        with running_daemon(setup, tmp / "daemon.log") as proc:
            hwm = 0
            while len(decided) < len(hostile) + 1 and time.monotonic() - started < timeout:
                hwm = max(hwm, vm_hwm_mb(proc.pid))
                for uid, stage, error in final_rows(setup.db_path):
                    decided.setdefault(uid, (time.monotonic() - started, stage, (error or "").split("\n")[0]))
                time.sleep(0.2)
            ordinary_id = ordinary_message_id(ordinary)
            while time.monotonic() - started < timeout and not acked(setup.sink, ordinary_id):
                time.sleep(0.2)
            ordinary_acked = time.monotonic() - started
            hwm = max(hwm, vm_hwm_mb(proc.pid))
        print(f"\nthrough the daemon (memory_mb = {memory_mb}), all {len(hostile) + 1} mails in the mailbox at start:")
        print(f"{'mail':<26} {'decided at s':>12}  {'stage':<11} reason")
        for uid, mail in enumerate(hostile + [ordinary], start=1):
            at, stage, reason = decided.get(uid, (float("nan"), "UNDECIDED", ""))
            name = "ordinary:" + mail.stem if mail == ordinary else mail.stem
            print(f"{name:<26} {at:>12.2f}  {stage:<11} {reason[:70]}")
        print(f"decided {len(decided)} of {len(hostile) + 1}; the ordinary mail behind them acknowledged at "
              f"{ordinary_acked:.2f} s; daemon peak RSS (VmHWM) {hwm} MB; load {os.getloadavg()[0]:.1f}")


def ordinary_message_id(mail: Path) -> str:
    import email

    return str(email.message_from_bytes(mail.read_bytes())["Message-ID"]).strip()


def acked(sink, message_id: str) -> bool:
    return any(b"auto-replied" in m.raw and message_id.encode() in m.raw for m in sink.messages())


def final_rows(db_path: Path) -> list[tuple[int, str, str | None]]:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT uid, stage, last_error FROM inbound_message WHERE stage IN (?, ?, ?)",
                                FINAL).fetchall()
    except sqlite3.OperationalError:       # not created yet, or busy: the next look
        return []


def vm_hwm_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
