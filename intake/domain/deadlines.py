"""Charter deadline engine (민원처리법 제19조, 시행령 제20조·제21조).

Pure core: no I/O, no clock. Time is always a parameter.

Counting rules, as the association applies them:

``working-hours`` (periods of 5 days or less, and periods given in hours)
    Counted in working hours from the moment of receipt, 8 hours per day
    (2 days = 16 working hours). Nights, lunch, weekends and holidays do not
    count; a request received outside working hours starts at the next
    working period. A count ending exactly at a period's end is due at that
    moment (12:00 or 18:00).

``days`` (periods of 6 days or more)
    Counted in business days, the first day included. Day 1 is the business
    day on which the clock starts, where the clock starts at
    ``next_working_moment(received)``: a request received on a business day
    before 18:00 (lunch included) has that day as day 1; one received after the
    end of working hours, or on a weekend/holiday, has the next business day as
    day 1 (it is handled as received at the next working period, the same way
    the working-hours rule treats it). Due at the end of working hours
    (18:00) of day N.

``business-elapsed`` (error-contact)
    Elapsed clock time on business days only: every hour of a business day
    counts (nights too); Saturdays, Sundays and holidays do not.

Pauses (시행령 제20조: supplements, consultations, tests) are not counted.
Each pause is ``(begin, end)``; ``end=None`` means the pause is still open and
the due time is unknown: ``due_time`` then returns ``None`` (see
``PENDING``). For ``days`` counting a pause removes the working time it covers
and the due is the end of the business day on which the remaining count runs
out, so a paused part of a day pushes the due by at most that whole day.

Extension (시행령 제21조, once, with a reason): the due becomes the end of
working hours on the new date, regardless of the computed count.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from intake.domain.records import DeadlineResult
from intake.domain.workdays import (
    HOURS_PER_DAY,
    BusinessCalendar,
    business_point_after,
    business_time_between,
    next_business_moment,
    next_working_moment,
    point_after,
    to_seoul,
    working_time_between,
)

#: Returned by ``due_time`` when an open pause makes the due time unknown.
PENDING = None

#: Policy ids are a contract with the database, templates and reports.
CONTRACT_POLICY_IDS: tuple[str, ...] = (
    "reply",
    "phone-call",
    "correction",
    "review",
    "issuance",
    "error-contact",
    "error-fix",
)


class PeriodUnit(str, enum.Enum):
    DAYS = "days"
    HOURS = "hours"


class Counting(str, enum.Enum):
    WORKING_HOURS = "working-hours"
    DAYS = "days"
    BUSINESS_ELAPSED = "business-elapsed"


class StartEvent(str, enum.Enum):
    RECEIPT = "receipt"
    APPROVAL = "approval"
    ERROR = "error"


def derive_counting(amount: int, unit: PeriodUnit) -> Counting:
    """The act's rule: ≤5 days → working hours, ≥6 days → days; hours → working hours."""
    unit = PeriodUnit(unit)
    if unit is PeriodUnit.HOURS:
        return Counting.WORKING_HOURS
    return Counting.WORKING_HOURS if amount <= 5 else Counting.DAYS


@dataclass(frozen=True)
class DeadlinePolicy:
    id: str
    label: str                 # Korean, for staff and customers
    amount: int                # period length, in ``unit``
    unit: PeriodUnit
    counting: Counting
    start_event: StartEvent
    pausable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", PeriodUnit(self.unit))
        object.__setattr__(self, "counting", Counting(self.counting))
        object.__setattr__(self, "start_event", StartEvent(self.start_event))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError(f"policy {self.id}: amount must be a positive integer")
        if self.counting is Counting.DAYS and self.unit is not PeriodUnit.DAYS:
            raise ValueError(f"policy {self.id}: days counting needs a period in days")

    @property
    def period(self) -> timedelta:
        """The length of the count in the policy's own measure.

        Working hours for ``working-hours`` (days × 8 h), business-day clock time
        for ``business-elapsed`` (days × 24 h), N × 8 working hours for ``days``.
        """
        if self.counting is Counting.BUSINESS_ELAPSED:
            per_day = 24
        else:
            per_day = HOURS_PER_DAY
        if self.unit is PeriodUnit.HOURS:
            return timedelta(hours=self.amount)
        return timedelta(hours=self.amount * per_day)


@dataclass(frozen=True)
class Extension:
    """A one-time extension (시행령 제21조): new due date and the reason given."""

    new_date: date
    reason: str

    def __post_init__(self) -> None:
        if isinstance(self.new_date, datetime) or not isinstance(self.new_date, date):
            raise TypeError("Extension.new_date must be a date")
        if not self.reason or not self.reason.strip():
            raise ValueError("an extension needs a reason")


Pause = tuple[datetime, "datetime | None"]


def _normalise_pauses(pauses: Iterable[Pause], clock_start: datetime) -> list[tuple[datetime, datetime | None]]:
    """Sorted, merged pauses clipped to start at ``clock_start`` or later."""
    cleaned: list[tuple[datetime, datetime | None]] = []
    for item in pauses:
        try:
            begin, end = item
        except (TypeError, ValueError):
            raise ValueError(f"a pause is (begin, end|None), got {item!r}") from None
        begin = to_seoul(begin)
        end = to_seoul(end) if end is not None else None
        if end is not None and end < begin:
            raise ValueError(f"pause ends before it begins: {begin.isoformat()} > {end.isoformat()}")
        if end is not None and end <= clock_start:
            continue
        cleaned.append((max(begin, clock_start), end))
    cleaned.sort(key=lambda p: p[0])
    merged: list[tuple[datetime, datetime | None]] = []
    for begin, end in cleaned:
        if merged:
            last_begin, last_end = merged[-1]
            if last_end is None:
                break  # already open: nothing after it matters
            if begin <= last_end:
                new_end = None if end is None else max(last_end, end)
                merged[-1] = (last_begin, new_end)
                continue
        merged.append((begin, end))
    return merged


def _count_with_pauses(
    start: datetime,
    total: timedelta,
    pauses: list[tuple[datetime, datetime | None]],
    measure: Callable[[datetime, datetime], timedelta],
    advance: Callable[[datetime, timedelta], datetime],
) -> datetime | None:
    """Advance ``total`` of measured time from ``start``, skipping paused intervals."""
    t = start
    remaining = total
    for begin, end in pauses:
        candidate = advance(t, remaining)
        if begin >= candidate:
            return candidate  # the pause starts after the count ran out
        if begin > t:
            remaining -= measure(t, begin)
        if end is None:
            return PENDING
        t = max(t, end)
    return advance(t, remaining)


def clock_start(calendar: BusinessCalendar, policy: DeadlinePolicy, event_at: datetime) -> datetime:
    """When the clock effectively starts for ``policy`` after its start event."""
    if policy.counting is Counting.BUSINESS_ELAPSED:
        return next_business_moment(calendar, event_at)
    return next_working_moment(calendar, event_at)


def due_time(
    calendar: BusinessCalendar,
    policy: DeadlinePolicy,
    start: datetime,
    pauses: Sequence[Pause] = (),
    extension: Extension | None = None,
) -> datetime | None:
    """Due moment (aware, Asia/Seoul) for ``policy`` whose start event was at ``start``.

    Returns ``None`` (``PENDING``) when a pause is still open (end ``None``)
    and began before the count ran out: the due is unknown until it closes.

    ``pauses`` on a policy that is not pausable raise ``ValueError``.

    With an ``extension`` the due is the end of working hours on
    ``extension.new_date`` (which must be a business day, not before the day
    the clock started); pauses are then not consulted.
    """
    start = to_seoul(start)
    pauses = tuple(pauses)
    if pauses and not policy.pausable:
        raise ValueError(f"policy {policy.id} cannot be paused")
    begin = clock_start(calendar, policy, start)

    if extension is not None:
        if not calendar.is_business_day(extension.new_date):
            raise ValueError(f"extension date {extension.new_date} is not a business day")
        if extension.new_date < begin.date():
            raise ValueError(f"extension date {extension.new_date} is before the clock started")
        return calendar.end_of_working_day(extension.new_date)

    if policy.counting is Counting.BUSINESS_ELAPSED:
        return _count_with_pauses(
            begin,
            policy.period,
            _normalise_pauses(pauses, begin),
            lambda a, b: business_time_between(calendar, a, b),
            lambda t, h: business_point_after(calendar, t, h),
        )

    measure = lambda a, b: working_time_between(calendar, a, b)  # noqa: E731
    advance = lambda t, h: point_after(calendar, t, h)  # noqa: E731

    if policy.counting is Counting.WORKING_HOURS:
        return _count_with_pauses(begin, policy.period, _normalise_pauses(pauses, begin), measure, advance)

    # Counting.DAYS: day 1 is the date of ``begin``; count N × 8 working hours
    # from the start of day 1's working hours, then round up to that day's end.
    first_day = begin.date()
    day_start = calendar.day_periods(first_day)[0][0]
    raw = _count_with_pauses(day_start, policy.period, _normalise_pauses(pauses, begin), measure, advance)
    if raw is None:
        return PENDING
    return calendar.end_of_working_day(raw.date())


def deadline(
    calendar: BusinessCalendar,
    policy: DeadlinePolicy,
    start: datetime,
    pauses: Sequence[Pause] = (),
    extension: Extension | None = None,
) -> DeadlineResult | None:
    """``due_time`` wrapped in a ``DeadlineResult``; ``None`` while pending.

    ``DeadlineResult.start`` is the effective clock start (``clock_start``).
    """
    due = due_time(calendar, policy, start, pauses, extension)
    if due is None:
        return None
    return DeadlineResult(policy=policy.id, start=clock_start(calendar, policy, start), due=due)


def reminder_time(
    calendar: BusinessCalendar,
    policy: DeadlinePolicy,
    start: datetime,
    fraction: float = 0.5,
    pauses: Sequence[Pause] = (),
) -> datetime | None:
    """When ``fraction`` of the period has been counted, for reminders.

    Counted exactly as ``due_time`` counts (same measure, same start, paused
    intervals skipped), so ``fraction=1`` without an extension is the due time
    of a working-hours clock. Returns ``None`` while an open pause began before
    the point (unknown until it ends).

    Always a working moment (reminders go out only in working hours): a point
    falling at 12:00/18:00 or outside hours moves to the next period start.
    """
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    pauses = tuple(pauses)
    if pauses and not policy.pausable:
        raise ValueError(f"policy {policy.id} cannot be paused")
    begin = clock_start(calendar, policy, to_seoul(start))
    cleaned = _normalise_pauses(pauses, begin)
    if policy.counting is Counting.BUSINESS_ELAPSED:
        point = _count_with_pauses(begin, policy.period * fraction, cleaned,
                                   lambda a, b: business_time_between(calendar, a, b),
                                   lambda t, h: business_point_after(calendar, t, h))
    else:
        if policy.counting is Counting.DAYS:
            begin = calendar.day_periods(begin.date())[0][0]
        point = _count_with_pauses(begin, policy.period * fraction, cleaned,
                                   lambda a, b: working_time_between(calendar, a, b),
                                   lambda t, h: point_after(calendar, t, h))
    if point is None:
        return PENDING
    return next_working_moment(calendar, point)
