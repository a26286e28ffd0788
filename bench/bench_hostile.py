#!/usr/bin/env python3
"""Hostile mail through ``intake inspect`` (the deployed parse + decide path, OCR included):
wall time and peak RSS of one process per mail, an ordinary sample mail as the baseline.

    .venv/bin/python bench/bench_hostile.py [--config config/intake.toml] [--timeout 120]

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
    args = ap.parse_args()
    intake = str(Path(sys.executable).with_name("intake"))
    spec = importlib.util.spec_from_file_location("make_hostile", MAKER)
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with tempfile.TemporaryDirectory() as tmp:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
