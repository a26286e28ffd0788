"""Absences and calendar days entered in the console, laid over staff.toml and calendar.toml.

Why rows and not rewritten TOML files: the change and its audit event commit together, two
console processes cannot overwrite each other's edit, the console needs no write access to
/etc/intake, and the admins' commented TOML files stay theirs. The files remain the base; the
rows add to them. The daemon picks them up at its sweep: ``fingerprint`` is part of what the
sweeper compares before reloading the calendar (then the due times of open cases are
recomputed), and ``App.apply_console_overrides`` merges them.

The merge functions are pure (tested as tables); only ``load`` and ``fingerprint`` read rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import inspect, select

from intake.domain.calendar_config import CalendarConfig
from intake.web.tables import WebAbsence, WebCalendarDay

CLOSED, WORKING = "closed", "working"


@dataclass(frozen=True)
class Absence:
    staff_id: str
    first_day: date
    last_day: date
    delegate_id: str


@dataclass(frozen=True)
class Day:
    day: date
    kind: str          # closed | working
    note: str


def merge_calendar(config: CalendarConfig, days: list[Day]) -> CalendarConfig:
    """The file's extra closed and working days, with the console's days over them (a console
    day decides its date: a working day there removes a closed one from the file, and back)."""
    closed = dict(config.extra_closed)
    working = set(config.extra_working)
    for d in days:
        if d.kind == CLOSED:
            closed[d.day] = d.note or "휴무(관리 화면에서 지정)"
            working.discard(d.day)
        else:
            working.add(d.day)
            closed.pop(d.day, None)
    return replace(config, extra_closed=closed, extra_working=frozenset(working))


def merge_absences(roster, absences: list[Absence]):
    """The roster with the console's absences added to each person's ``away`` periods, and their
    delegates in ``delegates`` (read with ``intake.settings_roster.delegate_for``)."""
    merged = {k: tuple(v) for k, v in roster.absences.items()}
    delegates = {k: tuple(v) for k, v in roster.delegates.items()}
    for a in absences:
        merged[a.staff_id] = tuple(sorted(set(merged.get(a.staff_id, ())) | {(a.first_day, a.last_day)}))
        delegates[a.staff_id] = (*delegates.get(a.staff_id, ()), (a.first_day, a.last_day, a.delegate_id))
    return replace(roster, absences=merged, delegates=delegates)


def delegate_on(absences: list[Absence], staff_id: str, day: date) -> str | None:
    """Who stands in for ``staff_id`` on ``day`` (the console's absences), if anyone."""
    for a in absences:
        if a.staff_id == staff_id and a.first_day <= day <= a.last_day:
            return a.delegate_id
    return None


def _ready(conn) -> bool:
    return inspect(conn).has_table(WebCalendarDay.__tablename__)


def load(conn) -> tuple[list[Absence], list[Day]]:
    """The live (not removed) rows; nothing before migration 0007."""
    if not _ready(conn):
        return [], []
    a, d = WebAbsence.__table__, WebCalendarDay.__table__
    absences = [Absence(r.staff_id, r.first_day, r.last_day, r.delegate_id) for r in conn.execute(
        select(a).where(a.c.removed_at.is_(None)).order_by(a.c.id))]
    days = [Day(r.day, r.kind, r.note) for r in conn.execute(
        select(d).where(d.c.removed_at.is_(None)).order_by(d.c.id))]
    return absences, days


def fingerprint(engine) -> str:
    """Changes when a console absence or calendar day is added or removed."""
    with engine.connect() as conn:
        absences, days = load(conn)
    return hashlib.sha256(repr((absences, days)).encode()).hexdigest()
