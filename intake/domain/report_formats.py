"""The report as json (the contract), csv (Korean headers, BOM for Excel) and the yearly disclosure table.

Pure: a ``Report`` in, text or plain data out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from intake.domain.report_records import Report
from intake.domain.workdays import to_seoul

CHANNEL_LABELS = {"email": "전자우편", "fax": "팩스", "post": "우편", "web": "인터넷"}
BOM = "\ufeff"


def _iso(t) -> str | None:
    return to_seoul(t).isoformat() if t is not None else None


def report_to_json(report: Report, labels: Mapping[str, str] = {}) -> dict[str, Any]:
    """``period``, ``clauses``, ``survey``, ``suggestions`` (the contract) and the other figures."""
    s = report.survey
    return {
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        "as_of": _iso(report.now),
        "filters": dict(report.filters),
        "requests": report.requests,
        "clauses": [{"id": c.id, "promise": c.promise, "cases": c.cases, "on_time": c.on_time, "late": c.late,
                     "open_overdue": c.open_overdue, "open": c.open, "rate": c.rate,
                     "excluded_hours": c.excluded_hours, "survey_mean": c.survey_mean} for c in report.clauses],
        "monthly_rates": report.monthly_rates,
        "requests_per_month": report.monthly_requests,
        "first_answer_hours": {"count": len(report.first_answer_hours), "median": report.first_answer_median,
                               "p90": report.first_answer_p90},
        "overdue": [{"ref": o.ref, "clause": o.clause, "due": _iso(o.due_at), "reason": o.reason, "state": o.state}
                    for o in report.overdue],
        "survey": {"sent": s.sent, "answered": s.answered, "scores": list(s.scores),
                   "mean": s.mean, "comments": [{"ref": r, "score": sc, "comment": c} for r, sc, c in s.comments]},
        "suggestions": [{"ref": x.ref, "received": _iso(x.received_at), "outcome": x.outcome, "reason": x.reason,
                         "decided": _iso(x.decided_at)} for x in report.suggestions],
    }


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


CLAUSE_HEADERS = ["구분", "기간", "조항", "약속", "건수", "기한 내", "기한 후", "미처리 기한 경과", "처리 중",
                  "준수율", "제외 시간(협의)", "만족도 평균"]


def report_to_csv(report: Report, labels: Mapping[str, str] = {}) -> str:
    """One row per clause (the period) and per clause and month; then requests per month."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CLAUSE_HEADERS)
    span = f"{report.period.start.isoformat()}~{report.period.end.isoformat()}"
    for c in report.clauses:
        w.writerow(["조항별", span, c.id, c.promise, c.cases, c.on_time, c.late, c.open_overdue, c.open,
                    percent(c.rate), "" if c.excluded_hours is None else c.excluded_hours,
                    "" if c.survey_mean is None else c.survey_mean])
    for c in report.clauses:
        for month, r in report.monthly_rates[c.id].items():
            w.writerow(["월별", month, c.id, c.promise, "", "", "", "", "", percent(r), "", ""])
    w.writerow([])
    w.writerow(["구분", "월", "항목", "이름", "건수"])
    for dim, title in (("channel", "접수 경로"), ("category", "분야"), ("department", "부서")):
        for value, months in sorted(report.monthly_requests[dim].items()):
            name = CHANNEL_LABELS.get(value, value) if dim == "channel" else labels.get(value, value)
            for month, n in sorted(months.items()):
                w.writerow(["월별 접수", month, title, name, n])
    return BOM + out.getvalue()


DISCLOSURE_HEADERS = ["조항", "약속", "처리 건수", "준수율", "만족도 평균"]


def disclosure_rows(report: Report) -> list[list[str]]:
    """The yearly public-disclosure table (경영공시): clause, promise, cases, rate, survey mean."""
    rows = [[c.id, c.promise, str(c.cases), percent(c.rate), "-" if c.survey_mean is None else f"{c.survey_mean:.2f}"]
            for c in report.clauses]
    s = report.survey
    rows.append(["survey", f"고객 만족도 조사 (발송 {s.sent}건, 응답 {s.answered}건)", str(s.answered), "-",
                 "-" if s.mean is None else f"{s.mean:.2f}"])
    return rows


def disclosure_csv(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(DISCLOSURE_HEADERS)
    w.writerows(disclosure_rows(report))
    return BOM + out.getvalue()
