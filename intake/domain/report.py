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
from bisect import bisect_right
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta, timezone

from intake.domain.clocks import Clock, ClockState, clock_due
from intake.domain.deadlines import DeadlinePolicy, Extension
from intake.domain.report_records import (
    CLAUSES, CUSTOMER_REPLY_PURPOSES, PROGRESS_PURPOSES, SUGGESTION_CATEGORY, AnswerEvent, CaseRow, ClauseFigures,
    ClockRow, DecisionEvent, MailRow, OverdueCase, Period, Report, ReportInput, SuggestionOutcome, SurveyRow,
    SurveySummary,
)
from intake.domain.workdays import BusinessCalendar, point_after, working_time_between

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


# Seoul has kept UTC+9 without summer time since 1988: a fixed offset is exact for any case and
# much cheaper than a zone lookup on the hundreds of thousands of moments a year's report reads.
KST = timezone(timedelta(hours=9))
_MONTHS: dict[tuple[int, int], str] = {}


def month_of(t: datetime) -> str:
    local = t.astimezone(KST)
    key = (local.year, local.month)
    name = _MONTHS.get(key)
    if name is None:
        name = _MONTHS[key] = f"{local.year:04d}-{local.month:02d}"
    return name


class MonthOf:
    """The ``YYYY-MM`` (Seoul) of moments inside a period: a binary search over the month starts
    (fast on the hundreds of thousands of moments a year's report reads)."""

    def __init__(self, period: Period) -> None:
        self.names = period.months()
        self.starts = [datetime(int(m[:4]), int(m[5:]), 1, tzinfo=KST) for m in self.names]

    def __call__(self, t: datetime) -> str:
        i = bisect_right(self.starts, t) - 1
        return self.names[i] if i >= 0 else month_of(t)


def period_window(period: Period) -> tuple[datetime, datetime]:
    """[start, end): Seoul midnight of the first day and of the day after the last."""
    return (datetime.combine(period.start, time(0), KST), datetime.combine(period.end + timedelta(days=1), time(0), KST))


def in_period(t: datetime, period: Period) -> bool:
    lo, hi = period_window(period)
    return lo <= t < hi


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
    """Every figure of ``intake report`` for ``period`` as of ``now`` (filters: department, channel).

    ``data``'s clocks, answers, mails and decisions are read once each, so they may be iterators
    streaming from the database."""
    lo, hi = period_window(period)
    month = MonthOf(period)
    cases = {c.id: c for c in data.cases
             if (department is None or c.department == department) and (channel is None or c.channel == channel)}
    tallies: dict[str, _Tally] = {cid: _Tally() for cid, _ in CLAUSES}
    monthly: dict[str, dict[str, _Tally]] = {cid: defaultdict(_Tally) for cid, _ in CLAUSES}
    overdue: list[OverdueCase] = []
    judged: dict[int, str] = {}        # case -> the clause of its first clock (what its survey judges)
    for clock in data.clocks:
        case = cases.get(clock.case_id)
        clause = clause_of(clock, case.channel) if case else None
        if clause is None or not lo <= clock.started_at < hi:
            continue
        judged.setdefault(case.id, clause)
        due = effective_due(clock, calendar, policies)
        outcome = clock_outcome(clock, due, now)
        for tally in (tallies[clause], monthly[clause][month(clock.started_at)]):
            tally.add(outcome)
        if clause == "review" and outcome != "void":
            tallies[clause].excluded += excluded_working_hours(clock, calendar, now)
        if outcome in ("late", "open_overdue"):
            overdue.append(OverdueCase(case.ref, clause, due, overdue_reason(clock), outcome.replace("_", "-")))
    first = first_answers(data.answers, cases)
    notices = _scan_mails(data.mails, cases, lo, hi, month, tallies, monthly)
    _progress_clause(cases, first, notices, lo, hi, month, now, calendar, tallies, monthly)
    surveys = [s for s in data.surveys if s.case_id in cases and lo <= s.sent_at < hi]
    figures = tuple(_figures(cid, promise, tallies[cid], survey_means(surveys, judged).get(cid))
                    for cid, promise in CLAUSES)
    hours = [first[cid][1] for cid, c in cases.items() if cid in first and lo <= c.received_at < hi]
    overdue.sort(key=lambda o: (o.due_at, o.ref))
    return Report(
        period=period, now=now, filters={k: v for k, v in (("department", department), ("channel", channel)) if v},
        clauses=figures,
        monthly_rates={cid: {m: rate(t.on_time, t.late, t.open_overdue) for m, t in sorted(monthly[cid].items())}
                       for cid, _ in CLAUSES},
        monthly_requests=monthly_requests(cases.values(), period),
        first_answer_hours=tuple(sorted(hours)),
        first_answer_median=_round(nearest_rank(hours, 0.5)), first_answer_p90=_round(nearest_rank(hours, 0.9)),
        overdue=tuple(overdue), survey=survey_summary(surveys, cases),
        suggestions=suggestions(data.decisions, cases, period),
        requests=sum(1 for c in cases.values() if lo <= c.received_at < hi),
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _figures(cid: str, promise: str, t: _Tally, survey_mean: float | None) -> ClauseFigures:
    return ClauseFigures(cid, promise, t.cases, t.on_time, t.late, t.open_overdue, t.open,
                         rate(t.on_time, t.late, t.open_overdue),
                         round(t.excluded, 2) if cid == "review" else None, survey_mean)


def first_answers(answers: Iterable[AnswerEvent], cases: Mapping[int, CaseRow]) -> dict[int, tuple[datetime, float]]:
    """case id -> (first answer time, working hours since receipt as audited; -1 when not audited)."""
    out: dict[int, tuple[datetime, float]] = {}
    for ev in answers:
        if ev.case_id in cases and (ev.case_id not in out or ev.at < out[ev.case_id][0]):
            out[ev.case_id] = (ev.at, ev.working_hours if ev.working_hours is not None else -1.0)
    return out


def first_answer_hours(first: dict[int, tuple[datetime, float]], cases: Mapping[int, CaseRow],
                       calendar: BusinessCalendar) -> None:
    """Fill in the working hours of first answers whose event did not audit them."""
    for cid, (at, hours) in first.items():
        if hours < 0:
            first[cid] = (at, round(working_time_between(calendar, cases[cid].received_at, at).total_seconds() / 3600, 2))


def _scan_mails(mails: Iterable[MailRow], cases, lo: datetime, hi: datetime, month: MonthOf, tallies,
                monthly) -> dict[int, list]:
    """One pass: the handler-named clause, and each case's progress notices (returned)."""
    notices: dict[int, list[datetime]] = defaultdict(list)
    counts: dict[tuple[str, bool], int] = defaultdict(int)
    for m in mails:
        if m.case_id not in cases:
            continue
        if m.purpose in PROGRESS_PURPOSES and m.status != "failed":
            notices[m.case_id].append(m.created_at)
        if m.purpose in CUSTOMER_REPLY_PURPOSES and m.status == "sent" and lo <= m.created_at < hi:
            counts[month(m.created_at), m.names_handler] += 1
    total = tallies["handler-named"]
    for (name, named), n in counts.items():
        for tally in (total, monthly["handler-named"][name]):
            if named:
                tally.on_time += n
            else:
                tally.late += n
    return notices


def _progress_clause(cases, first, notices, lo: datetime, hi: datetime, month: MonthOf, now: datetime,
                     calendar: BusinessCalendar, tallies, monthly) -> None:
    first_answer_hours(first, cases, calendar)
    limit = TWO_DAYS.total_seconds() / 3600
    for cid, case in cases.items():
        if not lo <= case.received_at < hi or case.channel == "post":
            continue
        answer = first.get(cid)
        sent = notices.get(cid, ())
        if answer is not None and answer[1] < limit:
            continue                     # answered within 2 days (its audited working hours say so)
        if answer is not None and answer[1] > limit and not sent:
            outcome = "late"             # answered after the 2 days, no notice at all
        else:
            promise_end = point_after(calendar, case.received_at, TWO_DAYS)
            answered = answer[0] if answer else case.closed_at
            if (answered is not None and answered <= promise_end) or (answered is None and now < promise_end):
                continue                 # answered within 2 days, or the 2 days have not run out yet
            timely = any(t <= promise_end for t in sent)
            outcome = "on_time" if timely else ("late" if answered is not None else "open_overdue")
        for tally in (tallies["progress-notice"], monthly["progress-notice"][month(case.received_at)]):
            tally.add(outcome)


def monthly_requests(cases: Iterable[CaseRow], period: Period) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {"channel": {}, "category": {}, "department": {}}
    lo, hi = period_window(period)
    month_in = MonthOf(period)
    for c in cases:
        if not lo <= c.received_at < hi:
            continue
        month = month_in(c.received_at)
        for dim, value in (("channel", c.channel), ("category", c.category), ("department", c.department)):
            per_month = out[dim].setdefault(value, {})
            per_month[month] = per_month.get(month, 0) + 1
    return out


def survey_summary(surveys: list[SurveyRow], cases: Mapping[int, CaseRow]) -> SurveySummary:
    scored = [s for s in surveys if s.score is not None]
    counts = [0] * 5
    for s in scored:
        counts[s.score - 1] += 1
    mean = round(sum(s.score for s in scored) / len(scored), 2) if scored else None
    comments = tuple((cases[s.case_id].ref, s.score, s.comment) for s in scored if s.comment)
    return SurveySummary(len(surveys), len(scored), tuple(counts), mean, comments)


def survey_means(surveys: list[SurveyRow], judged: Mapping[int, str]) -> dict[str, float]:
    sums: dict[str, list[int]] = defaultdict(list)
    for s in surveys:
        if s.score is not None and s.case_id in judged:
            sums[judged[s.case_id]].append(s.score)
    return {k: round(sum(v) / len(v), 2) for k, v in sums.items()}


def suggestions(decisions: Iterable[DecisionEvent], cases: Mapping[int, CaseRow],
                period: Period) -> tuple[SuggestionOutcome, ...]:
    latest = {}
    for d in decisions:
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

