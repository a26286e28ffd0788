"""The cases search on real databases: a common word (SQLite walks the due-time index past
``SORT_LIMIT`` matches), a rare one, Korean without letter case (LIKE on PostgreSQL) and an
address with it (ILIKE), and PostgreSQL's plans staying custom once psycopg prepares the query."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bench.bench_web import case_rows
from intake.db import make_engine, upgrade
from intake.models import Case
from intake.web import search

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'intake.db'}" if request.param == "sqlite"
           else request.getfixturevalue("fresh_postgres_url"))
    eng = make_engine(url)
    upgrade(eng)
    rows = list(case_rows(search.SORT_LIMIT + 200, NOW))
    rows[7].update(subject="희귀한낱말 문의", customer_address="Hong.GilDong@Example.NET")
    with eng.begin() as conn:
        conn.execute(Case.__table__.insert(), rows)
    search.refresh_statistics(eng)
    yield eng
    eng.dispose()


def listed(engine, **params):
    with engine.connect() as conn:
        return search.list_cases(conn, search.Query.from_params(params), None, NOW)


def test_a_common_word_pages_in_due_order_and_is_counted(engine):
    with engine.connect() as conn:
        expected = conn.execute(Case.__table__.select().order_by(Case.due_at, Case.id)).all()
    expected = [r for r in expected if "서류" in f"{r.subject} {r.text}"]
    assert len(expected) > search.SORT_LIMIT, "the word is common enough for the due-index walk"
    for page in (1, 2):
        rows, total = listed(engine, q="서류", page=str(page))
        assert total == len(expected)
        assert [r.ref for r in rows] == [r.ref for r in expected[(page - 1) * 50:page * 50]]
    rows, _ = listed(engine, q="서류", sort="-due")
    assert [r.ref for r in rows] == [r.ref for r in reversed(expected)][:50]


@pytest.mark.parametrize("q", ["희귀한낱말", "희귀한낱말 문의", "hong.gildong@example.net", "HONG.GILDONG", "2026-000008"])
def test_rare_words_and_letter_case(engine, q):
    rows, total = listed(engine, q=q)
    assert [r.ref for r in rows] == ["2026-000008"] and total == 1


def test_postgresql_keeps_planning_each_search_after_psycopg_prepares_it(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    with engine.connect() as conn:
        for _ in range(12):                     # prepared after 5, generic plans after 5 more
            search.list_cases(conn, search.Query(q="존재하지않는낱말"), None, NOW)
            mode = conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
            assert mode == "force_custom_plan"
        conn.rollback()
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "auto", "this transaction only"
