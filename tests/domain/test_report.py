"""The report's figures for a constructed set of cases, clocks, holds and extensions, computed by hand.

Calendar: December 2026, working hours 09-12 and 13-18 (8 h a day); Dec 1 is a Tuesday.
Each expected due/hour figure below is worked out in its comment.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from intake.domain.calendar_config import parse_policies
from intake.domain.report import build_report, effective_due, nearest_rank, template_names_handler
from intake.domain.report_records import (
    AnswerEvent, CaseRow, ClockRow, DecisionEvent, MailRow, Period, ReportInput, SurveyRow,
)
from intake.domain.workdays import build_calendar

KST = timezone(timedelta(hours=9))
ROOT = Path(__file__).resolve().parents[2]
POLICIES = parse_policies(tomllib.loads((ROOT / "config/policies.toml").read_text()), "policies.toml")
CAL = build_calendar(range(2025, 2029))
NOW = datetime(2026, 12, 11, 12, 0, tzinfo=KST)
PERIOD = Period(date(2026, 12, 1), date(2026, 12, 31))


def t(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=KST)


def case(i, channel="email", category="information", day=7, hour=10, month=12, department="business", **kw):
    return CaseRow(i, f"2026-{i:05d}", channel, category, department, kw.pop("status", "open"),
                   t(day, hour, month=month), **kw)


CASES = (
    case(1, status="answered", answered_at=t(8, 15)),
    case(2, status="answered", answered_at=t(10, 11)),
    case(3, channel="fax"),
    case(4, category="suggestion", day=10, hour=9),
    case(5, day=1, status="answered", answered_at=t(10, 17)),
    case(6, channel="post", department="support-center"),
    case(7, category="trade-approval-review", day=1, department="support-center", status="answered",
         answered_at=t(11, 15)),
    case(8, category="trade-approval-review", day=1, department="support-center"),
    case(9, category="correction-request", hour=14, status="closed", closed_at=t(10, 16)),
    case(10, category="correction-request", hour=14, status="closed", closed_at=t(8, 10)),
    case(12, category="visit-certificate", day=30, month=11, department="support-center"),
    case(13, category="suggestion", day=8),
)

CLOCKS = (
    # Dec 7 10:00 + 16 working h: Dec 7 7 h, Dec 8 8 h, Dec 9 09-10 -> due Dec 9 10:00
    ClockRow(1, "reply", "met", t(7, 10), t(9, 10), stopped_at=t(8, 15)),                       # on time
    # error on case 1 Tue Dec 8 16:00: contact 24 business-elapsed h -> Dec 9 16:00, met Dec 9 10:00
    ClockRow(1, "error-contact", "met", t(8, 16), t(9, 16), stopped_at=t(9, 10)),
    # fix 24 working h: Dec 8 2, Dec 9 8, Dec 10 8, Dec 11 09-12 3 + 13-16 3 -> Dec 11 16:00, running
    ClockRow(1, "error-fix", "running", t(8, 16), t(11, 16)),                                   # open
    ClockRow(2, "reply", "met", t(7, 10), t(9, 10), stopped_at=t(10, 11)),                      # late
    # extended once to Dec 10 -> due Dec 10 18:00; still running on Dec 11
    ClockRow(3, "reply", "running", t(7, 10), t(10, 18), extension_date=date(2026, 12, 10),
             extension_reason="자료 확인"),                                                     # overdue (extension)
    # Dec 10 09:00 + 16 h -> Dec 11 18:00: not due at Dec 11 12:00
    ClockRow(4, "reply", "running", t(10, 9), t(11, 18)),                                       # open
    ClockRow(5, "reply", "met", t(1, 10), t(10, 18), stopped_at=t(10, 17),
             extension_date=date(2026, 12, 10), extension_reason="검토"),                       # on time
    # post: call due Dec 9 10:00, called Dec 8 09:30; written reply Dec 8 09:30 + 16 h -> Dec 10 09:30
    ClockRow(6, "phone-call", "met", t(7, 10), t(9, 10), stopped_at=t(8, 9, 30)),               # on time
    ClockRow(6, "reply", "running", t(8, 9, 30), t(10, 9, 30)),                                 # overdue (none)
    # review, 7 business days from Tue Dec 1 = Dec 9 18:00; hold Dec 2 09:00-Dec 4 18:00 (3 days, 24 h)
    # pushes it 3 business days -> Dec 14 18:00. Stored as None here (stopped while on hold): computed.
    ClockRow(7, "review", "met", t(1, 10), None, stopped_at=t(11, 15),
             pauses=((t(2, 9), t(4, 18)),)),                                                    # on time
    # review with a one-day hold Dec 7 09:00-Dec 8 09:00 (8 h) -> Dec 10 18:00: overdue (hold)
    ClockRow(8, "review", "running", t(1, 10), t(10, 18), pauses=((t(7, 9), t(8, 9)),)),
    # correction Dec 7 14:00 + 24 h: Dec 7 4, Dec 8 8, Dec 9 8, Dec 10 09-12 3 + 13-14 1 -> Dec 10 14:00
    ClockRow(9, "correction", "cancelled", t(7, 14), t(10, 14), stopped_at=t(10, 16)),          # late
    ClockRow(10, "correction", "cancelled", t(7, 14), t(10, 14), stopped_at=t(8, 10)),          # void
    ClockRow(12, "reply", "met", t(30, 10, month=11), t(2, 10), stopped_at=t(1, 10)),           # November
    # issuance Dec 3 11:00 + 24 h: Dec 3 6, Dec 4 8, Dec 7 8, Dec 8 09-11 -> Dec 8 11:00; met 17:00
    ClockRow(12, "issuance", "met", t(3, 11), t(8, 11), stopped_at=t(8, 17)),                   # late
)

ANSWERS = (
    AnswerEvent(1, t(8, 15), 12.0),      # Dec 7 7 h + Dec 8 09-12, 13-15 = 12 h
    AnswerEvent(1, t(9, 11), 18.0),      # a later answer: not the first
    AnswerEvent(2, t(10, 11), None),     # not audited: Dec 7 7 + Dec 8 8 + Dec 9 8 + Dec 10 2 = 25 h
    AnswerEvent(5, t(10, 17), 62.0),     # Dec 1 7, Dec 2-4 24, Dec 7-9 24, Dec 10 7
    AnswerEvent(7, t(11, 15), 68.0),
    AnswerEvent(12, t(1, 10), 8.0),      # received in November: outside the period
)


def mail(case_id, purpose, at, named=True, status="sent"):
    return MailRow(case_id, purpose, at, status, named)


MAILS = (
    mail(1, "acknowledgement", t(7, 10, 1)),
    mail(1, "reminder", t(8, 9), named=False),                 # to staff: not a reply
    mail(1, "reply-relay", t(8, 15)),
    mail(2, "acknowledgement", t(7, 10, 1)),
    mail(2, "progress-notice", t(9, 11)),                      # after Dec 9 10:00: late notice
    mail(3, "acknowledgement", t(7, 10, 1), named=False),      # an old template without the handler
    mail(3, "progress-notice", t(8, 16)),                      # before Dec 9 10:00
    mail(4, "reply-relay", t(10, 10), status="failed"),        # never sent
    mail(5, "extension-notice", t(2, 14)),                     # before Dec 3 10:00
    mail(7, "progress-notice", t(2, 9)),                       # the hold notice, before Dec 3 10:00
)

SURVEYS = (
    SurveyRow(1, t(9, 9), "answered", 5, "친절했습니다", t(9, 10)),
    SurveyRow(2, t(10, 13), "answered", 2, "늦었습니다", t(10, 14)),
    SurveyRow(5, t(10, 18), "sent"),
    SurveyRow(7, t(11, 16), "answered", 4, "", t(11, 17)),
)

DECISIONS = (
    DecisionEvent(4, t(10, 15), "불채택", "예산 부족"),
    DecisionEvent(4, t(11, 10), "채택", "다음 달부터 반영합니다"),    # the latest decision counts
)

DATA = ReportInput(CASES, CLOCKS, ANSWERS, MAILS, SURVEYS, DECISIONS)


@pytest.fixture(scope="module")
def report():
    return build_report(DATA, PERIOD, NOW, CAL, POLICIES)


#   clause              cases on_time late open_overdue open rate
EXPECTED = [
    ("reply-electronic", 5, 2, 1, 1, 1, 0.5),         # C1 on, C2 late, C3 overdue, C4 open, C5 on
    ("postal-phone-call", 1, 1, 0, 0, 0, 1.0),
    ("postal-written", 1, 0, 0, 1, 0, 0.0),
    ("correction", 1, 0, 1, 0, 0, 0.0),               # C10 cancelled before due: not counted
    ("error-contact", 1, 1, 0, 0, 0, 1.0),
    ("error-fix", 1, 0, 0, 0, 1, None),
    ("review", 2, 1, 0, 1, 0, 0.5),
    ("issuance", 1, 0, 1, 0, 0, 0.0),
    # C2 late, C3 on, C5 on, C7 on, C8 and C13 (Dec 8 10:00 + 16 h = Dec 10 10:00, no notice) overdue, C9 late
    ("progress-notice", 7, 3, 2, 2, 0, 0.4286),
    ("handler-named", 8, 7, 1, 0, 0, 0.875),          # 8 replies sent, C3's ack does not name the handler
]


@pytest.mark.parametrize("clause,cases,on_time,late,overdue,open_,rate", EXPECTED)
def test_clause_figures(report, clause, cases, on_time, late, overdue, open_, rate):
    fig = next(c for c in report.clauses if c.id == clause)
    assert (fig.cases, fig.on_time, fig.late, fig.open_overdue, fig.open, fig.rate) == \
        (cases, on_time, late, overdue, open_, rate)
    assert fig.promise


def test_review_shows_the_excluded_consultation_time(report):
    fig = next(c for c in report.clauses if c.id == "review")
    assert fig.excluded_hours == 32.0      # C7 24 h + C8 8 h


def test_a_due_not_stored_is_computed_from_pauses():
    assert effective_due(CLOCKS[9], CAL, POLICIES) == t(14, 18)


def test_overdue_cases_with_their_reason(report):
    got = [(o.ref, o.clause, o.due_at, o.reason, o.state) for o in report.overdue]
    assert got == [
        ("2026-00012", "issuance", t(8, 11), "none", "late"),
        ("2026-00002", "reply-electronic", t(9, 10), "none", "late"),
        ("2026-00006", "postal-written", t(10, 9, 30), "none", "open-overdue"),
        ("2026-00009", "correction", t(10, 14), "none", "late"),
        ("2026-00003", "reply-electronic", t(10, 18), "extension", "open-overdue"),   # same due: by ref
        ("2026-00008", "review", t(10, 18), "hold", "open-overdue"),
    ]


def test_first_answer_time(report):
    assert report.first_answer_hours == (12.0, 25.0, 62.0, 68.0)
    assert (report.first_answer_median, report.first_answer_p90) == (25.0, 68.0)


def test_requests_per_month(report):
    assert report.requests == 11
    assert report.monthly_requests["channel"] == {"email": {"2026-12": 9}, "fax": {"2026-12": 1},
                                                  "post": {"2026-12": 1}}
    assert report.monthly_requests["department"]["support-center"] == {"2026-12": 3}
    assert report.monthly_requests["category"]["suggestion"] == {"2026-12": 2}


def test_survey_results(report):
    s = report.survey
    assert (s.sent, s.answered, s.scores, s.mean) == (4, 3, (0, 1, 0, 1, 1), 3.67)
    assert s.comments == (("2026-00001", 5, "친절했습니다"), ("2026-00002", 2, "늦었습니다"))
    means = {c.id: c.survey_mean for c in report.clauses}
    assert means["reply-electronic"] == 3.5 and means["review"] == 4.0 and means["issuance"] is None


def test_suggestions_and_their_outcome(report):
    assert [(s.ref, s.outcome, s.reason) for s in report.suggestions] == [
        ("2026-00004", "채택", "다음 달부터 반영합니다"), ("2026-00013", "심사 중", "")]


def test_monthly_rates(report):
    assert report.monthly_rates["reply-electronic"] == {"2026-12": 0.5}
    assert report.monthly_rates["issuance"] == {"2026-12": 0.0}


def test_filters():
    r = build_report(DATA, PERIOD, NOW, CAL, POLICIES, department="support-center")
    figs = {c.id: (c.cases, c.on_time) for c in r.clauses}
    assert figs["review"] == (2, 1) and figs["reply-electronic"] == (0, 0) and figs["postal-phone-call"] == (1, 1)
    assert r.requests == 3 and r.filters == {"department": "support-center"}
    r = build_report(DATA, PERIOD, NOW, CAL, POLICIES, channel="fax")
    assert r.requests == 1 and {c.id: c.cases for c in r.clauses}["reply-electronic"] == 1


def test_as_of_an_earlier_moment():
    """The same rows as of Dec 9 09:00: C6's written reply (due Dec 10 09:30) was not yet overdue."""
    r = build_report(DATA, PERIOD, t(9, 9), CAL, POLICIES)
    fig = next(c for c in r.clauses if c.id == "postal-written")
    assert (fig.open_overdue, fig.open) == (0, 1)


@pytest.mark.parametrize("values,q,expected", [
    ([], 0.5, None), ([3.0], 0.9, 3.0), ([1, 2, 3, 4], 0.5, 2), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9),
])
def test_nearest_rank(values, q, expected):
    assert nearest_rank(values, q) == expected


@pytest.mark.parametrize("source,named", [
    ("담당자 : {{ handler.name }} ({{ handler.department }})", True),
    ("{{ handler.name|default('-') }}", True),
    ("담당자에게 문의하십시오 {{ case.ref }}", False),
    ("{# handler.name #}", False),
])
def test_template_names_handler(source, named):
    assert template_names_handler(source) is named
