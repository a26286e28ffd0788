#!/usr/bin/env python3
"""The running daemon, as deployed: latency, idle CPU, stop time.

    .venv/bin/python bench/bench_daemon.py [--mails 40] [--interval 0.5] [--idle-seconds 20] [--json FILE]

What it does:

1. Starts a private Dovecot (``intake.devservers.dovecot``) and an SMTP sink
   (``intake.devservers.smtp_sink``) with a certificate of the same private CA,
   both on 127.0.0.1; writes a config for them (IMAP IDLE on), SQLite.
2. ``intake db upgrade``, then starts the daemon exactly as systemd does:
   ``python -m intake --config CFG run`` (the systemd unit runs ``intake run``).
3. Idle CPU, before: the daemon's user + system CPU time (``/proc/PID/stat``)
   over ``--idle-seconds`` with nothing to do, as a share of one core.
4. APPENDs ``--mails`` e-mail requests (copies of the e-mail-channel case
   samples, each with its own sender and Message-ID) to INBOX, one every
   ``--interval`` seconds, and measures for each: APPEND done → its
   acknowledgement stored by the SMTP sink (matched by In-Reply-To). Dovecot's
   own IDLE notice is part of that (about 0.4 s).
5. Idle CPU again, after the burst.
6. SIGTERM → the process has exited.

Targets (issue 12): p50 ≤ 1.0 s, p90 ≤ 2.0 s, idle CPU ≤ 2 % of a core, SIGTERM → exit ≤ 10 s.
Servers and the temporary folder are removed at the end, also on error (``--keep`` keeps the folder).
"""

from __future__ import annotations

import argparse
import email
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from email.policy import default as default_policy
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (REPO, REPO / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench_intake import build_corpus  # noqa: E402  (same corpus as the throughput bench)
from local_daemon import local_servers, running_daemon  # noqa: E402

TARGETS = {"p50": 1.0, "p90": 2.0, "idle_cpu_share": 0.02, "stop_seconds": 10.0}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int, seconds: float) -> float:
    """The share of one core ``pid`` used over ``seconds`` of wall time."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def acknowledgements(sink) -> dict[str, float]:
    """In-Reply-To (the request's Message-ID) → when the sink began storing the acknowledgement."""
    out = {}
    for m in sink.messages():
        msg = email.message_from_bytes(m.raw, policy=default_policy)
        if msg["Auto-Submitted"] == "auto-replied" and msg["In-Reply-To"] and m.received_at:
            out[str(msg["In-Reply-To"]).strip()] = m.received_at.timestamp()
    return out


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=default_policy)["Message-ID"]).strip()


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run(args, tmp: Path) -> dict:
    results: dict = {"mails": args.mails, "interval": args.interval, "load_before": os.getloadavg()[0],
                     "cpus": os.cpu_count()}
    with local_servers(tmp) as setup:
        corpus = build_corpus(args.mails)
        log_path = tmp / "daemon.log"
        with running_daemon(setup, log_path) as proc:
            time.sleep(3)                                  # its first passes (sweep, templates) are done
            results["idle_cpu_before"] = idle_cpu(proc.pid, args.idle_seconds)

            client = setup.dovecot.client("ssl", timeout=30)
            appended: dict[str, float] = {}
            try:
                for raw in corpus:
                    client.append("INBOX", raw)
                    appended[message_id(raw)] = time.time()
                    time.sleep(args.interval)
            finally:
                client.logout()
            end = time.monotonic() + args.timeout
            while time.monotonic() < end and len(set(acknowledgements(setup.sink)) & set(appended)) < len(appended):
                time.sleep(0.2)
            acks = acknowledgements(setup.sink)
            latencies = [acks[mid] - at for mid, at in appended.items() if mid in acks]
            results.update(acknowledged=len(latencies), latencies=latencies)
            if latencies:
                results.update(p50=statistics.median(latencies), p90=percentile(latencies, 0.9), max=max(latencies))
            time.sleep(3)
            results["idle_cpu_after"] = idle_cpu(proc.pid, args.idle_seconds)

            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                results["exit_code"] = proc.wait(60)
                results["stop_seconds"] = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                results["stop_seconds"] = None
        results["log_tail"] = log_path.read_text(errors="replace").splitlines()[-15:]
        results["load_after"] = os.getloadavg()[0]
        return results


def verdict(value, target) -> str:
    return "meets" if value is not None and value <= target else "MISSES"


def print_results(r: dict) -> bool:
    print(f"\nintake daemon benchmark — {r['mails']} mails APPENDed one every {r['interval']} s, "
          f"{r['cpus']} CPUs, load average (1 min) before {r['load_before']:.1f}, after {r.get('load_after', 0):.1f}")
    ok = r.get("acknowledged") == r["mails"]
    print(f"  acknowledged        {r.get('acknowledged', 0)}/{r['mails']}" + ("" if ok else "   FAILED"))
    if r.get("latencies"):
        print(f"  arrival → ack  p50  {r['p50']:6.3f} s   (target ≤ {TARGETS['p50']}: "
              f"{verdict(r['p50'], TARGETS['p50'])})")
        print(f"                 p90  {r['p90']:6.3f} s   (target ≤ {TARGETS['p90']}: "
              f"{verdict(r['p90'], TARGETS['p90'])})")
        print(f"                 max  {r['max']:6.3f} s")
    for key in ("idle_cpu_before", "idle_cpu_after"):
        print(f"  {key.replace('_', ' '):<19} {100 * r[key]:6.2f} % of a core   (target ≤ "
              f"{100 * TARGETS['idle_cpu_share']:.0f} %: {verdict(r[key], TARGETS['idle_cpu_share'])})")
    stop = r.get("stop_seconds")
    print(f"  SIGTERM → exit      {stop if stop is None else f'{stop:6.2f} s'}   (target ≤ {TARGETS['stop_seconds']}: "
          f"{verdict(stop, TARGETS['stop_seconds'])}), exit code {r.get('exit_code')}")
    return ok and r.get("exit_code") == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mails", type=int, default=40)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between two APPENDs (default 0.5)")
    ap.add_argument("--idle-seconds", type=float, default=20, help="length of each idle CPU window (default 20)")
    ap.add_argument("--timeout", type=float, default=120, help="how long to wait for the last acknowledgement")
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    tmp = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    os.chmod(tmp, 0o711)   # Dovecot's unprivileged processes must reach it when run as root
    try:
        results = run(args, tmp)
        ok = print_results(results)
        if not ok:
            print("--- daemon log (tail) ---\n" + "\n".join(results["log_tail"]), file=sys.stderr)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
