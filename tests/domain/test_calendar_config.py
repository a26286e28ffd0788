"""Validation of calendar.toml and policies.toml data (already parsed)."""

from __future__ import annotations

import copy
import tomllib
from datetime import date, time
from pathlib import Path

import pytest

from intake.domain.calendar_config import (
    CalendarConfig,
    calendar_from_config,
    parse_calendar_config,
    parse_policies,
)
from intake.domain.deadlines import Counting, PeriodUnit, StartEvent
from intake.domain.workdays import DEFAULT_WORKING_PERIODS, WorkingPeriod
from intake.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SRC = "config/calendar.toml"


# --------------------------------------------------------------------------
# calendar.toml
# --------------------------------------------------------------------------

FULL_CALENDAR = """
reviewed_years = [2027, 2026]

[working_hours]
periods = [{ start = "13:00", end = "18:00" }, { start = 09:00:00, end = "12:00" }]

[[closed]]
date = 2026-10-02
name = "임시공휴일"

[[closed]]
date = "2026-12-31"
name = "협회 휴무일"

[[working]]
date = 2026-11-28
reason = "보충 근무"
"""


def test_full_calendar_config():
    cfg = parse_calendar_config(tomllib.loads(FULL_CALENDAR), SRC)
    assert cfg.reviewed_years == (2026, 2027)
    assert cfg.working_periods == (WorkingPeriod(time(9), time(12)), WorkingPeriod(time(13), time(18)))
    assert dict(cfg.extra_closed) == {date(2026, 10, 2): "임시공휴일", date(2026, 12, 31): "협회 휴무일"}
    assert cfg.extra_working == frozenset({date(2026, 11, 28)})


def test_empty_calendar_config_gives_defaults():
    cfg = parse_calendar_config({}, SRC)
    assert cfg == CalendarConfig()
    assert cfg.working_periods == DEFAULT_WORKING_PERIODS
    assert cfg.reviewed_years == ()


def test_shipped_calendar_config_parses():
    path = REPO / "config" / "calendar.toml"
    cfg = parse_calendar_config(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
    assert cfg.working_periods == DEFAULT_WORKING_PERIODS


def test_calendar_from_config():
    cfg = parse_calendar_config(tomllib.loads(FULL_CALENDAR), SRC)
    c = calendar_from_config(cfg, range(2026, 2028))
    assert c.is_business_day(date(2026, 10, 2)) is False
    assert c.holiday_name(date(2026, 10, 2)) == "임시공휴일"
    assert c.is_business_day(date(2026, 11, 28)) is True
    assert c.is_business_day(date(2026, 7, 17)) is False   # from the holidays package
    assert c.years == (2026, 2027)


CALENDAR_ERRORS = [
    ({"holidayz": []}, "holidayz", "unknown key"),
    ({"reviewed_years": 2026}, "reviewed_years", "list"),
    ({"reviewed_years": [2026, "2027"]}, "reviewed_years[1]", "year"),
    ({"reviewed_years": [True]}, "reviewed_years[0]", "year"),
    ({"working_hours": []}, "working_hours", "table"),
    ({"working_hours": {"period": []}}, "working_hours.period", "unknown key"),
    ({"working_hours": {"periods": []}}, "working_hours.periods", "non-empty"),
    ({"working_hours": {"periods": [{"start": "12:00", "end": "09:00"}]}}, "working_hours.periods[0]", "before"),
    ({"working_hours": {"periods": [{"start": "9am", "end": "12:00"}]}}, "working_hours.periods[0].start", "time"),
    ({"working_hours": {"periods": [{"start": "09:00"}]}}, "working_hours.periods[0].end", "missing"),
    ({"working_hours": {"periods": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}]}},
     "working_hours.periods", "overlap"),
    ({"closed": {"date": "2026-10-02", "name": "x"}}, "closed", "array of tables"),
    ({"closed": ["2026-10-02"]}, "closed[0]", "table"),
    ({"closed": [{"date": "2026-13-01", "name": "x"}]}, "closed[0].date", "date"),
    ({"closed": [{"date": "2026-10-02"}]}, "closed[0].name", "name"),
    ({"closed": [{"date": "2026-10-02", "name": " "}]}, "closed[0].name", "non-empty"),
    ({"closed": [{"name": "x"}]}, "closed[0].date", "missing"),
    ({"closed": [{"date": "2026-10-02", "name": "a"}, {"date": "2026-10-02", "name": "b"}]},
     "closed[1].date", "twice"),
    ({"closed": [{"date": "2026-10-02", "name": "a", "note": "x"}]}, "closed[0].note", "unknown key"),
    ({"closed": [{"date": "2026-10-02", "name": "a"}], "working": [{"date": "2026-10-02"}]},
     "working[0].date", "also listed as closed"),
    ({"working": [{"date": 20261128}]}, "working[0].date", "date"),
]


@pytest.mark.parametrize("data,key,problem", CALENDAR_ERRORS)
def test_calendar_config_errors(data, key, problem):
    with pytest.raises(ConfigError) as info:
        parse_calendar_config(data, SRC)
    assert info.value.file == SRC
    assert info.value.key == key
    assert problem in info.value.problem


def test_toml_datetime_for_closed_date_rejected():
    data = tomllib.loads('[[closed]]\ndate = 2026-10-02T00:00:00\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        parse_calendar_config(data, SRC)
    assert info.value.key == "closed[0].date"


# --------------------------------------------------------------------------
# policies.toml
# --------------------------------------------------------------------------

PSRC = "config/policies.toml"


@pytest.fixture()
def shipped_policies_data():
    path = REPO / "config" / "policies.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_counting_derived_when_absent(shipped_policies_data):
    data = copy.deepcopy(shipped_policies_data)
    data["policies"]["long"] = {"label": "장기 검토", "amount": 6, "unit": "days", "start": "receipt"}
    data["policies"]["short"] = {"label": "단기 처리", "amount": 5, "unit": "days", "start": "receipt"}
    data["policies"]["hourly"] = {"label": "시간 처리", "amount": 4, "unit": "hours", "start": "error"}
    policies = parse_policies(data, PSRC)
    assert policies["long"].counting is Counting.DAYS
    assert policies["short"].counting is Counting.WORKING_HOURS
    assert policies["hourly"].counting is Counting.WORKING_HOURS
    assert policies["hourly"].unit is PeriodUnit.HOURS
    assert policies["hourly"].start_event is StartEvent.ERROR
    assert policies["long"].pausable is False


def _with(data, pid, **changes):
    data = copy.deepcopy(data)
    for key, value in changes.items():
        if value is None:
            data["policies"][pid].pop(key, None)
        else:
            data["policies"][pid][key] = value
    return data


POLICY_ERRORS = [
    ("reply", {"unit": "weeks"}, "policies.reply.unit", "days | hours"),
    ("reply", {"amount": 0}, "policies.reply.amount", "positive"),
    ("reply", {"amount": "2"}, "policies.reply.amount", "positive"),
    ("reply", {"amount": 2.5}, "policies.reply.amount", "positive"),
    ("reply", {"start": "arrival"}, "policies.reply.start", "receipt | approval | error"),
    ("reply", {"pausable": "yes"}, "policies.reply.pausable", "true or false"),
    ("reply", {"counting": "calendar"}, "policies.reply.counting", "working-hours"),
    ("reply", {"label": ""}, "policies.reply.label", "non-empty"),
    ("reply", {"label": None}, "policies.reply.label", "missing"),
    ("reply", {"periode": 2}, "policies.reply.periode", "unknown key"),
    ("error-contact", {"counting": "days"}, "policies.error-contact.counting", "unit"),
]


@pytest.mark.parametrize("pid,changes,key,problem", POLICY_ERRORS)
def test_policy_errors(shipped_policies_data, pid, changes, key, problem):
    with pytest.raises(ConfigError) as info:
        parse_policies(_with(shipped_policies_data, pid, **changes), PSRC)
    assert (info.value.file, info.value.key) == (PSRC, key)
    assert problem in info.value.problem


@pytest.mark.parametrize("missing", ["reply", "issuance", "error-contact"])
def test_contract_policy_ids_required(shipped_policies_data, missing):
    data = copy.deepcopy(shipped_policies_data)
    del data["policies"][missing]
    with pytest.raises(ConfigError) as info:
        parse_policies(data, PSRC)
    assert info.value.key == f"policies.{missing}"
    assert "contract" in info.value.problem


@pytest.mark.parametrize("data,key", [
    ({}, "policies"),
    ({"policies": []}, "policies"),
    ({"policy": {}}, "policy"),
    ({"policies": {"reply": "2 days"}}, "policies.reply"),
])
def test_policies_shape_errors(data, key):
    with pytest.raises(ConfigError) as info:
        parse_policies(data, PSRC)
    assert info.value.key == key


def test_config_error_message_names_file_key_problem(shipped_policies_data):
    with pytest.raises(ConfigError) as info:
        parse_policies(_with(shipped_policies_data, "review", amount=-7), PSRC)
    assert str(info.value) == "config/policies.toml: policies.review.amount: must be a positive integer, got -7"
