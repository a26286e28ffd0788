"""Business calendar: which days and hours count for charter deadlines.

Pure core: no I/O and no clock. Every function that needs "now" takes it as a
parameter. All datetimes must be timezone-aware; they are converted to
Asia/Seoul (which has had no DST since 1988, so wall-clock arithmetic on the
local time is exact). Naive datetimes are rejected with ``ValueError``.

Business days exclude Saturdays, Sundays and Korean public holidays (from the
``holidays`` package, including substitute and election days), plus the
association's extra closed days; extra working days override all of that.

Working time is the union of the working periods (default 09:00-12:00 and
13:00-18:00) on business days. Periods are half-open ``[start, end)`` for the
question "is this moment working time?", but a count that runs out exactly at
a period's end is due *at* that end (12:00 or 18:00), never at the next
period's start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")

#: The act counts one day as eight working hours (민원처리법 제19조 제1항).
HOURS_PER_DAY = 8

_DAY = timedelta(days=1)
# Longest run of consecutive non-business days we are willing to walk over
# before deciding the calendar is broken (e.g. every day configured closed).
_MAX_CLOSED_RUN = 60


class CalendarRangeError(ValueError):
    """A computation needed a date outside the years the calendar was built for."""


@dataclass(frozen=True)
class WorkingPeriod:
    """One daily working period, local wall-clock times, ``start < end``."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working period times are local wall-clock times (no tzinfo)")
        if not self.start < self.end:
            raise ValueError(f"working period must start before it ends: {self.start}-{self.end}")

    @property
    def length(self) -> timedelta:
        return _combine(date(2000, 1, 1), self.end) - _combine(date(2000, 1, 1), self.start)


DEFAULT_WORKING_PERIODS: tuple[WorkingPeriod, ...] = (
    WorkingPeriod(time(9, 0), time(12, 0)),
    WorkingPeriod(time(13, 0), time(18, 0)),
)


def _freeze_mapping(value: Mapping) -> Mapping:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class BusinessCalendar:
    """Immutable calendar data plus the questions asked of it.

    ``holidays``: public holidays (date -> Korean name), from the holidays package.
    ``extra_closed``: association closures and cabinet-declared temporary
    holidays (date -> name). ``extra_working``: days treated as business days
    even if a weekend or holiday. ``working_periods``: sorted, non-overlapping.
    ``years``: inclusive (first, last) year range the holiday data covers, or
    None for "unchecked" (tests). Asking about a date outside the range raises
    ``CalendarRangeError`` rather than silently treating holidays as workdays.
    """

    holidays: Mapping[date, str] = field(default_factory=dict)
    extra_closed: Mapping[date, str] = field(default_factory=dict)
    extra_working: frozenset[date] = frozenset()
    working_periods: tuple[WorkingPeriod, ...] = DEFAULT_WORKING_PERIODS
    years: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", _freeze_mapping(self.holidays))
        object.__setattr__(self, "extra_closed", _freeze_mapping(self.extra_closed))
        object.__setattr__(self, "extra_working", frozenset(self.extra_working))
        periods = tuple(sorted(self.working_periods, key=lambda p: p.start))
        if not periods:
            raise ValueError("a business calendar needs at least one working period")
        for earlier, later in zip(periods, periods[1:]):
            if later.start < earlier.end:
                raise ValueError(f"working periods overlap: {earlier} and {later}")
        object.__setattr__(self, "working_periods", periods)
        both = set(self.extra_closed) & self.extra_working
        if both:
            raise ValueError(f"days both closed and working: {sorted(both)}")
        if self.years is not None and self.years[0] > self.years[1]:
            raise ValueError(f"bad year range {self.years}")

    __hash__ = None  # type: ignore[assignment]  # holds mappings

    # -- days -------------------------------------------------------------

    def _check_range(self, d: date) -> None:
        if self.years is not None and not (self.years[0] <= d.year <= self.years[1]):
            raise CalendarRangeError(
                f"{d.isoformat()} is outside the calendar's years "
                f"{self.years[0]}-{self.years[1]}"
            )

    def is_business_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            raise TypeError("is_business_day takes a date, not a datetime")
        self._check_range(d)
        if d in self.extra_working:
            return True
        if d in self.extra_closed:
            return False
        if d.weekday() >= 5:
            return False
        return d not in self.holidays

    def holiday_name(self, d: date) -> str | None:
        """Name of the closure on ``d`` (extra closures first), or None."""
        if d in self.extra_closed:
            return self.extra_closed[d]
        return self.holidays.get(d)

    def next_business_day(self, d: date, *, include: bool = True) -> date:
        """``d`` itself when ``include`` and it is a business day, else the next one."""
        candidate = d if include else d + _DAY
        for _ in range(_MAX_CLOSED_RUN):
            if self.is_business_day(candidate):
                return candidate
            candidate += _DAY
        raise ValueError(f"no business day within {_MAX_CLOSED_RUN} days after {d}")

    # -- hours ------------------------------------------------------------

    @property
    def working_hours_per_day(self) -> timedelta:
        return sum((p.length for p in self.working_periods), timedelta())

    def day_periods(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """Working periods of ``d`` as aware (start, end); empty on closed days."""
        if not self.is_business_day(d):
            return ()
        return tuple((_combine(d, p.start), _combine(d, p.end)) for p in self.working_periods)

    def end_of_working_day(self, d: date) -> datetime:
        """End of the last working period on ``d`` (e.g. 18:00), aware."""
        return _combine(d, self.working_periods[-1].end)


def _combine(d: date, t: time) -> datetime:
    return datetime.combine(d, t, tzinfo=SEOUL)


def to_seoul(t: datetime) -> datetime:
    """Convert an aware datetime to Asia/Seoul; reject naive ones."""
    if not isinstance(t, datetime):
        raise TypeError(f"expected a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise ValueError(f"naive datetime not allowed: {t.isoformat()}")
    return t.astimezone(SEOUL)


# ---------------------------------------------------------------------------
# Building a calendar from the holidays package
# ---------------------------------------------------------------------------


def korean_public_holidays(years: Iterable[int]) -> dict[date, str]:
    """Korean public holidays (date -> Korean name) for ``years``.

    Uses ``holidays.country_holidays("KR", language="ko")``, which includes
    substitute holidays (대체공휴일), election days and cabinet temporary
    holidays known at the package's release. Computation only, no I/O.
    """
    import holidays as holidays_pkg  # imported lazily: only builders need it

    years = sorted(set(years))
    if not years:
        return {}
    table = holidays_pkg.country_holidays("KR", years=years, language="ko")
    return {d: str(name) for d, name in sorted(table.items())}


def build_calendar(
    years: Iterable[int],
    *,
    extra_closed: Mapping[date, str] | None = None,
    extra_working: Iterable[date] = (),
    working_periods: Iterable[WorkingPeriod] = DEFAULT_WORKING_PERIODS,
) -> BusinessCalendar:
    """A calendar covering the inclusive span of ``years`` (e.g. ``range(2025, 2028)``)."""
    years = sorted(set(years))
    if not years:
        raise ValueError("build_calendar needs at least one year")
    first, last = years[0], years[-1]
    return BusinessCalendar(
        holidays=korean_public_holidays(range(first, last + 1)),
        extra_closed=dict(extra_closed or {}),
        extra_working=frozenset(extra_working),
        working_periods=tuple(working_periods),
        years=(first, last),
    )


# ---------------------------------------------------------------------------
# Working-hours arithmetic
# ---------------------------------------------------------------------------


def _segments_from(calendar: BusinessCalendar, t: datetime):
    """Yield working segments (start, end) that end after ``t``, in order.

    The first one may start before ``t``; callers clip.
    """
    d = t.date()
    closed_run = 0
    while True:
        periods = calendar.day_periods(d)
        if periods:
            closed_run = 0
            for start, end in periods:
                if end > t:
                    yield start, end
        else:
            closed_run += 1
            if closed_run > _MAX_CLOSED_RUN:
                raise ValueError(f"no working day within {_MAX_CLOSED_RUN} days after {t.date()}")
        d += _DAY


def is_working_moment(calendar: BusinessCalendar, t: datetime) -> bool:
    t = to_seoul(t)
    return any(start <= t < end for start, end in calendar.day_periods(t.date()))


def next_working_moment(calendar: BusinessCalendar, t: datetime) -> datetime:
    """``t`` if it is inside working hours, else the start of the next working period.

    For reminders and digests, which go out only on business days in working
    hours. A period's end (12:00, 18:00) is not inside it.
    """
    t = to_seoul(t)
    for start, _end in _segments_from(calendar, t):
        return max(start, t)
    raise AssertionError("unreachable")  # pragma: no cover


def point_after(calendar: BusinessCalendar, start: datetime, working_hours: float | timedelta) -> datetime:
    """The moment when ``working_hours`` of working time have elapsed after ``start``.

    Time outside working periods does not count; a start outside them begins at
    the next period. If the count is used up exactly at a period's end, that end
    is returned (12:00 / 18:00). Zero hours gives ``next_working_moment(start)``.
    """
    start = to_seoul(start)
    remaining = _as_timedelta(working_hours)
    if remaining < timedelta(0):
        raise ValueError("working_hours must not be negative")
    for seg_start, seg_end in _segments_from(calendar, start):
        t = max(seg_start, start)
        available = seg_end - t
        if remaining <= available:
            return t + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def working_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Working time in ``[a, b)``; negative when ``b`` is before ``a``."""
    a, b = to_seoul(a), to_seoul(b)
    if b < a:
        return -working_time_between(calendar, b, a)
    total = timedelta(0)
    for seg_start, seg_end in _segments_from(calendar, a):
        if seg_start >= b:
            break
        total += min(seg_end, b) - max(seg_start, a)
    return total


# ---------------------------------------------------------------------------
# Business-elapsed arithmetic: whole clock time, business days only
# ---------------------------------------------------------------------------


def _business_day_spans_from(calendar: BusinessCalendar, t: datetime):
    """Yield (start, end) of whole business days (00:00-24:00) ending after ``t``."""
    d = t.date()
    closed_run = 0
    while True:
        if calendar.is_business_day(d):
            closed_run = 0
            yield _combine(d, time(0)), _combine(d + _DAY, time(0))
        else:
            closed_run += 1
            if closed_run > _MAX_CLOSED_RUN:
                raise ValueError(f"no business day within {_MAX_CLOSED_RUN} days after {t.date()}")
        d += _DAY


def next_business_moment(calendar: BusinessCalendar, t: datetime) -> datetime:
    """``t`` if it falls on a business day, else 00:00 of the next business day."""
    t = to_seoul(t)
    for start, _end in _business_day_spans_from(calendar, t):
        return max(start, t)
    raise AssertionError("unreachable")  # pragma: no cover


def business_point_after(calendar: BusinessCalendar, start: datetime, hours: float | timedelta) -> datetime:
    """The moment when ``hours`` of clock time on business days have elapsed.

    Saturdays, Sundays and holidays do not count at all; every hour of a
    business day does (nights included). A count ending exactly at midnight
    after a business day is due at that midnight (00:00 of the next date).
    """
    start = to_seoul(start)
    remaining = _as_timedelta(hours)
    if remaining < timedelta(0):
        raise ValueError("hours must not be negative")
    for span_start, span_end in _business_day_spans_from(calendar, start):
        t = max(span_start, start)
        available = span_end - t
        if remaining <= available:
            return t + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def business_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Clock time on business days in ``[a, b)``; negative when ``b`` is before ``a``."""
    a, b = to_seoul(a), to_seoul(b)
    if b < a:
        return -business_time_between(calendar, b, a)
    total = timedelta(0)
    for span_start, span_end in _business_day_spans_from(calendar, a):
        if span_start >= b:
            break
        total += min(span_end, b) - max(span_start, a)
    return total


def _as_timedelta(value: float | timedelta) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected hours as a number or timedelta, got {type(value).__name__}")
    return timedelta(hours=value)


# ---------------------------------------------------------------------------
# Yearly review of the calendar
# ---------------------------------------------------------------------------


def needs_review_warning(now: datetime, reviewed_years: Iterable[int]) -> bool:
    """True when an admin should review the holiday calendar.

    Any month: the current year is not marked reviewed. In December: also
    when next year is not marked reviewed. ``now`` is judged in Asia/Seoul.
    """
    now = to_seoul(now)
    reviewed = set(reviewed_years)
    if now.year not in reviewed:
        return True
    return now.month == 12 and (now.year + 1) not in reviewed
