"""The charter compliance report: every figure a pure function of audit events and clock rows.

No I/O, no clock of its own: ``now`` (the moment the report is "as of") is a parameter, so any
past period can be recomputed and gives the same figures.

Counting rules (what a person checking by hand needs to know):

- A clock belongs to the period (and month) of the Seoul date it started; a case's requests
  count in the month it was received.
- Each clock's outcome: ``on_time`` when it was met (answered, called, fixed …) at or before its
  due; ``late`` when met after it, or cancelled (closed unanswered) after it; ``open_overdue``
  when still running and past due at ``now``; ``open`` when running and not yet due; a clock
  cancelled before its due does not count (the promise stopped applying).
- The due is the one stored on the clock row (what ``intake cases show`` prints); a clock stopped
  while on hold has none stored, and gets the one its pauses and extension give.
- rate = on_time / (on_time + late + open_overdue); ``None`` when nothing was decided.
- review: the hold (government consultation) time, in working hours, is excluded from the count
  and shown as ``excluded_hours``.
- progress-notice: cases not answered within 2 business days (16 working hours) of receipt;
  on time when a progress or extension notice was queued before those 2 days ran out.
- handler-named: each reply to a customer that was sent; on time when the template version that
  rendered it names the handler (``{{ handler.name }}``).
- First answer: the first ``answered`` event of a case, in working hours since receipt (the value
  audited there); median and 90th percentile by the nearest-rank method.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from intake.domain.clocks import Clock, ClockState, clock_due
from intake.domain.deadlines import DeadlinePolicy, Extension
from intake.domain.report_records import (
    CLAUSES, CUSTOMER_REPLY_PURPOSES, PROGRESS_PURPOSES, SUGGESTION_CATEGORY, CaseRow, ClauseFigures, ClockRow, OverdueCase, Period,
    Report, ReportInput, SuggestionOutcome, SurveySummary,
)
from intake.domain.workdays import BusinessCalendar, point_after, to_seoul, working_time_between

TWO_DAYS = timedelta(hours=16)     # the reply promise, in working hours
_NAMES_HANDLER = re.compile(r"\{\{[^}]*\bhandler\.name\b")

CLOCK_CLAUSES = {"phone-call": "postal-phone-call", "correction": "correction", "error-contact": "error-contact",
                 "error-fix": "error-fix", "review": "review", "issuance": "issuance"}


def template_names_handler(source: str) -> bool:
    """Does this template version put the handler's name into the mail?"""
    return bool(_NAMES_HANDLER.search(source or ""))


def clause_of(clock: ClockRow, channel: str) -> str | None:
    if clock.policy == "reply":
        return "postal-written" if channel == "post" else "reply-electronic"
    return CLOCK_CLAUSES.get(clock.policy)


def effective_due(clock: ClockRow, calendar: BusinessCalendar, policies: Mapping[str, DeadlinePolicy]) -> datetime | None:
    if clock.due_at is not None or clock.policy not in policies:
        return clock.due_at
    live = clock.state in (ClockState.RUNNING.value, ClockState.PAUSED.value)
    if live and any(end is None for _, end in clock.pauses):
        return None
    ext = Extension(clock.extension_date, clock.extension_reason or "-") if clock.extension_date else None
    typed = Clock(0, clock.policy, ClockState(clock.state), clock.started_at, clock.pauses, ext)
    return clock_due(calendar, policies[clock.policy], typed)


def clock_outcome(clock: ClockRow, due: datetime | None, now: datetime) -> str:
    """on_time | late | open_overdue | open | void (cancelled before it was due)."""
    if clock.state == ClockState.MET.value:
        return "on_time" if due is None or clock.stopped_at is None or clock.stopped_at <= due else "late"
    if clock.state == ClockState.CANCELLED.value:
        return "late" if due is not None and clock.stopped_at is not None and clock.stopped_at > due else "void"
    return "open_overdue" if due is not None and due <= now else "open"


def overdue_reason(clock: ClockRow) -> str:
    if clock.extension_date is not None:
        return "extension"
    return "hold" if clock.pauses else "none"


def excluded_working_hours(clock: ClockRow, calendar: BusinessCalendar, now: datetime) -> float:
    total = timedelta(0)
    for begin, end in clock.pauses:
        total += working_time_between(calendar, begin, min(end or now, now))
    return total.total_seconds() / 3600


def rate(on_time: int, late: int, open_overdue: int) -> float | None:
    decided = on_time + late + open_overdue
    return round(on_time / decided, 4) if decided else None


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def month_of(t: datetime) -> str:
    return to_seoul(t).strftime("%Y-%m")


def in_period(t: datetime, period: Period) -> bool:
    return period.start <= to_seoul(t).date() <= period.end


class _Tally:
    __slots__ = ("on_time", "late", "open_overdue", "open", "excluded")

    def __init__(self) -> None:
        self.on_time = self.late = self.open_overdue = self.open = 0
        self.excluded = 0.0

    def add(self, outcome: str) -> None:
        if outcome != "void":
            setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def cases(self) -> int:
        return self.on_time + self.late + self.open_overdue + self.open


def build_report(data: ReportInput, period: Period, now: datetime, calendar: BusinessCalendar,
                 policies: Mapping[str, DeadlinePolicy], *, department: str | None = None,
                 channel: str | None = None) -> Report:
    """Every figure of ``intake report`` for ``period`` as of ``now`` (filters: department, channel)."""
    cases = {c.id: c for c in data.cases
             if (department is None or c.department == department) and (channel is None or c.channel == channel)}
    tallies: dict[str, _Tally] = {cid: _Tally() for cid, _ in CLAUSES}
    monthly: dict[str, dict[str, _Tally]] = {cid: defaultdict(_Tally) for cid, _ in CLAUSES}
    overdue: list[OverdueCase] = []
    judged: dict[int, str] = {}        # case -> the clause of its first clock (what its survey judges)
    for clock in data.clocks:
        case = cases.get(clock.case_id)
        clause = clause_of(clock, case.channel) if case else None
        if clause is None or not in_period(clock.started_at, period):
            continue
        judged.setdefault(case.id, clause)
        due = effective_due(clock, calendar, policies)
        outcome = clock_outcome(clock, due, now)
        for tally in (tallies[clause], monthly[clause][month_of(clock.started_at)]):
            tally.add(outcome)
        if clause == "review" and outcome != "void":
            tallies[clause].excluded += excluded_working_hours(clock, calendar, now)
        if outcome in ("late", "open_overdue"):
            overdue.append(OverdueCase(case.ref, clause, due, overdue_reason(clock), outcome.replace("_", "-")))
    first = first_answers(data, cases)
    _progress_clause(cases, first, data, period, now, calendar, tallies, monthly)
    _handler_clause(cases, data, period, tallies, monthly)
    survey = survey_summary(data, cases, period)
    means = survey_means(data, cases, judged, period)
    figures = tuple(_figures(cid, promise, tallies[cid], means.get(cid)) for cid, promise in CLAUSES)
    hours = [first[cid][1] for cid, c in cases.items() if cid in first and in_period(c.received_at, period)]
    overdue.sort(key=lambda o: (o.due_at, o.ref))
    return Report(
        period=period, now=now, filters={k: v for k, v in (("department", department), ("channel", channel)) if v},
        clauses=figures,
        monthly_rates={cid: {m: rate(t.on_time, t.late, t.open_overdue) for m, t in sorted(monthly[cid].items())}
                       for cid, _ in CLAUSES},
        monthly_requests=monthly_requests(cases.values(), period),
        first_answer_hours=tuple(sorted(hours)),
        first_answer_median=_round(nearest_rank(hours, 0.5)), first_answer_p90=_round(nearest_rank(hours, 0.9)),
        overdue=tuple(overdue), survey=survey, suggestions=suggestions(data, cases, period),
        requests=sum(1 for c in cases.values() if in_period(c.received_at, period)),
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _figures(cid: str, promise: str, t: _Tally, survey_mean: float | None) -> ClauseFigures:
    return ClauseFigures(cid, promise, t.cases, t.on_time, t.late, t.open_overdue, t.open,
                         rate(t.on_time, t.late, t.open_overdue),
                         round(t.excluded, 2) if cid == "review" else None, survey_mean)


def first_answers(data: ReportInput, cases: Mapping[int, CaseRow]) -> dict[int, tuple[datetime, float]]:
    """case id -> (first answer time, working hours since receipt as audited)."""
    out: dict[int, tuple[datetime, float]] = {}
    for ev in data.answers:
        if ev.case_id in cases and (ev.case_id not in out or ev.at < out[ev.case_id][0]):
            out[ev.case_id] = (ev.at, ev.working_hours if ev.working_hours is not None else -1.0)
    return out


def fill_working_hours(first: dict[int, tuple[datetime, float]], cases: Mapping[int, CaseRow],
                       calendar: BusinessCalendar) -> None:
    for cid, (at, hours) in first.items():
        if hours < 0:
            first[cid] = (at, round(working_time_between(calendar, cases[cid].received_at, at).total_seconds() / 3600, 2))


def _progress_clause(cases, first, data: ReportInput, period: Period, now: datetime, calendar: BusinessCalendar,
                     tallies, monthly) -> None:
    fill_working_hours(first, cases, calendar)
    notices: dict[int, list[datetime]] = defaultdict(list)
    for m in data.mails:
        if m.purpose in PROGRESS_PURPOSES and m.case_id in cases and m.status != "failed":
            notices[m.case_id].append(m.created_at)
    for cid, case in cases.items():
        if not in_period(case.received_at, period) or case.channel == "post":
            continue
        promise_end = point_after(calendar, case.received_at, TWO_DAYS)
        answered = first.get(cid, (None,))[0] or case.closed_at
        if (answered is not None and answered <= promise_end) or (answered is None and now < promise_end):
            continue                     # answered within 2 days, or the 2 days have not run out yet
        timely = any(t <= promise_end for t in notices.get(cid, ()))
        outcome = "on_time" if timely else ("late" if answered is not None else "open_overdue")
        for tally in (tallies["progress-notice"], monthly["progress-notice"][month_of(case.received_at)]):
            tally.add(outcome)


def _handler_clause(cases, data: ReportInput, period: Period, tallies, monthly) -> None:
    for m in data.mails:
        if m.purpose in CUSTOMER_REPLY_PURPOSES and m.status == "sent" and m.case_id in cases \
                and in_period(m.created_at, period):
            outcome = "on_time" if m.names_handler else "late"
            for tally in (tallies["handler-named"], monthly["handler-named"][month_of(m.created_at)]):
                tally.add(outcome)


def monthly_requests(cases: Iterable[CaseRow], period: Period) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {"channel": {}, "category": {}, "department": {}}
    for c in cases:
        if not in_period(c.received_at, period):
            continue
        month = month_of(c.received_at)
        for dim, value in (("channel", c.channel), ("category", c.category), ("department", c.department)):
            per_month = out[dim].setdefault(value, {})
            per_month[month] = per_month.get(month, 0) + 1
    return out


def _surveys_in(data: ReportInput, cases, period: Period):
    return [s for s in data.surveys if s.case_id in cases and in_period(s.sent_at, period)]


def survey_summary(data: ReportInput, cases: Mapping[int, CaseRow], period: Period) -> SurveySummary:
    rows = _surveys_in(data, cases, period)
    scored = [s for s in rows if s.score is not None]
    counts = [0] * 5
    for s in scored:
        counts[s.score - 1] += 1
    mean = round(sum(s.score for s in scored) / len(scored), 2) if scored else None
    comments = tuple((cases[s.case_id].ref, s.score, s.comment) for s in scored if s.comment)
    return SurveySummary(len(rows), len(scored), tuple(counts), mean, comments)


def survey_means(data: ReportInput, cases, judged: Mapping[int, str], period: Period) -> dict[str, float]:
    sums: dict[str, list[int]] = defaultdict(list)
    for s in _surveys_in(data, cases, period):
        if s.score is not None and s.case_id in judged:
            sums[judged[s.case_id]].append(s.score)
    return {k: round(sum(v) / len(v), 2) for k, v in sums.items()}


def suggestions(data: ReportInput, cases: Mapping[int, CaseRow], period: Period) -> tuple[SuggestionOutcome, ...]:
    latest = {}
    for d in data.decisions:
        if d.case_id not in latest or d.at >= latest[d.case_id].at:
            latest[d.case_id] = d
    out = []
    for cid, c in cases.items():
        if c.category != SUGGESTION_CATEGORY or not in_period(c.received_at, period):
            continue
        d = latest.get(cid)
        out.append(SuggestionOutcome(c.ref, c.received_at, d.outcome if d else "심사 중", d.reason if d else "",
                                     d.at if d else None))
    return tuple(sorted(out, key=lambda s: s.ref))

