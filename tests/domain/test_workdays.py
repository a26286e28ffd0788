"""Business calendar and working-time arithmetic.

Expected values are worked out by hand from the official 2024-2027 Korean
holiday lists (see the comments on each row), not by the code under test.
"""

from __future__ import annotations

import ast
import dataclasses
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from intake.domain.workdays import (
    SEOUL,
    BusinessCalendar,
    CalendarRangeError,
    WorkingPeriod,
    build_calendar,
    business_point_after,
    business_time_between,
    is_working_moment,
    needs_review_warning,
    next_business_moment,
    next_working_moment,
    point_after,
    working_time_between,
)

REPO = Path(__file__).resolve().parents[2]


def kst(text: str) -> datetime:
    """'2026-11-25 19:30' -> aware Asia/Seoul datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return build_calendar(range(2024, 2028))


# --------------------------------------------------------------------------
# Which days are business days
# --------------------------------------------------------------------------

DAY_TABLE = [
    # date, business day?, holiday name contains (None: no holiday name)
    ("2024-02-09", False, "설날"),          # Fri, 설날 전날
    ("2024-02-12", False, "대체"),          # Mon, 설날 substitute (Feb 11 was Sunday)
    ("2024-02-13", True, None),
    ("2024-04-10", False, "선거"),          # National Assembly election
    ("2024-05-06", False, "대체"),          # 어린이날 substitute
    ("2024-10-01", False, "국군의 날"),      # temporary holiday 2024
    ("2024-12-31", True, None),             # Tue, year end is a working day
    ("2025-01-01", False, "신정"),
    ("2025-01-27", False, "임시공휴일"),      # temporary holiday before 설날
    ("2025-03-03", False, "대체"),          # 삼일절 (Sat) substitute
    ("2025-05-06", False, "대체"),          # 부처님오신날/어린이날 overlap substitute
    ("2025-06-03", False, "대통령 선거"),     # presidential election
    ("2025-07-17", True, None),             # 제헌절 not a holiday before 2026
    ("2025-10-08", False, "대체"),          # 추석 (Oct 5 Sunday) substitute
    ("2025-10-10", True, None),
    ("2026-01-01", False, "신정"),
    ("2026-02-16", False, "설날"),
    ("2026-02-19", True, None),
    ("2026-03-02", False, "대체"),          # 삼일절 Sunday -> Monday
    ("2026-05-01", False, "노동절"),         # public holiday from 2026
    ("2026-05-05", False, "어린이날"),
    ("2026-05-25", False, "대체"),          # 부처님오신날 Sunday -> Monday
    ("2026-06-03", False, "지방선거"),       # local election
    ("2026-06-06", False, "현충일"),         # Saturday
    ("2026-06-08", True, None),             # no substitute for 현충일
    ("2026-07-17", False, "제헌절"),         # reinstated 2026
    ("2026-08-17", False, "대체"),          # 광복절 Saturday -> Monday
    ("2026-09-24", False, "추석"),
    ("2026-09-25", False, "추석"),
    ("2026-09-26", False, "추석"),           # Saturday
    ("2026-09-28", True, None),             # no 추석 substitute for a Saturday
    ("2026-10-05", False, "대체"),          # 개천절 Saturday -> Monday
    ("2026-10-09", False, "한글날"),
    ("2026-12-25", False, "기독탄신일"),
    ("2026-12-31", True, None),
    ("2027-01-01", False, "신정"),
    ("2027-02-09", False, "대체"),          # 설날 Sunday -> Tuesday
    ("2027-10-11", False, "대체"),          # 한글날 Saturday -> Monday
    ("2027-12-27", False, "대체"),          # 기독탄신일 Saturday -> Monday
    ("2026-11-25", True, None),             # ordinary Wednesday
    ("2026-11-28", False, None),            # Saturday: closed, but no holiday name
    ("2026-11-29", False, None),            # Sunday
]


@pytest.mark.parametrize("day,business,name_part", DAY_TABLE)
def test_business_days(cal, day, business, name_part):
    d = date.fromisoformat(day)
    assert cal.is_business_day(d) is business
    name = cal.holiday_name(d)
    if name_part is None:
        assert name is None
    else:
        assert name is not None and name_part in name


def test_exact_2026_holiday_names(cal):
    assert cal.holiday_name(date(2026, 5, 1)) == "노동절"
    assert cal.holiday_name(date(2026, 7, 17)) == "제헌절"
    assert cal.holiday_name(date(2026, 6, 3)) == "지방선거일"


def test_extra_closed_and_working_days():
    c = BusinessCalendar(
        holidays={date(2026, 5, 5): "어린이날"},
        extra_closed={date(2026, 11, 26): "협회 창립기념일"},
        extra_working={date(2026, 11, 28), date(2026, 5, 5)},
    )
    assert c.is_business_day(date(2026, 11, 26)) is False
    assert c.holiday_name(date(2026, 11, 26)) == "협회 창립기념일"
    assert c.is_business_day(date(2026, 11, 28)) is True   # Saturday made a working day
    assert c.is_business_day(date(2026, 5, 5)) is True     # holiday made a working day
    assert c.holiday_name(date(2026, 5, 5)) == "어린이날"    # the name is still known


def test_closed_and_working_same_day_rejected():
    with pytest.raises(ValueError):
        BusinessCalendar(extra_closed={date(2026, 1, 2): "x"}, extra_working={date(2026, 1, 2)})


def test_out_of_range_year_is_an_error(cal):
    with pytest.raises(CalendarRangeError):
        cal.is_business_day(date(2030, 3, 4))
    with pytest.raises(CalendarRangeError):
        point_after(cal, kst("2027-12-30 17:00"), 24)  # would need 2028


def test_calendar_is_immutable(cal):
    with pytest.raises(TypeError):
        cal.holidays[date(2026, 11, 25)] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.working_periods = ()  # type: ignore[misc]


def test_overlapping_periods_rejected():
    with pytest.raises(ValueError):
        BusinessCalendar(working_periods=(WorkingPeriod(time(9), time(12)), WorkingPeriod(time(11), time(18))))


def test_default_working_day_is_eight_hours(cal):
    assert cal.working_hours_per_day == timedelta(hours=8)


# --------------------------------------------------------------------------
# Working moments
# --------------------------------------------------------------------------

NEXT_WORKING = [
    ("2026-11-25 10:00", "2026-11-25 10:00"),   # inside the morning period
    ("2026-11-25 09:00", "2026-11-25 09:00"),   # period start is inside
    ("2026-11-25 08:59", "2026-11-25 09:00"),
    ("2026-11-25 12:00", "2026-11-25 13:00"),   # period end is not inside
    ("2026-11-25 12:30", "2026-11-25 13:00"),   # lunch
    ("2026-11-25 18:00", "2026-11-26 09:00"),
    ("2026-11-27 19:00", "2026-11-30 09:00"),   # Friday night -> Monday
    ("2026-11-28 11:00", "2026-11-30 09:00"),   # Saturday
    ("2026-12-31 18:30", "2027-01-04 09:00"),   # Jan 1 holiday, Jan 2-3 weekend
    ("2026-09-23 18:00", "2026-09-28 09:00"),   # 추석 24-26, Sunday 27
    ("2024-02-08 20:00", "2024-02-13 09:00"),   # 설날 9-11 + substitute 12
]


@pytest.mark.parametrize("given,expected", NEXT_WORKING)
def test_next_working_moment(cal, given, expected):
    assert next_working_moment(cal, kst(given)) == kst(expected)


def test_next_working_moment_converts_to_seoul(cal):
    result = next_working_moment(cal, datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc))
    assert result == kst("2026-11-25 10:00")
    assert result.tzinfo is SEOUL


@pytest.mark.parametrize("given,expected", [
    ("2026-11-25 11:59", True), ("2026-11-25 12:00", False), ("2026-11-25 17:59", True),
    ("2026-11-25 18:00", False), ("2026-05-01 10:00", False), ("2026-11-28 10:00", False),
])
def test_is_working_moment(cal, given, expected):
    assert is_working_moment(cal, kst(given)) is expected


POINT_AFTER = [
    ("2026-11-25 10:00", 2, "2026-11-25 12:00"),    # ends exactly at 12:00: due at 12:00
    ("2026-11-25 10:00", 3, "2026-11-25 14:00"),    # 10-12, 13-14
    ("2026-11-25 13:00", 5, "2026-11-25 18:00"),    # ends exactly at 18:00
    ("2026-11-25 09:00", 8, "2026-11-25 18:00"),
    ("2026-11-25 09:00", 16, "2026-11-26 18:00"),
    ("2026-11-25 12:30", 1, "2026-11-25 14:00"),    # lunch receipt starts at 13:00
    ("2026-11-25 19:30", 16, "2026-11-27 18:00"),
    ("2026-12-31 17:00", 2, "2027-01-04 10:00"),    # year end: 1h Dec 31, 1h Jan 4
    ("2026-02-13 16:00", 8, "2026-02-19 16:00"),    # 설날 16-18 after a weekend
    ("2024-02-08 17:00", 4, "2024-02-13 12:00"),    # 설날 + substitute 2024-02-12
    ("2026-11-25 19:00", 0, "2026-11-26 09:00"),    # zero: next working moment
]


@pytest.mark.parametrize("start,hours,expected", POINT_AFTER)
def test_point_after(cal, start, hours, expected):
    assert point_after(cal, kst(start), hours) == kst(expected)


def test_point_after_accepts_timedelta(cal):
    assert point_after(cal, kst("2026-11-25 11:30"), timedelta(minutes=45)) == kst("2026-11-25 13:15")


def test_point_after_rejects_negative(cal):
    with pytest.raises(ValueError):
        point_after(cal, kst("2026-11-25 10:00"), -1)


WORKING_BETWEEN = [
    ("2026-11-25 09:00", "2026-11-25 18:00", 8),
    ("2026-11-25 11:00", "2026-11-25 14:00", 2),     # lunch excluded
    ("2026-11-27 17:00", "2026-11-30 10:00", 2),     # weekend excluded
    ("2026-04-30 16:00", "2026-05-06 16:00", 16),    # 노동절, weekend, 어린이날 excluded
    ("2026-11-25 19:00", "2026-11-26 08:00", 0),     # night
    ("2026-11-25 14:00", "2026-11-25 11:00", -2),    # reversed
]


@pytest.mark.parametrize("a,b,hours", WORKING_BETWEEN)
def test_working_time_between(cal, a, b, hours):
    assert working_time_between(cal, kst(a), kst(b)) == timedelta(hours=hours)


# --------------------------------------------------------------------------
# Business-elapsed time (whole clock hours on business days)
# --------------------------------------------------------------------------

BUSINESS_POINT = [
    ("2026-10-02 15:00", 24, "2026-10-06 15:00"),   # Fri 9h; Sat, Sun, Mon (개천절 substitute) skipped
    ("2026-11-27 10:00", 24, "2026-11-30 10:00"),   # Fri 14h, Mon 10h
    ("2026-11-28 03:00", 24, "2026-12-01 00:00"),   # Saturday start: all of Monday, due at midnight
    ("2026-12-31 20:00", 24, "2027-01-04 20:00"),   # 4h Dec 31, 20h Jan 4
    ("2026-11-25 23:00", 24, "2026-11-26 23:00"),   # nights count on business days
]


@pytest.mark.parametrize("start,hours,expected", BUSINESS_POINT)
def test_business_point_after(cal, start, hours, expected):
    assert business_point_after(cal, kst(start), hours) == kst(expected)


def test_business_time_between(cal):
    assert business_time_between(cal, kst("2026-11-27 20:00"), kst("2026-11-30 04:00")) == timedelta(hours=8)
    assert next_business_moment(cal, kst("2026-05-01 10:00")) == kst("2026-05-04 00:00")


# --------------------------------------------------------------------------
# Naive datetimes are rejected
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c: next_working_moment(c, datetime(2026, 11, 25, 10)),
    lambda c: point_after(c, datetime(2026, 11, 25, 10), 2),
    lambda c: working_time_between(c, datetime(2026, 11, 25, 10), kst("2026-11-26 10:00")),
    lambda c: business_point_after(c, datetime(2026, 11, 25, 10), 24),
    lambda c: needs_review_warning(datetime(2026, 11, 25, 10), [2026]),
])
def test_naive_datetimes_rejected(cal, call):
    with pytest.raises(ValueError, match="naive"):
        call(cal)


# --------------------------------------------------------------------------
# Yearly review warning
# --------------------------------------------------------------------------

REVIEW = [
    ("2026-06-15 10:00", [2026], False),
    ("2026-06-15 10:00", [], True),
    ("2026-06-15 10:00", [2025], True),
    ("2026-06-15 10:00", [2027], True),
    ("2026-11-30 23:59", [2026], False),
    ("2026-12-01 00:00", [2026], True),          # December: next year not reviewed
    ("2026-12-01 00:00", [2026, 2027], False),
    ("2026-12-31 23:00", [2027], True),          # current year not reviewed
    ("2027-01-02 09:00", [2026], True),
]


@pytest.mark.parametrize("now,reviewed,expected", REVIEW)
def test_needs_review_warning(now, reviewed, expected):
    assert needs_review_warning(kst(now), reviewed) is expected


def test_needs_review_warning_judges_in_seoul():
    # 2026-11-30 15:30 UTC is 2026-12-01 00:30 in Seoul: December already.
    assert needs_review_warning(datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc), [2026]) is True


# --------------------------------------------------------------------------
# The pure core does no I/O
# --------------------------------------------------------------------------

MY_DOMAIN_MODULES = ["workdays.py", "deadlines.py", "calendar_config.py"]
FORBIDDEN_IMPORTS = {
    "socket", "sqlite3", "smtplib", "imaplib", "pathlib", "io", "os", "shutil",
    "subprocess", "tempfile", "tomllib", "urllib", "http", "requests", "ssl",
    "sqlalchemy", "sqlmodel", "psycopg", "imapclient", "time",
}
FORBIDDEN_CALLS = {"now", "today", "utcnow", "open", "read_text", "read_bytes", "time_ns"}


@pytest.mark.parametrize("module", MY_DOMAIN_MODULES)
def test_domain_module_does_no_io(module):
    tree = ast.parse((REPO / "intake" / "domain" / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] not in FORBIDDEN_IMPORTS, (module, alias.name)
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in FORBIDDEN_IMPORTS, (module, node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            assert name not in FORBIDDEN_CALLS, (module, name, node.lineno)
