"""Validate already-parsed TOML (``config/calendar.toml``, ``config/policies.toml``).

Pure: callers open and ``tomllib``-parse the files, then pass ``data`` and the
``source`` (file name, used only in error messages). Problems raise
``ConfigError(source, key, problem)`` with a dotted key such as
``closed[2].date`` or ``policies.review.amount``.

calendar.toml::

    reviewed_years = [2026]            # admins mark a year reviewed

    [working_hours]
    periods = [{ start = "09:00", end = "12:00" }, { start = "13:00", end = "18:00" }]

    [[closed]]                         # cabinet temporary holidays, own closures
    date = 2026-10-02                  # TOML date or "YYYY-MM-DD"
    name = "임시공휴일"

    [[working]]                        # days treated as working days
    date = 2026-12-31
    reason = "..."                     # optional

policies.toml::

    [policies.reply]
    label = "문의 회신"
    amount = 2
    unit = "days"                      # days | hours
    start = "receipt"                  # receipt | approval | error
    pausable = false                   # optional, default false
    counting = "working-hours"         # optional: derived from the period when absent
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any

from intake.domain.deadlines import (
    CONTRACT_POLICY_IDS,
    Counting,
    DeadlinePolicy,
    PeriodUnit,
    StartEvent,
    derive_counting,
)
from intake.domain.workdays import (
    DEFAULT_WORKING_PERIODS,
    BusinessCalendar,
    WorkingPeriod,
    build_calendar,
)
from intake.errors import ConfigError


@dataclass(frozen=True)
class CalendarConfig:
    extra_closed: Mapping[date, str] = field(default_factory=dict)
    extra_working: frozenset[date] = frozenset()
    working_periods: tuple[WorkingPeriod, ...] = DEFAULT_WORKING_PERIODS
    reviewed_years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_closed", MappingProxyType(dict(self.extra_closed)))

    __hash__ = None  # type: ignore[assignment]


_CALENDAR_KEYS = {"reviewed_years", "working_hours", "closed", "working"}
_POLICY_KEYS = {"label", "amount", "unit", "start", "pausable", "counting"}


def _check_keys(source: str, prefix: str, table: Mapping, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(source, where, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _table(source: str, key: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(source, key, f"must be a table, got {type(value).__name__}")
    return value


def _date(source: str, key: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise ConfigError(source, key, "must be a date without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(source, key, f"must be a date like 2026-10-02, got {value!r}")


def _time(source: str, key: str, value: Any) -> time:
    if isinstance(value, time):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = time.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(source, key, f"must be a time like 09:00, got {value!r}") from None
    else:
        raise ConfigError(source, key, f"must be a time like 09:00, got {value!r}")
    if parsed.tzinfo is not None:
        raise ConfigError(source, key, "must be a local time without an offset")
    return parsed


def _text(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(source, key, "must be a non-empty string")
    return value.strip()


def _array_of_tables(source: str, key: str, value: Any) -> list[Mapping]:
    if not isinstance(value, list):
        raise ConfigError(source, key, f"must be an array of tables ([[{key}]])")
    for i, item in enumerate(value):
        _table(source, f"{key}[{i}]", item)
    return value


def parse_calendar_config(data: dict, source: str) -> CalendarConfig:
    """Validate the parsed calendar.toml into a ``CalendarConfig``."""
    data = _table(source, "(root)", data)
    _check_keys(source, "", data, _CALENDAR_KEYS)
    reviewed = _reviewed_years(source, data.get("reviewed_years", []))
    periods = DEFAULT_WORKING_PERIODS
    if "working_hours" in data:
        periods = _working_hours(source, data["working_hours"]) or periods
    closed = _closed_days(source, data.get("closed", []))
    working = _working_days(source, data.get("working", []), closed)
    return CalendarConfig(
        extra_closed=closed,
        extra_working=frozenset(working),
        working_periods=periods,
        reviewed_years=tuple(sorted(set(reviewed))),
    )


def _reviewed_years(source: str, raw: Any) -> list[int]:
    if not isinstance(raw, list):
        raise ConfigError(source, "reviewed_years", "must be a list of years, e.g. [2026, 2027]")
    reviewed: list[int] = []
    for i, year in enumerate(raw):
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise ConfigError(source, f"reviewed_years[{i}]", f"must be a year (2000-2100), got {year!r}")
        reviewed.append(year)
    return reviewed


def _working_hours(source: str, value: Any) -> tuple[WorkingPeriod, ...] | None:
    """``[working_hours] periods``, sorted and without overlaps; None when not given."""
    hours = _table(source, "working_hours", value)
    _check_keys(source, "working_hours", hours, {"periods"})
    if "periods" not in hours:
        return None
    raw = hours["periods"]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(source, "working_hours.periods", "must be a non-empty list of {start, end}")
    parsed = sorted((_working_period(source, f"working_hours.periods[{i}]", item) for i, item in enumerate(raw)),
                    key=lambda p: p.start)
    for earlier, later in zip(parsed, parsed[1:]):
        if later.start < earlier.end:
            raise ConfigError(
                source, "working_hours.periods",
                f"periods overlap: {earlier.start:%H:%M}-{earlier.end:%H:%M} "
                f"and {later.start:%H:%M}-{later.end:%H:%M}",
            )
    return tuple(parsed)


def _working_period(source: str, key: str, item: Any) -> WorkingPeriod:
    item = _table(source, key, item)
    _check_keys(source, key, item, {"start", "end"})
    for needed in ("start", "end"):
        if needed not in item:
            raise ConfigError(source, f"{key}.{needed}", "missing")
    start = _time(source, f"{key}.start", item["start"])
    end = _time(source, f"{key}.end", item["end"])
    if not start < end:
        raise ConfigError(source, key, f"start {start:%H:%M} must be before end {end:%H:%M}")
    return WorkingPeriod(start, end)


def _closed_days(source: str, value: Any) -> dict[date, str]:
    closed: dict[date, str] = {}
    for i, item in enumerate(_array_of_tables(source, "closed", value)):
        key = f"closed[{i}]"
        _check_keys(source, key, item, {"date", "name"})
        if "date" not in item:
            raise ConfigError(source, f"{key}.date", "missing")
        if "name" not in item:
            raise ConfigError(source, f"{key}.name", "missing: every closed day needs a name")
        d = _date(source, f"{key}.date", item["date"])
        if d in closed:
            raise ConfigError(source, f"{key}.date", f"{d} is listed twice")
        closed[d] = _text(source, f"{key}.name", item["name"])
    return closed


def _working_days(source: str, value: Any, closed: Mapping[date, str]) -> set[date]:
    working: set[date] = set()
    for i, item in enumerate(_array_of_tables(source, "working", value)):
        key = f"working[{i}]"
        _check_keys(source, key, item, {"date", "reason"})
        if "date" not in item:
            raise ConfigError(source, f"{key}.date", "missing")
        d = _date(source, f"{key}.date", item["date"])
        if "reason" in item:
            _text(source, f"{key}.reason", item["reason"])
        if d in closed:
            raise ConfigError(source, f"{key}.date", f"{d} is also listed as closed")
        if d in working:
            raise ConfigError(source, f"{key}.date", f"{d} is listed twice")
        working.add(d)
    return working


def calendar_from_config(config: CalendarConfig, years: Iterable[int]) -> BusinessCalendar:
    """Public holidays for ``years`` (holidays package) plus the configured days."""
    return build_calendar(
        years,
        extra_closed=config.extra_closed,
        extra_working=config.extra_working,
        working_periods=config.working_periods,
    )


def _enum(source: str, key: str, value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = " | ".join(m.value for m in kind)
        raise ConfigError(source, key, f"must be one of {allowed}, got {value!r}") from None


def parse_policy(item: Mapping, policy_id: str, source: str) -> DeadlinePolicy:
    prefix = f"policies.{policy_id}"
    item = _table(source, prefix, item)
    _check_keys(source, prefix, item, _POLICY_KEYS)
    for needed in ("label", "amount", "unit", "start"):
        if needed not in item:
            raise ConfigError(source, f"{prefix}.{needed}", "missing")
    label = _text(source, f"{prefix}.label", item["label"])
    amount = item["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ConfigError(source, f"{prefix}.amount", f"must be a positive integer, got {amount!r}")
    unit = _enum(source, f"{prefix}.unit", item["unit"], PeriodUnit)
    start = _enum(source, f"{prefix}.start", item["start"], StartEvent)
    pausable = item.get("pausable", False)
    if not isinstance(pausable, bool):
        raise ConfigError(source, f"{prefix}.pausable", f"must be true or false, got {pausable!r}")
    if "counting" in item:
        counting = _enum(source, f"{prefix}.counting", item["counting"], Counting)
    else:
        counting = derive_counting(amount, unit)
    if counting is Counting.DAYS and unit is not PeriodUnit.DAYS:
        raise ConfigError(source, f"{prefix}.counting", "days counting needs unit = \"days\"")
    return DeadlinePolicy(
        id=policy_id, label=label, amount=amount, unit=unit,
        counting=counting, start_event=start, pausable=pausable,
    )


def parse_policies(data: dict, source: str) -> Mapping[str, DeadlinePolicy]:
    """Validate the parsed policies.toml into ``{policy id: DeadlinePolicy}``.

    Every contract id (``CONTRACT_POLICY_IDS``) must be present; extra ids are allowed.
    """
    data = _table(source, "(root)", data)
    _check_keys(source, "", data, {"policies"})
    if "policies" not in data:
        raise ConfigError(source, "policies", "missing: expected [policies.<id>] tables")
    table = _table(source, "policies", data["policies"])
    result: dict[str, DeadlinePolicy] = {}
    for policy_id, item in table.items():
        result[policy_id] = parse_policy(item, policy_id, source)
    for needed in CONTRACT_POLICY_IDS:
        if needed not in result:
            raise ConfigError(source, f"policies.{needed}", "missing: this policy id is a contract")
    return MappingProxyType(result)
