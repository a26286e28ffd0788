"""Charter deadlines: policies, counting rules, pauses, extensions.

Every expected value is counted by hand in the comment next to it (working
hours 09-12 and 13-18, 8 hours a day; holidays as officially announced).
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from intake.domain.calendar_config import calendar_from_config, parse_calendar_config, parse_policies
from intake.domain.deadlines import (
    CONTRACT_POLICY_IDS,
    PENDING,
    Counting,
    DeadlinePolicy,
    Extension,
    PeriodUnit,
    StartEvent,
    deadline,
    derive_counting,
    due_time,
    reminder_time,
)
from intake.domain.records import DeadlineResult
from intake.domain.workdays import SEOUL, build_calendar

REPO = Path(__file__).resolve().parents[2]


def kst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


@pytest.fixture(scope="module")
def cal():
    return build_calendar(range(2024, 2029))


@pytest.fixture(scope="module")
def policies():
    path = REPO / "config" / "policies.toml"
    return parse_policies(tomllib.loads(path.read_text(encoding="utf-8")), str(path))


# --------------------------------------------------------------------------
# The shipped policies
# --------------------------------------------------------------------------

POLICY_TABLE = [
    # id, amount, unit, counting, start event, pausable
    ("reply", 2, "days", "working-hours", "receipt", False),
    ("phone-call", 2, "days", "working-hours", "receipt", False),
    ("correction", 3, "days", "working-hours", "receipt", False),
    ("review", 7, "days", "days", "receipt", True),
    ("issuance", 3, "days", "working-hours", "approval", False),
    ("error-contact", 24, "hours", "business-elapsed", "error", False),
    ("error-fix", 3, "days", "working-hours", "error", False),
]


@pytest.mark.parametrize("pid,amount,unit,counting,start,pausable", POLICY_TABLE)
def test_shipped_policies(policies, pid, amount, unit, counting, start, pausable):
    p = policies[pid]
    assert (p.id, p.amount, p.unit.value, p.counting.value, p.start_event.value, p.pausable) == (
        pid, amount, unit, counting, start, pausable)
    assert p.label and all("\uac00" <= ch <= "\ud7a3" or ch == " " for ch in p.label)  # Korean label


def test_all_contract_ids_shipped(policies):
    assert set(CONTRACT_POLICY_IDS) <= set(policies)
    assert len(CONTRACT_POLICY_IDS) == 7


@pytest.mark.parametrize("amount,unit,expected", [
    (1, "days", "working-hours"), (5, "days", "working-hours"), (6, "days", "days"),
    (7, "days", "days"), (30, "days", "days"), (24, "hours", "working-hours"),
])
def test_derive_counting(amount, unit, expected):
    assert derive_counting(amount, PeriodUnit(unit)).value == expected


def test_period_lengths(policies):
    assert policies["reply"].period == timedelta(hours=16)
    assert policies["correction"].period == timedelta(hours=24)
    assert policies["review"].period == timedelta(hours=56)
    assert policies["error-contact"].period == timedelta(hours=24)


# --------------------------------------------------------------------------
# Due times without pauses
# --------------------------------------------------------------------------

DUE_TABLE = [
    # --- reply: 16 working hours
    ("reply", "2026-11-25 19:30", "2026-11-27 18:00"),  # after hours: Thu 8 + Fri 8
    ("reply", "2026-04-30 16:00", "2026-05-06 16:00"),  # Thu 2; 노동절; weekend; Mon 8; 어린이날; Wed 6
    ("reply", "2026-11-25 12:30", "2026-11-27 12:00"),  # lunch: Wed 5 + Thu 8 + Fri 3 -> exactly 12:00
    ("reply", "2026-11-25 09:00", "2026-11-26 18:00"),  # Wed 8 + Thu 8 -> exactly 18:00
    ("reply", "2026-11-25 10:00", "2026-11-27 10:00"),  # Wed 7 + Thu 8 + Fri 1
    ("reply", "2026-11-28 10:00", "2026-12-01 18:00"),  # Saturday: Mon 8 + Tue 8
    ("reply", "2026-12-30 15:00", "2027-01-04 15:00"),  # Wed 3 + Dec 31 8; Jan 1-3 closed; Mon 5
    ("reply", "2024-02-08 11:00", "2024-02-14 11:00"),  # Thu 6; Feb 9-12 closed (substitute 12); Tue 8; Wed 2
    ("reply", "2025-02-28 14:00", "2025-03-05 14:00"),  # Fri 4; Mar 1-3 closed (substitute 3); Tue 8; Wed 4
    ("reply", "2026-06-02 09:00", "2026-06-04 18:00"),  # Tue 8; election Jun 3; Thu 8
    ("reply", "2026-07-16 13:00", "2026-07-21 12:00"),  # Thu 5; 제헌절 Fri; weekend; Mon 8; Tue 3
    ("reply", "2027-12-23 17:00", "2027-12-28 17:00"),  # Thu 1; Fri 8; 25-27 closed (substitute 27); Tue 7
    # --- phone-call: 16 working hours
    ("phone-call", "2025-10-02 17:00", "2025-10-13 17:00"),  # Thu 1; Oct 3-9 closed (추석 + substitute, 한글날); Fri 8; Mon 7
    # --- correction: 24 working hours
    ("correction", "2026-09-23 10:00", "2026-09-30 10:00"),  # Wed 7; 추석 24-26, Sun; Mon 8; Tue 8; Wed 1
    ("correction", "2026-10-02 09:00", "2026-10-07 18:00"),  # Fri 8; Oct 3-5 closed; Tue 8; Wed 8
    # --- issuance: 24 working hours from approval
    ("issuance", "2027-12-24 16:00", "2027-12-30 16:00"),  # Fri 2; 25-27 closed; Tue 8; Wed 8; Thu 6
    # --- error-fix: 24 working hours from the error
    ("error-fix", "2026-05-04 20:00", "2026-05-08 18:00"),  # night: May 5 holiday; Wed 8; Thu 8; Fri 8
    # --- review: 7 business days, first day counted, due 18:00
    ("review", "2026-09-22 10:00", "2026-10-02 18:00"),  # 22,23,(24-27),28,29,30,1,2
    ("review", "2026-09-22 19:00", "2026-10-06 18:00"),  # after hours: day 1 = 23; 23,28,29,30,1,2,(3-5),6
    ("review", "2026-11-28 10:00", "2026-12-08 18:00"),  # Saturday: day 1 = Mon 30; 30,1,2,3,4,7,8
    ("review", "2026-11-25 12:30", "2026-12-03 18:00"),  # lunch still day 1: 25,26,27,30,1,2,3
    ("review", "2026-11-25 17:59", "2026-12-03 18:00"),  # before 18:00 still day 1
    ("review", "2026-12-24 17:00", "2027-01-05 18:00"),  # 24,(25),28,29,30,31,(Jan 1-3),4,5
    ("review", "2026-05-29 09:00", "2026-06-09 18:00"),  # 29,1,2,(3 election),4,5,8,9
    ("review", "2024-02-07 10:00", "2024-02-19 18:00"),  # 7,8,(9-12),13,14,15,16,19
    # --- error-contact: 24 business-day clock hours
    ("error-contact", "2026-10-02 15:00", "2026-10-06 15:00"),  # Fri 9h; Sat, Sun, Mon (substitute) not counted
    ("error-contact", "2026-11-27 10:00", "2026-11-30 10:00"),  # over a weekend: Fri 14h, Mon 10h
    ("error-contact", "2026-11-28 03:00", "2026-12-01 00:00"),  # Saturday: all of Monday
    ("error-contact", "2026-12-31 20:00", "2027-01-04 20:00"),  # year end: 4h + 20h
]


@pytest.mark.parametrize("pid,received,expected", DUE_TABLE)
def test_due_time(cal, policies, pid, received, expected):
    due = due_time(cal, policies[pid], kst(received))
    assert due == kst(expected)
    assert due.tzinfo is SEOUL


def test_received_in_utc_is_converted(cal, policies):
    due = due_time(cal, policies["reply"], datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc))
    assert due.isoformat() == "2026-11-27T18:00:00+09:00"


def test_naive_received_rejected(cal, policies):
    with pytest.raises(ValueError, match="naive"):
        due_time(cal, policies["reply"], datetime(2026, 11, 25, 19, 30))


def test_deadline_result(cal, policies):
    result = deadline(cal, policies["reply"], kst("2026-11-25 19:30"))
    assert result == DeadlineResult(policy="reply", start=kst("2026-11-26 09:00"), due=kst("2026-11-27 18:00"))


# --------------------------------------------------------------------------
# Calendar config moves due times
# --------------------------------------------------------------------------

def test_temporary_holiday_from_config_moves_due(policies):
    config = parse_calendar_config(
        {"closed": [{"date": "2026-11-26", "name": "임시공휴일"}, {"date": "2026-10-02", "name": "임시공휴일"}]},
        "calendar.toml",
    )
    c = calendar_from_config(config, range(2026, 2028))
    # Thursday closed: Fri 8 + Mon 8
    assert due_time(c, policies["reply"], kst("2026-11-25 19:30")) == kst("2026-11-30 18:00")
    # Oct 2 closed: 22,23,28,29,30,1,(2-5),6
    assert due_time(c, policies["review"], kst("2026-09-22 10:00")) == kst("2026-10-06 18:00")


def test_extra_working_day_from_config_moves_due(policies):
    config = parse_calendar_config({"working": [{"date": "2026-11-28", "reason": "보충 근무"}]}, "calendar.toml")
    c = calendar_from_config(config, range(2026, 2028))
    # Fri 7 + Sat 8 + Mon 1 (without Saturday it would be Tuesday 10:00)
    assert due_time(c, policies["reply"], kst("2026-11-27 10:00")) == kst("2026-11-30 10:00")


def test_without_extra_working_day(cal, policies):
    assert due_time(cal, policies["reply"], kst("2026-11-27 10:00")) == kst("2026-12-01 10:00")


# --------------------------------------------------------------------------
# Pauses (시행령 제20조)
# --------------------------------------------------------------------------

PAUSABLE_WH = DeadlinePolicy(
    id="test-wh", label="테스트", amount=2, unit=PeriodUnit.DAYS,
    counting=Counting.WORKING_HOURS, start_event=StartEvent.RECEIPT, pausable=True,
)

REVIEW_PAUSES = [
    # received Wed 2026-11-25 09:00; unpaused due Thu 2026-12-03 18:00 (56 h)
    ([], "2026-12-03 18:00"),
    # Fri 14:00 -> Mon 11:00 across the weekend removes Fri 4h + Mon 2h.
    # 20h before the pause; 36h from Mon 11:00: Mon 6, Tue 8, Wed 8, Thu 8, Fri 6 -> 16:00 -> day end
    ([("2026-11-27 14:00", "2026-11-30 11:00")], "2026-12-04 18:00"),
    # a pause only over the weekend removes no working time
    ([("2026-11-28 10:00", "2026-11-29 20:00")], "2026-12-03 18:00"),
    # overlapping pauses merge: Mon 09:00-15:00 removes 5h -> Fri Dec 4 15:00 -> day end
    ([("2026-11-30 11:00", "2026-11-30 15:00"), ("2026-11-30 09:00", "2026-11-30 12:00")], "2026-12-04 18:00"),
    # a pause that begins after the count ran out does not matter, even if open
    ([("2026-12-04 09:00", None)], "2026-12-03 18:00"),
    # an open pause beginning exactly at the due moment is too late to matter
    ([("2026-12-03 18:00", None)], "2026-12-03 18:00"),
    # an open pause that began before the due: unknown
    ([("2026-11-27 14:00", None)], PENDING),
    # closed pause then open pause
    ([("2026-11-27 14:00", "2026-11-30 11:00"), ("2026-12-01 10:00", None)], PENDING),
    # a pause ending before receipt is ignored
    ([("2026-11-20 10:00", "2026-11-24 10:00")], "2026-12-03 18:00"),
]


@pytest.mark.parametrize("pauses,expected", REVIEW_PAUSES)
def test_review_pauses(cal, policies, pauses, expected):
    pauses = [(kst(b), kst(e) if e else None) for b, e in pauses]
    due = due_time(cal, policies["review"], kst("2026-11-25 09:00"), pauses)
    assert due == (kst(expected) if expected else None)


def test_working_hours_pause_across_weekend(cal):
    # received Thu 10:00; 13h by Fri 16:00; pause to Mon 10:00; 3h: Mon 10-12, 13-14
    pauses = [(kst("2026-11-27 16:00"), kst("2026-11-30 10:00"))]
    assert due_time(cal, PAUSABLE_WH, kst("2026-11-26 10:00")) == kst("2026-11-30 10:00")
    assert due_time(cal, PAUSABLE_WH, kst("2026-11-26 10:00"), pauses) == kst("2026-11-30 14:00")


def test_working_hours_pause_starting_at_due_is_ignored(cal):
    # unpaused: Thu 10:00 + 16h -> Mon 10:00; a pause opened at 10:00 Monday is too late
    assert due_time(cal, PAUSABLE_WH, kst("2026-11-26 10:00"), [(kst("2026-11-30 10:00"), None)]) == kst("2026-11-30 10:00")
    assert due_time(cal, PAUSABLE_WH, kst("2026-11-26 10:00"), [(kst("2026-11-30 09:59"), None)]) is None


def test_business_elapsed_days_are_24_hours():
    p = DeadlinePolicy(id="x", label="테스트", amount=1, unit=PeriodUnit.DAYS,
                       counting=Counting.BUSINESS_ELAPSED, start_event=StartEvent.ERROR)
    assert p.period == timedelta(hours=24)


def test_pause_on_unpausable_policy_rejected(cal, policies):
    with pytest.raises(ValueError, match="cannot be paused"):
        due_time(cal, policies["reply"], kst("2026-11-25 09:00"), [(kst("2026-11-25 10:00"), kst("2026-11-25 11:00"))])


def test_pause_ending_before_it_begins_rejected(cal, policies):
    with pytest.raises(ValueError):
        due_time(cal, policies["review"], kst("2026-11-25 09:00"), [(kst("2026-11-26 10:00"), kst("2026-11-25 11:00"))])


def test_naive_pause_rejected(cal, policies):
    with pytest.raises(ValueError, match="naive"):
        due_time(cal, policies["review"], kst("2026-11-25 09:00"), [(datetime(2026, 11, 26, 10), None)])


def test_pending_deadline_result_is_none(cal, policies):
    assert deadline(cal, policies["review"], kst("2026-11-25 09:00"), [(kst("2026-11-26 10:00"), None)]) is None


# --------------------------------------------------------------------------
# Extension (시행령 제21조)
# --------------------------------------------------------------------------

def test_extension_sets_new_date(cal, policies):
    ext = Extension(new_date=date(2026, 10, 16), reason="관계기관 협의 지연")
    assert due_time(cal, policies["review"], kst("2026-09-22 10:00"), extension=ext) == kst("2026-10-16 18:00")


def test_extension_overrides_open_pause(cal, policies):
    ext = Extension(new_date=date(2026, 12, 18), reason="추가 검토")
    pauses = [(kst("2026-11-27 14:00"), None)]
    assert due_time(cal, policies["review"], kst("2026-11-25 09:00"), pauses, ext) == kst("2026-12-18 18:00")


@pytest.mark.parametrize("new_date", [date(2026, 10, 9), date(2026, 10, 10), date(2026, 9, 21)])
def test_extension_to_closed_or_earlier_day_rejected(cal, policies, new_date):
    # 한글날, a Saturday, and a day before receipt
    with pytest.raises(ValueError):
        due_time(cal, policies["review"], kst("2026-09-22 10:00"), extension=Extension(new_date, "사유"))


@pytest.mark.parametrize("reason", ["", "   "])
def test_extension_needs_reason(reason):
    with pytest.raises(ValueError):
        Extension(date(2026, 10, 16), reason)


# --------------------------------------------------------------------------
# Reminders at half the period
# --------------------------------------------------------------------------

@pytest.mark.parametrize("pid,received,expected", [
    ("reply", "2026-11-25 09:00", "2026-11-26 09:00"),    # 8h ends Wed 18:00 -> next working moment
    ("reply", "2026-11-25 10:00", "2026-11-26 10:00"),    # Wed 7 + Thu 1
    ("review", "2026-11-25 15:00", "2026-11-30 14:00"),   # 28h from day-1 09:00: Wed, Thu, Fri 24 + Mon 4
    ("error-contact", "2026-11-27 20:00", "2026-11-30 09:00"),  # 12h: Fri 20-24 + Mon 00-08 -> 08:00 -> 09:00
])
def test_reminder_time(cal, policies, pid, received, expected):
    assert reminder_time(cal, policies[pid], kst(received)) == kst(expected)


# --------------------------------------------------------------------------
# `intake deadline` command (contract: the JSON `due` key and its format)
# --------------------------------------------------------------------------

def _run_command(argv):
    import argparse

    from intake.commands import deadline as command

    parser = argparse.ArgumentParser(prog="intake")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture()
def config_dir(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    for name in ("calendar.toml", "policies.toml"):
        (tmp_path / "config" / name).write_bytes((REPO / "config" / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_command_json(config_dir, capsys):
    import json

    code = _run_command(["deadline", "--received", "2026-11-25T19:30:00+09:00", "--policy", "reply", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["due"] == "2026-11-27T18:00:00+09:00"
    assert out["policy"] == "reply"
    assert out["received"] == "2026-11-25T19:30:00+09:00"
    assert out["working_hours"] == 16


def test_command_plain_line_has_no_korean(config_dir, capsys):
    code = _run_command(["deadline", "--received", "2026-04-30T16:00:00+09:00", "--policy", "reply"])
    out = capsys.readouterr().out
    assert code == 0
    assert "2026-05-06T16:00:00+09:00" in out
    assert out.count("\n") == 1
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in out)


def test_command_explicit_paths_and_temporary_holiday(tmp_path, capsys):
    import json

    calendar = tmp_path / "cal.toml"
    calendar.write_text('[[closed]]\ndate = 2026-11-26\nname = "임시공휴일"\n', encoding="utf-8")
    code = _run_command(["deadline", "--received", "2026-11-25T19:30:00+09:00", "--policy", "reply", "--json",
                         "--calendar", str(calendar), "--policies", str(REPO / "config" / "policies.toml")])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["due"] == "2026-11-30T18:00:00+09:00"


@pytest.mark.parametrize("argv_tail,message", [
    (["--policy", "nope"], "unknown policy"),
    (["--policy", "reply", "--calendar", "missing.toml"], "missing.toml: (file): not found"),
])
def test_command_errors(config_dir, capsys, argv_tail, message):
    code = _run_command(["deadline", "--received", "2026-11-25T19:30:00+09:00", *argv_tail])
    assert code == 2
    assert message in capsys.readouterr().err


def test_command_rejects_naive_received(config_dir):
    with pytest.raises(SystemExit):
        _run_command(["deadline", "--received", "2026-11-25T19:30:00", "--policy", "reply"])
