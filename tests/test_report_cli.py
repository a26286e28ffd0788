"""``intake report`` over a real SQLite database holding the constructed set: json contract, csv, disclosure,
and agreement with ``intake cases show``."""

from __future__ import annotations

import csv
import io
import json
import re

from tests.domain.test_report import EXPECTED
from tests.report_fixtures import constructed_at, constructed_config, intake_cli  # noqa: F401 (fixture)

PERIOD = ("--from", "2026-12-01", "--to", "2026-12-31", "--as-of", "2026-12-11T12:00+09:00")


def test_json_matches_the_contract_and_the_hand_computed_figures(constructed_config):
    out = json.loads(intake_cli(constructed_config, "report", *PERIOD, "--format", "json").stdout)
    assert out["period"] == {"from": "2026-12-01", "to": "2026-12-31"}
    for clause in out["clauses"]:
        assert set(clause) >= {"id", "promise", "cases", "on_time", "late", "open_overdue", "rate"}
        assert isinstance(clause["promise"], str) and clause["promise"]
    got = [(c["id"], c["cases"], c["on_time"], c["late"], c["open_overdue"], c["open"], c["rate"])
           for c in out["clauses"]]
    assert got == [tuple(row) for row in EXPECTED]
    assert out["survey"] == {"sent": 4, "answered": 3, "scores": [0, 1, 0, 1, 1], "mean": 3.67,
                             "comments": [{"ref": "2026-00001", "score": 5, "comment": "친절했습니다"},
                                          {"ref": "2026-00002", "score": 2, "comment": "늦었습니다"}]}
    assert [(s["ref"], s["outcome"]) for s in out["suggestions"]] == [("2026-00004", "채택"), ("2026-00013", "심사 중")]
    assert out["first_answer_hours"] == {"count": 4, "median": 25.0, "p90": 68.0}
    review = next(c for c in out["clauses"] if c["id"] == "review")
    assert review["excluded_hours"] == 32.0


def test_the_same_figures_on_postgresql(tmp_path, fresh_postgres_url):
    config = constructed_at(tmp_path, fresh_postgres_url)
    out = json.loads(intake_cli(config, "report", *PERIOD, "--format", "json").stdout)
    got = [(c["id"], c["cases"], c["on_time"], c["late"], c["open_overdue"], c["open"], c["rate"])
           for c in out["clauses"]]
    assert got == [tuple(row) for row in EXPECTED]
    assert out["survey"]["scores"] == [0, 1, 0, 1, 1] and out["first_answer_hours"]["median"] == 25.0


def test_overdue_due_agrees_with_cases_show(constructed_config):
    out = json.loads(intake_cli(constructed_config, "report", *PERIOD, "--format", "json").stdout)
    for row in out["overdue"]:
        shown = intake_cli(constructed_config, "cases", "show", row["ref"]).stdout
        due = row["due"][:16].replace("T", " ")
        lines = [ln for ln in shown.splitlines() if ln.strip().startswith("clock ") and f"due {due}" in ln]
        assert lines, f"{row['ref']}: report due {due} not in cases show:\n{shown}"


def test_filters_on_the_command_line(constructed_config):
    out = json.loads(intake_cli(constructed_config, "report", *PERIOD, "--format", "json",
                                "--department", "support-center").stdout)
    assert out["requests"] == 3 and out["filters"] == {"department": "support-center"}
    out = json.loads(intake_cli(constructed_config, "report", *PERIOD, "--format", "json", "--channel", "fax").stdout)
    assert out["requests"] == 1


def test_csv_has_korean_headers_bom_and_a_row_per_clause_and_month(constructed_config, tmp_path):
    path = tmp_path / "r.csv"
    intake_cli(constructed_config, "report", *PERIOD, "--format", "csv", "--out", str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["구분", "기간", "조항", "약속", "건수"]
    per_clause = [r for r in rows if r and r[0] == "조항별"]
    per_month = [r for r in rows if r and r[0] == "월별"]
    assert len(per_clause) == len(EXPECTED)
    assert ["월별", "2026-12", "reply-electronic"] == per_month[0][:3] and per_month[0][9] == "50.0%"
    assert any(r[:4] == ["월별 접수", "2026-12", "접수 경로", "전자우편"] and r[4] == "9" for r in rows)


def test_disclosure_writes_csv_and_html(constructed_config, tmp_path):
    prefix = tmp_path / "공시-2026"
    res = intake_cli(constructed_config, "report", "--year", "2026", "--disclosure", "--out", str(prefix),
                     "--as-of", "2026-12-11T12:00+09:00")
    assert res.stdout.split() == [f"{prefix}.csv", f"{prefix}.html"]
    rows = list(csv.reader(io.StringIO((tmp_path / "공시-2026.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["조항", "약속", "처리 건수", "준수율", "만족도 평균"]
    reply = next(r for r in rows if r[0] == "reply-electronic")
    # the year: November's reply (met Dec 1 before its Dec 2 due) joins December's 5
    assert reply[2:] == ["6", "60.0%", "3.50"]
    assert rows[-1][0] == "survey" and rows[-1][4] == "3.67"
    page = (tmp_path / "공시-2026.html").read_text(encoding="utf-8")
    assert "2026년 고객헌장 이행 공시" in page and "<script" not in page


def test_bad_input_is_a_clear_error(constructed_config):
    res = intake_cli(constructed_config, "report", "--from", "2026-12-31", "--to", "2026-12-01", check=False)
    assert res.returncode == 2 and "before --from" in res.stderr
    res = intake_cli(constructed_config, "report", "--from", "2026-13-01", "--to", "2026-12-01", check=False)
    assert res.returncode == 2 and "YYYY-MM-DD" in res.stderr
    res = intake_cli(constructed_config, "report", "--disclosure", *PERIOD[:4], check=False)
    assert res.returncode == 2 and "--year" in res.stderr


def test_html_is_self_contained(constructed_config):
    page = intake_cli(constructed_config, "report", *PERIOD).stdout
    assert page.count("<svg") == 4
    assert not re.search(r"<script|<link|@import|url\((?!#)|https?://(?!www\.w3\.org)", page)
    assert "전자 문의 회신 (reply-electronic)" in page and "2026-00008" in page


def test_cases_decide_records_the_outcome_tells_the_customer_and_the_report_lists_it(constructed_config):
    from sqlalchemy import text

    from intake.db import make_engine
    from intake.settings import load_settings

    engine = make_engine(load_settings(constructed_config, require_secrets=False).database.url)
    with engine.begin() as conn:   # a handler staff.toml knows: the notice names the handler
        conn.execute(text("update intake_case set handler_id = 'kim.minsu'"))
    res = intake_cli(constructed_config, "cases", "decide", "2026-00013", "불채택", "예산이 없습니다", check=False)
    assert res.returncode == 0, res.stderr
    assert "불채택" in res.stdout and "decision-notice queued to c13@example.org" in res.stdout
    refused = intake_cli(constructed_config, "cases", "decide", "2026-00001", "채택", "좋습니다", check=False)
    assert refused.returncode == 1 and "suggestion" in refused.stderr
    with engine.connect() as conn:
        raw, purpose = conn.execute(text("select raw, purpose from outbox o join intake_case c on c.id = o.case_id "
                                         "where c.ref = '2026-00013'")).one()
    engine.dispose()
    assert purpose == "decision-notice"
    out = json.loads(intake_cli(constructed_config, "report", *PERIOD, "--format", "json").stdout)
    assert {s["ref"]: s["outcome"] for s in out["suggestions"]}["2026-00013"] == "불채택"
    shown = intake_cli(constructed_config, "cases", "show", "2026-00013").stdout
    assert "decided" in shown and "예산이 없습니다" in shown
