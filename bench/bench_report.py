"""Benchmark ``intake report`` on a generated year of cases (default 100,000) on SQLite.

    .venv/bin/python bench/bench_report.py --n 100000 [--format html|json|csv] [--keep DIR]

Generates realistic rows (cases on business days, their clocks with holds and extensions, the audit
events every case gets, acknowledgements and replies in the outbox, surveys, suggestion decisions)
with Core ``executemany``, then times the deployed CLI path (``python -m intake report``, a child
process) and its peak memory, against a baseline measured in the same run: a child that only
SELECTs the same rows with the sqlite3 module. Targets: < 10 s and < 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402

from intake.db import make_engine  # noqa: E402
from intake.devservers.localconfig import LocalServers, write_local_config  # noqa: E402
from intake.domain.clocks import encode_pauses  # noqa: E402
from intake.models import AuditEvent, Case, CaseClock, Outbox, Survey, TemplateVersion  # noqa: E402

KST = timezone(timedelta(hours=9))
CATEGORIES = [("information", "business", "reply"), ("consulting-trade", "business", "reply"),
              ("trade-approval-review", "support-center", "review"), ("visit-certificate", "support-center", "reply"),
              ("correction-request", "business", "correction"), ("suggestion", "business", "reply"),
              ("training", "research", "reply")]
CHANNELS = ["email"] * 8 + ["fax", "post"]
CHUNK = 20_000


def business_moment(rng: random.Random, year: int) -> datetime:
    while True:
        day = datetime(year, 1, 2, tzinfo=KST) + timedelta(days=rng.randrange(360))
        if day.weekday() < 5:
            return day.replace(hour=rng.choice((9, 10, 11, 13, 14, 15, 16, 17)), minute=rng.randrange(60))


def generate(n: int, year: int, seed: int = 13):
    """Yield (table, rows) chunks; ids are assigned here so the rows refer to each other."""
    rng = random.Random(seed)
    cases, clocks, events, mails, surveys = [], [], [], [], []
    for i in range(1, n + 1):
        category, department, policy = rng.choice(CATEGORIES)
        channel = rng.choice(CHANNELS)
        policy = "phone-call" if channel == "post" else policy
        received = business_moment(rng, year)
        days = {"review": 9, "correction": 4}.get(policy, 3)
        due = received + timedelta(days=days)
        took = timedelta(hours=rng.choice((2, 5, 20, 30, 50, 70, 120)))
        answered = received + took if rng.random() < 0.93 else None
        status = "answered" if answered else "open"
        cases.append(dict(id=i, ref=f"{year}-{i:06d}", status=status, channel=channel, category=category,
                          department=department, handler_id="kim", subject=f"문의 {i}", customer_name="고객",
                          customer_address=f"c{i}@example.org", language="ko", pii=False, received_at=received,
                          registered_at=received, policy=policy, due_at=due, text="", overdue=False,
                          answered_at=answered))
        pauses = [[received + timedelta(days=1), received + timedelta(days=3)]] if policy == "review" and i % 3 == 0 else []
        ext = (due + timedelta(days=5)).date().isoformat() if i % 17 == 0 else None
        clocks.append(dict(case_id=i, policy=policy, state="met" if answered else "running", started_at=received,
                           due_at=due, stopped_at=answered, pauses=encode_pauses(pauses), extension_date=ext,
                           extension_reason="자료 보완" if ext else None, created_at=received))
        for ev in ("registered", "classified", "routed", "deadline", "clock-started", "acknowledgement-queued"):
            events.append(dict(case_id=i, at=received, actor="system", event=ev, detail='{"ref": "x"}'))
        mails.append(_mail(i, "acknowledgement", received))
        if answered:
            events.append(dict(case_id=i, at=answered, actor="kim", event="answered",
                               detail=json.dumps({"how": "relayed", "working_hours_to_answer": took.total_seconds() / 3600 / 3})))
            mails.append(_mail(i, "reply-relay", answered))
            if i % 4 == 0:
                score = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
                surveys.append(dict(case_id=i, token=f"t{i}", recipient=f"c{i}@example.org", state="answered",
                                    sent_at=answered + timedelta(days=1), expires_at=answered + timedelta(days=15),
                                    score=score, comment="좋았습니다" if score > 3 else "늦었습니다",
                                    answered_at=answered + timedelta(days=2), answered_via="reply"))
        if category == "suggestion" and i % 2 == 0:
            events.append(dict(case_id=i, at=received + timedelta(days=5), actor="kim", event="decided",
                               detail=json.dumps({"outcome": "채택", "reason": "반영"}, ensure_ascii=False)))
        if i % CHUNK == 0 or i == n:
            yield from ((Case, cases), (CaseClock, clocks), (AuditEvent, events), (Outbox, mails), (Survey, surveys))
            cases, clocks, events, mails, surveys = [], [], [], [], []


def _mail(case_id: int, purpose: str, at: datetime) -> dict:
    return dict(case_id=case_id, purpose=purpose, message_id=f"<{purpose}-{case_id}@bench>", mail_from="a@b",
                rcpt_to=f"c{case_id}@example.org", raw=b"x" * 2000, template=purpose, template_version="v1",
                status="sent", attempts=1, next_attempt_at=at, created_at=at, sent_at=at)


def build(folder: Path, n: int, year: int) -> Path:
    servers = LocalServers(imap_port=1, imap_security="ssl", imap_user="u", imap_password="p", smtp_port=1,
                           smtp_security="starttls", ca_file=None)
    url = f"sqlite:///{folder / 'intake.db'}"
    config = write_local_config(folder / "config", servers, database_url=url, storage=folder / "store")
    subprocess.run([sys.executable, "-m", "intake", "--config", str(config), "db", "upgrade"], check=True,
                   capture_output=True)
    engine = make_engine(url)
    with engine.begin() as conn:
        for name in ("acknowledgement", "reply-relay"):
            conn.execute(insert(TemplateVersion.__table__), [dict(name=name, version="v1", first_used_at=datetime(
                year, 1, 1, tzinfo=KST), content="담당자 {{ handler.name }}")])
        for model, rows in generate(n, year):
            if rows:
                conn.execute(insert(model.__table__), rows)
    engine.dispose()
    return config


BASELINE = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = 0
for q in ("select id, ref, channel, category, department, status, received_at, answered_at, closed_at from intake_case",
          "select case_id, policy, state, started_at, due_at, stopped_at, pauses, extension_date from case_clock",
          "select case_id, at, event, detail from audit_event where event in ('answered', 'decided')",
          "select case_id, purpose, template, template_version, created_at, status from outbox",
          "select case_id, sent_at, state, score, comment from survey"):
    rows = c.execute(q).fetchall()
    n += len(rows)
print(n)
"""


def peak_child(cmd: list[str]) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(cmd[:5])} failed: {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--format", choices=("html", "json", "csv"), default="html")
    ap.add_argument("--keep", type=Path, help="build the database here and keep it")
    ap.add_argument("--reuse", action="store_true", help="with --keep: use the database built there before")
    args = ap.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.reuse and (folder / "intake.db").exists():
        config = folder / "config" / "intake.toml"
        print(f"reusing {folder / 'intake.db'}")
    else:
        config = build(folder, args.n, args.year)
    print(f"generated {args.n} cases in {time.perf_counter() - t0:.1f} s ({folder / 'intake.db'}, "
          f"{(folder / 'intake.db').stat().st_size / 1e6:.0f} MB)")
    base_wall, base_mb, rows = peak_child([sys.executable, "-c", BASELINE, str(folder / "intake.db")])
    print(f"baseline  plain SELECT of the same rows ({rows.strip()} rows): {base_wall:6.2f} s  peak {base_mb:6.1f} MB")
    out = folder / f"report.{args.format}"
    cmd = [sys.executable, "-m", "intake", "--config", str(config), "report", "--from", f"{args.year}-01-01",
           "--to", f"{args.year}-12-31", "--format", args.format, "--out", str(out),
           "--as-of", f"{args.year}-12-31T18:00+09:00"]
    wall, mb, _ = peak_child(cmd)
    ok = wall < 10 and mb < 200
    print(f"intake report --format {args.format}: {wall:6.2f} s  peak {mb:6.1f} MB  "
          f"({wall / base_wall:.1f}x the baseline's time)  {'within' if ok else 'OVER'} the 10 s / 200 MB target")
    print(f"report: {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
