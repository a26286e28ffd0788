"""Who handles a new case: the least-loaded present staff member of the department."""

from __future__ import annotations

from datetime import date
from typing import Iterable, Mapping, Sequence

from intake.domain.records import Department, Route, StaffMember


def _absent(ranges: Iterable[tuple[date, date]], on: date) -> bool:
    return any(start <= on <= end for start, end in ranges)


def choose_handler(
    department: str,
    roster: Sequence[StaffMember],
    departments: Mapping[str, Department] | Sequence[Department],
    open_counts: Mapping[str, int],
    absences: Mapping[str, Sequence[tuple[date, date]]],
    on: date,
    delegates: Mapping[str, str] | None = None,
) -> Route:
    """Fewest open cases among active staff of ``department`` not absent ``on``
    (inclusive date ranges); ties by staff id. Nobody available -> the head, or the head's
    delegate when ``delegates`` (staff id -> who stands in for them ``on``) names one.

    Raises KeyError for an unknown department.
    """
    deps = departments if isinstance(departments, Mapping) else {d.id: d for d in departments}
    dep = deps[department]
    members = [s for s in roster if s.department == department]
    active = [s for s in members if s.active]
    present = [s for s in active if not _absent(absences.get(s.id, ()), on)]
    if present:
        best = min(present, key=lambda s: (open_counts.get(s.id, 0), s.id))
        tied = [s.id for s in present if open_counts.get(s.id, 0) == open_counts.get(best.id, 0)]
        reason = (
            f"fewest open cases ({open_counts.get(best.id, 0)}) among {len(present)} present staff of {department}"
            + (f"; tie with {', '.join(t for t in tied if t != best.id)} broken by id" if len(tied) > 1 else "")
        )
        return Route(department, best.id, reason)
    why = "no active staff" if not active else "all active staff absent on " + on.isoformat()
    reason = f"{why} in {department}: department head {dep.head}"
    delegate = (delegates or {}).get(dep.head)
    if delegate and delegate != dep.head:
        return Route(department, delegate, f"{reason}; {dep.head} away: delegate {delegate}")
    return Route(department, dep.head, reason)
