#!/usr/bin/env python3
"""The console's cases list and search with many cases: p95 per request, SQLite and PostgreSQL.

    .venv/bin/python bench/bench_web.py [--cases 100000] [--repeat 20] [--db sqlite|postgresql|both]

Writes a local config (no servers: nothing is mailed), upgrades a fresh database (SQLite file, or
a new PostgreSQL database on 127.0.0.1:5432 that is dropped afterwards), inserts N cases with
Korean subjects and texts by Core ``executemany`` (the search index fills through the migration's
triggers, as with the daemon's inserts), signs an admin in with a session row, and times whole
HTTP requests through the ASGI app (Starlette TestClient: routing, queries, Jinja2 rendering):
the default list, filters, a deep page, and searches for Korean words of 2, 3 and 5 syllables,
a reference and a customer's name. Goal: p95 under 200 ms each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SUBJECTS = ["방북증명서 발급 문의", "차량 반출 승인 절차 문의", "인도적 지원 물품 기부 상담", "교류협력 사업 보조금 신청",
            "접촉 신고 수리 여부 확인", "처리 결과 통보 양식 개선 건의", "상담 예약 온라인화 제안", "자료 열람 요청",
            "협력사업 승인 변경 신고", "북한이탈주민 지원 사업 문의"]
WORDS = ["안녕하십니까", "문의드립니다", "서류", "제출", "기한", "승인", "절차", "확인", "부탁드립니다", "연락처", "단체",
         "교류", "협력", "지원", "사업", "보완", "발급", "신청서", "증명서", "담당자", "회신", "감사합니다", "개성",
         "평양", "물품", "반출", "계약", "통일부"]
FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민수", "지영", "현우", "서연", "도현", "준호", "하진", "은하", "수빈", "예린", "태윤", "가은"]
QUERIES = [("list", {}), ("list: open, one department", {"status": "open", "department": "business"}),
           ("list: overdue, due desc", {"overdue": "1", "sort": "-due"}), ("list: page 100", {"page": "100"}),
           ("search: 방북 (2 syllables)", {"q": "방북"}), ("search: 증명서 (3)", {"q": "증명서"}),
           ("search: 방북증명서 (5)", {"q": "방북증명서"}), ("search: two words", {"q": "차량 반출"}),
           ("search: reference", {"q": "2026-054321"}), ("search: customer name", {"q": "홍하진"}),
           ("search: no hit", {"q": "존재하지않는낱말"})]


def case_rows(n: int, now: datetime, seed: int = 7):
    rnd = random.Random(seed)
    deps = [("business", "kim.minsu"), ("business", "park.jiyoung"), ("support-center", "lee.seoyeon"),
            ("support-center", "han.dohyun"), ("research", "choi.junho")]
    for i in range(1, n + 1):
        dep, handler = rnd.choice(deps)
        received = now - timedelta(minutes=rnd.randint(0, 60 * 24 * 365))
        status = rnd.choices(["open", "answered", "closed"], [2, 3, 5])[0]
        name = rnd.choice(FAMILY) + rnd.choice(GIVEN)
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(20, 80)))
        yield dict(ref=f"2026-{i:06d}", status=status, channel=rnd.choice(["email", "email", "email", "fax", "post"]),
                   category=rnd.choice(["visit-certificate", "vehicle-permit", "suggestion", "general"]),
                   department=dep, handler_id=handler, subject=rnd.choice(SUBJECTS), customer_name=name,
                   customer_address=f"user{i}@example.net", customer_phone=None, customer_fax=None, language="ko",
                   pii=False, received_at=received, registered_at=received, policy="reply",
                   due_at=received + timedelta(days=3), text=text, evidence=None, task_token=None,
                   preferred_reply=None, overdue=status == "open" and rnd.random() < 0.2, answered_at=None,
                   closed_at=None)


def fill(engine, n: int, now: datetime) -> float:
    from intake.models import Case

    start = time.perf_counter()
    rows = case_rows(n, now)
    with engine.begin() as conn:
        while True:
            chunk = [r for _, r in zip(range(5000), rows)]
            if not chunk:
                break
            conn.execute(Case.__table__.insert(), chunk)       # Core executemany
    return time.perf_counter() - start


def config_for(folder: Path, url: str) -> Path:
    from intake.devservers.localconfig import LocalServers, write_local_config
    from intake.web import auth

    auth.init_secret(folder / "web-secret")
    servers = LocalServers(imap_port=9, imap_security="ssl", imap_user="u", imap_password="p", smtp_port=9,
                           smtp_security="none", ca_file=None)
    return write_local_config(folder / "config", servers, database_url=url, storage=folder / "store",
                              extra=f'[web]\nsecret_file = "{folder / "web-secret"}"\n')


def measure(url: str, n: int, repeat: int, folder: Path) -> list[tuple[str, float, float]]:
    from starlette.testclient import TestClient

    from intake.app import build_app
    from intake.db import make_engine, upgrade
    from intake.settings import load_settings
    from intake.web import auth
    from intake.web.server import create_app

    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(timezone.utc)
    print(f"  inserted {n} cases in {fill(engine, n, now):.1f} s (Core executemany, search index by triggers)")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        from intake.web.search import refresh_statistics

        refresh_statistics(engine)          # as `intake web` does when it starts
    settings = load_settings(config_for(folder, url))
    app = build_app(settings, engine=engine)
    keys = auth.keys_from(settings.web)
    with engine.begin() as conn:
        token = auth.new_session(conn, keys, "kim.minsu", 8, now)
    client = TestClient(create_app(app, keys=keys), cookies={auth.SESSION_COOKIE: token})
    out = []
    for label, params in QUERIES:
        r = client.get("/cases", params=params)
        assert r.status_code == 200, (label, r.status_code)
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            r = client.get("/cases", params=params)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        out.append((label, statistics.median(times), p95))
    engine.dispose()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    worst = 0.0
    for kind in (("sqlite", "postgresql") if args.db == "both" else (args.db,)):
        with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
            folder = Path(tmp)
            if kind == "sqlite":
                url, drop = f"sqlite:///{folder / 'intake.db'}", None
            else:
                import psycopg

                name = f"intake_bench_web_{uuid.uuid4().hex[:8]}"
                admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
                admin.execute(f'CREATE DATABASE "{name}"')
                url, drop = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name
            print(f"{kind}: {args.cases} cases")
            try:
                for label, median, p95 in measure(url, args.cases, args.repeat, folder):
                    worst = max(worst, p95)
                    print(f"  {label:<32} median {median:7.1f} ms   p95 {p95:7.1f} ms")
            finally:
                if drop:
                    admin.execute(f'DROP DATABASE "{drop}" WITH (FORCE)')
                    admin.close()
    print(f"worst p95 {worst:.1f} ms ({'under' if worst < 200 else 'OVER'} the 200 ms goal)")
    return 0 if worst < 200 else 1


if __name__ == "__main__":
    sys.exit(main())
