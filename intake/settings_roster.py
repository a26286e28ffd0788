"""config/staff.toml: departments, staff (with their console role) and absences, validated like
intake.toml (every problem names file, key and what is wrong)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from intake.domain.records import Department, StaffMember
from intake.errors import ConfigError, ConfigErrors
from intake.settings_reader import Section, address, one_of, read_toml


ROLES = ("staff", "manager", "admin")


@dataclass(frozen=True)
class StaffRoster:
    departments: tuple[Department, ...]
    staff: tuple[StaffMember, ...]
    absences: Mapping[str, tuple[tuple[Any, Any], ...]] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)   # staff id -> staff|manager|admin (console rights)
    # staff id -> ((first day, last day, delegate id), ...): the console's absences with a delegate
    delegates: Mapping[str, tuple[tuple[Any, Any, str], ...]] = field(default_factory=dict)

    def role(self, staff_id: str) -> str:
        """The console role: as written in staff.toml, else ``manager`` for a department head, else ``staff``."""
        if staff_id in self.roles:
            return self.roles[staff_id]
        return "manager" if any(d.head == staff_id for d in self.departments) else "staff"

    def department(self, dep_id: str) -> Department | None:
        return next((d for d in self.departments if d.id == dep_id), None)

    def member(self, staff_id: str) -> StaffMember | None:
        return next((s for s in self.staff if s.id == staff_id), None)

    def member_by_email(self, address: str | None) -> StaffMember | None:
        a = (address or "").strip().lower()
        return next((s for s in self.staff if s.email.lower() == a), None) if a else None


def delegate_for(roster: StaffRoster, staff_id: str, day) -> str | None:
    """Who stands in for ``staff_id`` on ``day``: the delegate of an absence covering that day, when
    the delegate is another active member of the roster; else None (mail stays with the person)."""
    for first, last, delegate_id in roster.delegates.get(staff_id, ()):
        member = roster.member(delegate_id)
        if first <= day <= last and delegate_id != staff_id and member is not None and member.active:
            return delegate_id
    return None


def delegates_on(roster: StaffRoster, day) -> dict[str, str]:
    """Staff id -> the delegate standing in for them on ``day`` (``delegate_for`` of everyone with one)."""
    out = {}
    for staff_id in roster.delegates:
        delegate = delegate_for(roster, staff_id, day)
        if delegate is not None:
            out[staff_id] = delegate
    return out


DEPARTMENT_KEYS = {"id", "name", "head"}
STAFF_KEYS = {"id", "name", "department", "phone", "email", "active", "away", "role"}


def load_roster(path: Path, errors: list[ConfigError]) -> StaffRoster:
    """staff.toml: [[department]] and [[staff]] tables (absences as ``away``)."""
    try:
        data = read_toml(path)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        return StaffRoster((), ())
    for key in data:
        if key not in ("department", "staff"):
            errors.append(ConfigError(path, key, "unknown section (known: department, staff)"))
    departments: list[Department] = []
    for i, raw in enumerate(_table_list(path, "department", data.get("department"), errors)):
        sec = Section(path, f"department[{i}]", raw, errors, DEPARTMENT_KEYS)
        dep_id, name, head = (sec.get(k, str, "") for k in ("id", "name", "head"))
        for k, v in (("id", dep_id), ("name", name), ("head", head)):
            if not v:
                errors.append(ConfigError(path, sec.key(k), "is required"))
        departments.append(Department(id=dep_id, name=name, head=head))
    staff: list[StaffMember] = []
    absences: dict[str, tuple] = {}
    roles: dict[str, str] = {}
    for i, raw in enumerate(_table_list(path, "staff", data.get("staff"), errors)):
        sec = Section(path, f"staff[{i}]", raw, errors, STAFF_KEYS)
        values = {k: sec.get(k, str, "") for k in ("id", "name", "department", "phone", "email")}
        for k in ("id", "name", "department", "email"):
            if not values[k]:
                errors.append(ConfigError(path, sec.key(k), "is required"))
        if values["email"] and address(values["email"]):
            errors.append(ConfigError(path, sec.key("email"), address(values["email"]) or ""))
        if not values["phone"]:
            errors.append(ConfigError(path, sec.key("phone"), "is required: every reply names the handler's phone"))
        member = StaffMember(active=sec.get("active", bool, True), **values)
        member = StaffMember(id=member.id, name=member.name, department=member.department, phone=member.phone,
                             email=member.email.lower(), active=member.active)
        staff.append(member)
        absences[member.id] = _absences(sec)
        if "role" in sec.data:
            roles[member.id] = sec.get("role", str, "staff", one_of(ROLES))
    ids = [s.id for s in staff]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        errors.append(ConfigError(path, "staff", f"duplicate staff id {dup!r}"))
    dep_ids = {d.id for d in departments}
    for i, s in enumerate(staff):
        if s.department and s.department not in dep_ids:
            errors.append(ConfigError(path, f"staff[{i}].department", f"unknown department {s.department!r}"))
    for i, d in enumerate(departments):
        if d.head and d.head not in ids:
            errors.append(ConfigError(path, f"department[{i}].head", f"no staff member with id {d.head!r}"))
    return StaffRoster(tuple(departments), tuple(staff), absences, roles)


def _table_list(path: Path, key: str, value: Any, errors: list[ConfigError]) -> list[dict]:
    if value is None:
        errors.append(ConfigError(path, key, f"at least one [[{key}]] is required"))
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.append(ConfigError(path, key, f"must be an array of tables ([[{key}]])"))
        return []
    return value


def _absences(sec: Section) -> tuple:
    """``away = [["2026-12-01", "2026-12-05"], …]`` inclusive date ranges."""
    import datetime as _dt

    raw = sec.data.get("away", [])
    out = []
    if not isinstance(raw, list):
        sec.errors.append(ConfigError(sec.file, sec.key("away"), "must be a list of [from, to] date pairs"))
        return ()
    for j, pair in enumerate(raw):
        try:
            a, b = pair
            a = a if isinstance(a, _dt.date) else _dt.date.fromisoformat(str(a))
            b = b if isinstance(b, _dt.date) else _dt.date.fromisoformat(str(b))
            if b < a:
                raise ValueError("end before start")
            out.append((a, b))
        except (TypeError, ValueError) as exc:
            sec.errors.append(ConfigError(sec.file, f"{sec.key('away')}[{j}]", f"must be [from, to] ISO dates: {exc}"))
    return tuple(out)
