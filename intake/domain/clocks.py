"""Charter clocks as data: what a clock's due time is, and which timed actions it owes.

Pure core: no I/O, no clock of its own; ``now`` is always a parameter.

A case carries one clock per promise (reply, phone-call, review, issuance,
error-contact, error-fix …). Each clock is stored as a row (started_at,
pauses, extension, state); this module computes from that row:

- ``clock_due``: the due moment (``None`` while a pause is open);
- ``scheduled_actions``: the timed actions the clock owes, each with the
  moment it becomes due and a ``key`` that names it exactly once, so a ledger
  row with a unique key makes sending idempotent across restarts and
  instances;
- ``next_check``: when a sweeper must look at the clock again.

Action kinds:

``remind-half``      the handler, when half the period has run (once per clock;
                     counted like the due, paused time skipped; none after an
                     extension, and none when it would fall on the due day,
                     where the morning reminder says the same);
``remind-morning``   the handler, at the start of working hours on the due day
                     (once per due date: an extension earns a new one; none
                     when the clock started that same day);
``overdue``          the clock ran out: the case is marked overdue (any time);
``escalate``         the department head is told (working hours);
``progress``         the customer gets a progress notice (customer-facing clocks,
                     working hours).

Reminders, escalations and notices go out only at working moments; the
``overdue`` mark does not wait. A reminder is stale once its clock ran out or
a later reminder of the same clock is due as well (after a downtime): it is
skipped, never sent late.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from intake.domain.deadlines import DeadlinePolicy, Extension, Pause, due_time, reminder_time
from intake.domain.workdays import BusinessCalendar, is_working_moment, next_working_moment, to_seoul


class ClockState(str, enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"              # the promise was kept (answered, called, fixed …)
    CANCELLED = "cancelled"  # the case was closed without the promise being due any more


class ActionKind(str, enum.Enum):
    REMIND_HALF = "remind-half"
    REMIND_MORNING = "remind-morning"
    OVERDUE = "overdue"
    ESCALATE = "escalate"
    PROGRESS = "progress"


#: Clocks whose promise is made to the customer: they earn a progress notice at the due time.
CUSTOMER_FACING = frozenset({"reply", "correction", "review", "issuance", "error-fix"})

#: Kinds that are mail and so wait for working hours.
MAIL_KINDS = frozenset({ActionKind.REMIND_HALF, ActionKind.REMIND_MORNING, ActionKind.ESCALATE, ActionKind.PROGRESS})


@dataclass(frozen=True)
class ReminderRules:
    """Which reminders go out (``[reminders]`` in intake.toml)."""

    half_period: bool = True
    morning_of_due_day: bool = True
    escalate_overdue: bool = True
    customer_progress_notice: bool = True


@dataclass(frozen=True)
class Clock:
    """A clock row, typed. ``pauses`` are (begin, end|None), ``None`` = still paused."""

    id: int
    policy: str
    state: ClockState
    started_at: datetime
    pauses: tuple[Pause, ...] = ()
    extension: Extension | None = None

    @property
    def open_pause(self) -> datetime | None:
        return next((b for b, e in self.pauses if e is None), None)

    @property
    def is_live(self) -> bool:
        return self.state in (ClockState.RUNNING, ClockState.PAUSED)


@dataclass(frozen=True)
class DueAction:
    kind: ActionKind
    at: datetime            # when it becomes due
    key: str                # names this action exactly once (ledger key)
    due_at: datetime        # the clock's due time it refers to


# ------------------------------------------------------------------ row encoding


def encode_pauses(pauses: Iterable[Pause]) -> str:
    return json.dumps([[b.isoformat(), e.isoformat() if e else None] for b, e in pauses])


def decode_pauses(text: str | None) -> tuple[Pause, ...]:
    out = []
    for begin, end in json.loads(text or "[]"):
        out.append((datetime.fromisoformat(begin), datetime.fromisoformat(end) if end else None))
    return tuple(out)


def decode_extension(date_text: str | None, reason: str | None) -> Extension | None:
    if not date_text:
        return None
    return Extension(date.fromisoformat(date_text), reason or "-")


# ------------------------------------------------------------------ computing


def clock_due(calendar: BusinessCalendar, policy: DeadlinePolicy, clock: Clock) -> datetime | None:
    """The due moment; ``None`` while an open pause makes it unknown."""
    pauses = clock.pauses if policy.pausable else ()
    return due_time(calendar, policy, clock.started_at, pauses, clock.extension)


def paused_now(clock: Clock, begin: datetime) -> Clock:
    if clock.open_pause is not None:
        raise ClockError("the clock is already on hold")
    return Clock(clock.id, clock.policy, ClockState.PAUSED, clock.started_at,
                 clock.pauses + ((begin, None),), clock.extension)


def resumed_now(clock: Clock, end: datetime) -> Clock:
    if clock.open_pause is None:
        raise ClockError("the clock is not on hold")
    pauses = tuple((b, end if e is None else e) for b, e in clock.pauses)
    return Clock(clock.id, clock.policy, ClockState.RUNNING, clock.started_at, pauses, clock.extension)


def extended(calendar: BusinessCalendar, policy: DeadlinePolicy, clock: Clock, new_date: date, reason: str,
             now: datetime) -> Clock:
    """A clock extended once (시행령 제21조): to a business day after the current due and not in the past."""
    if clock.extension is not None:
        raise ClockError(f"already extended once (to {clock.extension.new_date.isoformat()})")
    if not reason or not reason.strip():
        raise ClockError("an extension needs a reason")
    if not calendar.is_business_day(new_date):
        raise ClockError(f"{new_date.isoformat()} is not a business day")
    current = clock_due(calendar, policy, clock)
    if current is not None and new_date <= to_seoul(current).date():
        raise ClockError(f"{new_date.isoformat()} is not after the current due date "
                         f"{to_seoul(current).date().isoformat()}")
    if new_date < to_seoul(now).date():
        raise ClockError(f"{new_date.isoformat()} is in the past")
    pauses = tuple((b, now if e is None else e) for b, e in clock.pauses)   # an extension ends any hold
    return Clock(clock.id, clock.policy, ClockState.RUNNING, clock.started_at, pauses,
                 Extension(new_date, reason.strip()))


class ClockError(ValueError):
    """A clock change that the rules do not allow (the message says why, for staff)."""


def scheduled_actions(calendar: BusinessCalendar, policy: DeadlinePolicy, clock: Clock,
                      rules: ReminderRules = ReminderRules()) -> list[DueAction]:
    """Every timed action this clock owes, for its current due time (none while paused or stopped)."""
    if clock.state is not ClockState.RUNNING:
        return []
    due = clock_due(calendar, policy, clock)
    if due is None:
        return []
    due = to_seoul(due)
    stamp = due.isoformat()
    actions: list[DueAction] = []
    morning = None
    if rules.morning_of_due_day:
        periods = calendar.day_periods(due.date())
        start = to_seoul(clock.started_at)
        if periods and periods[0][0] < due and periods[0][0].date() > start.date():
            morning = periods[0][0]
    if rules.half_period and clock.extension is None:
        # Half the period counted exactly as the due is (paused time skipped);
        # on the due day itself the morning reminder says the same, so only one goes.
        pauses = clock.pauses if policy.pausable else ()
        half = reminder_time(calendar, policy, clock.started_at, 0.5, pauses)
        if half is not None and half < due and (morning is None or half < morning):
            actions.append(DueAction(ActionKind.REMIND_HALF, half, f"remind-half:{clock.id}", due))
    if morning is not None:
        actions.append(DueAction(ActionKind.REMIND_MORNING, morning,
                                 f"remind-morning:{clock.id}:{due.date().isoformat()}", due))
    actions.append(DueAction(ActionKind.OVERDUE, due, f"overdue:{clock.id}:{stamp}", due))
    after = next_working_moment(calendar, due)
    if rules.escalate_overdue:
        actions.append(DueAction(ActionKind.ESCALATE, after, f"escalate:{clock.id}:{stamp}", due))
    if rules.customer_progress_notice and clock.policy in CUSTOMER_FACING:
        actions.append(DueAction(ActionKind.PROGRESS, after, f"progress:{clock.id}:{stamp}", due))
    return actions


REMINDER_KINDS = frozenset({ActionKind.REMIND_HALF, ActionKind.REMIND_MORNING})


def is_stale(action: DueAction, actions: Sequence[DueAction], now: datetime) -> bool:
    """A reminder nobody needs any more: its clock ran out (the overdue actions
    take over), or a later reminder of the same clock is due too (after a
    downtime only the latest one goes)."""
    if action.kind not in REMINDER_KINDS:
        return False
    if now >= action.due_at:
        return True
    return any(b.kind in REMINDER_KINDS and action.at < b.at <= now for b in actions)


def actions_to_take(calendar: BusinessCalendar, actions: Sequence[DueAction], done_keys: set[str],
                    now: datetime) -> list[DueAction]:
    """The actions due at ``now`` and not yet in the ledger.

    Mail waits for a working moment (never at night, at lunch, on a weekend or
    a holiday); the overdue mark does not. Stale reminders (``is_stale``) are
    not sent.
    """
    now = to_seoul(now)
    working = is_working_moment(calendar, now)
    out = []
    for a in actions:
        if a.key in done_keys or a.at > now or is_stale(a, actions, now):
            continue
        if a.kind in MAIL_KINDS and not working:
            continue
        out.append(a)
    return out


def next_check(calendar: BusinessCalendar, actions: Sequence[DueAction], done_keys: set[str],
               now: datetime) -> datetime | None:
    """When the sweeper must look again: the earliest action not yet done (or, for mail
    held back outside working hours, the next working moment); ``None`` when nothing is owed."""
    now = to_seoul(now)
    times = []
    for a in actions:
        if a.key in done_keys or (a.at <= now and is_stale(a, actions, now)):
            continue
        at = a.at
        if at <= now:
            at = next_working_moment(calendar, now) if a.kind in MAIL_KINDS else now
        times.append(at)
    return min(times) if times else None


@dataclass(frozen=True)
class Recomputed:
    """A clock whose due time moved (calendar.toml edited)."""

    clock_id: int
    before: datetime | None
    after: datetime | None


def recompute(calendar: BusinessCalendar, policies, clocks: Iterable[tuple[Clock, datetime | None]]) -> list[Recomputed]:
    """Clocks whose stored due differs from the one the (new) calendar gives."""
    moved = []
    for clock, stored in clocks:
        if not clock.is_live:
            continue
        new = clock_due(calendar, policies[clock.policy], clock)
        if (new is None) != (stored is None) or (new is not None and stored is not None and new != stored):
            moved.append(Recomputed(clock.id, stored, new))
    return moved
