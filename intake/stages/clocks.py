"""Charter clocks as rows: start, change and read a case's clocks inside the caller's transaction.

``intake.domain.clocks`` computes (due times, timed actions); this module keeps
the ``case_clock`` rows and the case's summary columns (``due_at``, ``overdue``)
in step with it. Every change recomputes the due time and the moment the
sweeper must next look (``next_check_at``), so nothing waits in memory.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from intake.domain.clocks import (
    Clock, ClockError, ClockState, clock_due, decode_extension, decode_pauses, encode_pauses, extended,
    next_check, paused_now, resumed_now, scheduled_actions,
)
from intake.models import Case, CaseClock, Notice
from intake.stages.rows import audit

LIVE_STATES = (ClockState.RUNNING.value, ClockState.PAUSED.value)


def to_clock(row: CaseClock) -> Clock:
    return Clock(id=row.id or 0, policy=row.policy, state=ClockState(row.state), started_at=row.started_at,
                 pauses=decode_pauses(row.pauses), extension=decode_extension(row.extension_date, row.extension_reason))


def reminder_rules(app):
    return app.settings.reminders.rules


def _store(row: CaseClock, clock: Clock) -> None:
    row.state = clock.state.value
    row.pauses = encode_pauses(clock.pauses)
    row.extension_date = clock.extension.new_date.isoformat() if clock.extension else None
    row.extension_reason = clock.extension.reason if clock.extension else None


def done_keys(session: Session, clock_id: int) -> set[str]:
    return set(session.exec(select(Notice.key).where(Notice.clock_id == clock_id)).all())


def refresh(session: Session, app, row: CaseClock, now: datetime) -> datetime | None:
    """Recompute ``due_at`` and ``next_check_at`` of a clock row from its state; returns the due."""
    clock = to_clock(row)
    calendar = app.calendar(clock.started_at)
    policy = app.policies[clock.policy]
    due = clock_due(calendar, policy, clock) if clock.is_live or row.due_at is None else row.due_at
    if clock.is_live:
        row.due_at = due
        actions = scheduled_actions(calendar, policy, clock, reminder_rules(app))
        keys = done_keys(session, row.id) if row.id else set()
        row.next_check_at = next_check(calendar, actions, keys, now)
    else:
        row.next_check_at = None
    session.add(row)
    return row.due_at


def start_clock(session: Session, app, case: Case, policy_id: str, started_at: datetime, now: datetime, *,
                actor: str = "system", sync: bool = True) -> CaseClock:
    """A new running clock for ``policy_id`` whose start event happened at ``started_at``."""
    if policy_id not in app.policies:
        raise ClockError(f"unknown policy {policy_id!r}")
    row = CaseClock(case_id=case.id, policy=policy_id, state=ClockState.RUNNING.value, started_at=started_at,
                    pauses="[]", created_at=now)
    due = refresh(session, app, row, now)      # a new row has no notices yet: nothing to look up, no flush
    audit(session, now, "clock-started", case_id=case.id, actor=actor,
          detail={"policy": policy_id, "started": started_at.isoformat(), "due": due.isoformat() if due else None})
    if sync:
        sync_case(session, case, now)
    return row


def case_clocks(session: Session, case_id: int, *, live_only: bool = False) -> list[CaseClock]:
    q = select(CaseClock).where(CaseClock.case_id == case_id)
    if live_only:
        q = q.where(CaseClock.state.in_(LIVE_STATES))
    return list(session.exec(q.order_by(CaseClock.id)).all())


def sync_case(session: Session, case: Case, now: datetime) -> None:
    """The case's ``due_at`` is its earliest live due; ``overdue`` is whether any live clock ran out."""
    session.flush()
    live = case_clocks(session, case.id, live_only=True)
    dues = [c.due_at for c in live if c.due_at is not None]
    if dues:
        case.due_at = min(dues)
    case.overdue = any(c.overdue_at is not None for c in live)
    session.add(case)


def live_clock(session: Session, case: Case, policies: tuple[str, ...] | None = None) -> CaseClock | None:
    """The clock a staff command acts on: the live one of ``policies`` (any when None), earliest due first."""
    clocks = [c for c in case_clocks(session, case.id, live_only=True) if policies is None or c.policy in policies]
    clocks.sort(key=lambda c: (c.due_at is None, c.due_at.timestamp() if c.due_at else 0.0, c.id))
    return clocks[0] if clocks else None


def hold(session: Session, app, row: CaseClock, now: datetime) -> None:
    policy = app.policies[row.policy]
    if not policy.pausable:
        raise ClockError(f"the {policy.label} clock ({row.policy}) cannot be put on hold; "
                         f"extend it once with a reason instead")
    _store(row, paused_now(to_clock(row), now))
    refresh(session, app, row, now)


def resume(session: Session, app, row: CaseClock, now: datetime) -> datetime | None:
    _store(row, resumed_now(to_clock(row), now))
    return refresh(session, app, row, now)


def extend(session: Session, app, row: CaseClock, new_date: date, reason: str, now: datetime) -> datetime | None:
    clock = to_clock(row)
    _store(row, extended(app.calendar(clock.started_at), app.policies[row.policy], clock, new_date, reason, now))
    row.overdue_at = None
    return refresh(session, app, row, now)


def stop(session: Session, app, row: CaseClock, state: ClockState, now: datetime) -> None:
    """The promise was kept (``MET``) or no longer applies (``CANCELLED``)."""
    clock = to_clock(row)
    if not clock.is_live:
        return
    if clock.open_pause is not None:
        clock = resumed_now(clock, now)
    _store(row, Clock(clock.id, clock.policy, state, clock.started_at, clock.pauses, clock.extension))
    row.stopped_at = now
    refresh(session, app, row, now)


def stop_all(session: Session, app, case: Case, state: ClockState, now: datetime,
             policies: tuple[str, ...] | None = None) -> list[str]:
    stopped = []
    for row in case_clocks(session, case.id, live_only=True):
        if policies is None or row.policy in policies:
            stop(session, app, row, state, now)
            stopped.append(row.policy)
    sync_case(session, case, now)
    return stopped
