"""Charter clocks as data: the timed actions a clock owes, and when.

Every expected time is counted by hand in the comment beside it (working hours
09-12 and 13-18, 8 hours a day; November 2026 has no public holiday:
Mon 2026-11-23, Wed 11-25, Fri 11-27, Sat 11-28, Sun 11-29, Mon 11-30).
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path

import pytest

from intake.domain.calendar_config import parse_policies
from intake.domain.clocks import (
    ActionKind as K, Clock, ClockError, ClockState, ReminderRules, actions_to_take, clock_due, decode_pauses,
    encode_pauses, extended, is_stale, next_check, paused_now, recompute, resumed_now, scheduled_actions,
)
from intake.domain.workdays import SEOUL, build_calendar

REPO = Path(__file__).resolve().parents[2]


def kst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL)


@pytest.fixture(scope="module")
def cal():
    return build_calendar(range(2025, 2029))


@pytest.fixture(scope="module")
def policies():
    path = REPO / "config" / "policies.toml"
    return parse_policies(tomllib.loads(path.read_text(encoding="utf-8")), str(path))


def clock(policy: str = "reply", started: str = "2026-11-25 10:00", id: int = 7, **kw) -> Clock:
    return Clock(id=id, policy=policy, state=kw.pop("state", ClockState.RUNNING), started_at=kst(started), **kw)


def plan(cal, policies, c: Clock, rules: ReminderRules = ReminderRules()):
    return [(a.kind, a.at, a.key) for a in scheduled_actions(cal, policies[c.policy], c, rules)]


# --------------------------------------------------------------------------- what a clock owes

SCHEDULES = [
    # reply (16 working hours) from Wed 10:00: Wed 7h, Thu 8h (15), Fri 09-10 -> due Fri 10:00;
    # half (8h): Wed 7h + Thu 09-10 -> Thu 10:00; morning of the due day Fri 09:00.
    ("reply", "2026-11-25 10:00", [
        (K.REMIND_HALF, "2026-11-26 10:00", "remind-half:7"),
        (K.REMIND_MORNING, "2026-11-27 09:00", "remind-morning:7:2026-11-27"),
        (K.OVERDUE, "2026-11-27 10:00", "overdue:7:2026-11-27T10:00:00+09:00"),
        (K.ESCALATE, "2026-11-27 10:00", "escalate:7:2026-11-27T10:00:00+09:00"),
        (K.PROGRESS, "2026-11-27 10:00", "progress:7:2026-11-27T10:00:00+09:00"),
    ]),
    # reply from Wed 09:00: due Thu 18:00 (8h + 8h); half = Wed 18:00 -> Thu 09:00, the due day's
    # morning: one reminder only (the morning one). Escalation and notice wait for Fri 09:00.
    ("reply", "2026-11-25 09:00", [
        (K.REMIND_MORNING, "2026-11-26 09:00", "remind-morning:7:2026-11-26"),
        (K.OVERDUE, "2026-11-26 18:00", "overdue:7:2026-11-26T18:00:00+09:00"),
        (K.ESCALATE, "2026-11-27 09:00", "escalate:7:2026-11-26T18:00:00+09:00"),
        (K.PROGRESS, "2026-11-27 09:00", "progress:7:2026-11-26T18:00:00+09:00"),
    ]),
    # reply from Fri 16:00: Fri 2h, Mon 8h (10), Tue 09-12 (13), 13-16 -> due Tue 12-01 16:00;
    # half: Fri 2h, Mon 09-12 (5), 13-16 -> Mon 16:00 (the weekend does not count).
    ("reply", "2026-11-27 16:00", [
        (K.REMIND_HALF, "2026-11-30 16:00", "remind-half:7"),
        (K.REMIND_MORNING, "2026-12-01 09:00", "remind-morning:7:2026-12-01"),
        (K.OVERDUE, "2026-12-01 16:00", "overdue:7:2026-12-01T16:00:00+09:00"),
        (K.ESCALATE, "2026-12-01 16:00", "escalate:7:2026-12-01T16:00:00+09:00"),
        (K.PROGRESS, "2026-12-01 16:00", "progress:7:2026-12-01T16:00:00+09:00"),
    ]),
    # phone-call: the same count, but the promise is a call: no progress notice to the customer.
    ("phone-call", "2026-11-25 10:00", [
        (K.REMIND_HALF, "2026-11-26 10:00", "remind-half:7"),
        (K.REMIND_MORNING, "2026-11-27 09:00", "remind-morning:7:2026-11-27"),
        (K.OVERDUE, "2026-11-27 10:00", "overdue:7:2026-11-27T10:00:00+09:00"),
        (K.ESCALATE, "2026-11-27 10:00", "escalate:7:2026-11-27T10:00:00+09:00"),
    ]),
    # review (7 days, days counting) from Mon 11-02: day 7 is Tue 11-10, due 18:00; half = 28 working
    # hours from Mon 09:00: Mon, Tue, Wed (24) + Thu 09-12, 13-14 -> Thu 11-05 14:00.
    ("review", "2026-11-02 10:00", [
        (K.REMIND_HALF, "2026-11-05 14:00", "remind-half:7"),
        (K.REMIND_MORNING, "2026-11-10 09:00", "remind-morning:7:2026-11-10"),
        (K.OVERDUE, "2026-11-10 18:00", "overdue:7:2026-11-10T18:00:00+09:00"),
        (K.ESCALATE, "2026-11-11 09:00", "escalate:7:2026-11-10T18:00:00+09:00"),
        (K.PROGRESS, "2026-11-11 09:00", "progress:7:2026-11-10T18:00:00+09:00"),
    ]),
    # error-contact (24 h of business-day clock time) from Fri 15:00: Fri 9 h, Mon 00-15 -> Mon 15:00;
    # half (12 h) = Mon 03:00 -> Mon 09:00 = the due day's morning: one reminder. Not customer-facing.
    ("error-contact", "2026-11-27 15:00", [
        (K.REMIND_MORNING, "2026-11-30 09:00", "remind-morning:7:2026-11-30"),
        (K.OVERDUE, "2026-11-30 15:00", "overdue:7:2026-11-30T15:00:00+09:00"),
        (K.ESCALATE, "2026-11-30 15:00", "escalate:7:2026-11-30T15:00:00+09:00"),
    ]),
]


@pytest.mark.parametrize("policy, started, expected", SCHEDULES)
def test_scheduled_actions(cal, policies, policy, started, expected):
    assert plan(cal, policies, clock(policy, started)) == [(k, kst(at), key) for k, at, key in expected]


def test_morning_reminder_not_on_the_day_the_clock_started(cal, policies):
    # A one-hour clock started Wed 10:00 is due Wed 11:00: no morning-of-the-due-day reminder
    # (the handler got the task that morning); half = 10:30.
    from intake.domain.deadlines import DeadlinePolicy

    one_hour = DeadlinePolicy("hour", "한 시간", 1, "hours", "working-hours", "receipt")
    kinds = [a.kind for a in scheduled_actions(cal, one_hour, clock("hour", "2026-11-25 10:00"))]
    assert kinds == [K.REMIND_HALF, K.OVERDUE, K.ESCALATE]


@pytest.mark.parametrize("rules, kinds", [
    (ReminderRules(half_period=False), [K.REMIND_MORNING, K.OVERDUE, K.ESCALATE, K.PROGRESS]),
    (ReminderRules(morning_of_due_day=False), [K.REMIND_HALF, K.OVERDUE, K.ESCALATE, K.PROGRESS]),
    (ReminderRules(escalate_overdue=False), [K.REMIND_HALF, K.REMIND_MORNING, K.OVERDUE, K.PROGRESS]),
    (ReminderRules(customer_progress_notice=False), [K.REMIND_HALF, K.REMIND_MORNING, K.OVERDUE, K.ESCALATE]),
    (ReminderRules(False, False, False, False), [K.OVERDUE]),
])
def test_rules_switch_actions_off(cal, policies, rules, kinds):
    assert [k for k, _, _ in plan(cal, policies, clock(), rules)] == kinds


def test_half_reminder_without_the_morning_one_on_the_due_day(cal, policies):
    # From Wed 09:00 the half point (Thu 09:00) falls on the due day; with the morning reminder off
    # it is the only reminder and keeps its time.
    got = plan(cal, policies, clock(started="2026-11-25 09:00"), ReminderRules(morning_of_due_day=False))
    assert got[0] == (K.REMIND_HALF, kst("2026-11-26 09:00"), "remind-half:7")


# --------------------------------------------------------------------------- pauses

PAUSED_HALF = [
    # review from Mon 11-02 10:00; no pause: half Thu 11-05 14:00, due Tue 11-10 18:00.
    ([], "2026-11-05 14:00", "2026-11-10 18:00"),
    # paused Tue 11-03 09:00 - Wed 11-04 18:00 (16 working hours): half = Mon 8, Thu 8, Fri 8 (24),
    # Mon 11-09 09-12, 13-14 -> Mon 11-09 14:00; due: 56 h = Mon, Thu, Fri, Mon, Tue, Wed, Thu -> Thu 11-12.
    ([("2026-11-03 09:00", "2026-11-04 18:00")], "2026-11-09 14:00", "2026-11-12 18:00"),
    # paused over a weekend, Fri 11-06 18:00 - Mon 11-09 09:00: no working time paused, nothing moves.
    ([("2026-11-06 18:00", "2026-11-09 09:00")], "2026-11-05 14:00", "2026-11-10 18:00"),
    # paused after the half point (Thu 15:00 - Fri 18:00, 3 + 8 = 11 h): the half reminder keeps its
    # time; the due moves by two days (the paused parts of Thu and Fri): Thu 11-12 18:00.
    ([("2026-11-05 15:00", "2026-11-06 18:00")], "2026-11-05 14:00", "2026-11-12 18:00"),
]


@pytest.mark.parametrize("pauses, half, due", PAUSED_HALF)
def test_half_reminder_skips_paused_time(cal, policies, pauses, half, due):
    c = clock("review", "2026-11-02 10:00", pauses=tuple((kst(b), kst(e)) for b, e in pauses))
    actions = {a.kind: a for a in scheduled_actions(cal, policies["review"], c)}
    assert actions[K.REMIND_HALF].at == kst(half)
    assert actions[K.OVERDUE].at == kst(due)


def test_paused_clock_owes_nothing(cal, policies):
    c = paused_now(clock("review", "2026-11-02 10:00"), kst("2026-11-03 10:00"))
    assert c.state is ClockState.PAUSED and c.open_pause == kst("2026-11-03 10:00")
    assert clock_due(cal, policies["review"], c) is None
    assert scheduled_actions(cal, policies["review"], c) == []
    assert next_check(cal, [], set(), kst("2026-11-03 10:00")) is None


def test_resume_restores_the_actions_with_the_pause_skipped(cal, policies):
    c = paused_now(clock("review", "2026-11-02 10:00"), kst("2026-11-03 09:00"))
    c = resumed_now(c, kst("2026-11-04 18:00"))
    assert c.state is ClockState.RUNNING and c.open_pause is None
    actions = {a.kind: a.at for a in scheduled_actions(cal, policies["review"], c)}
    assert actions[K.REMIND_HALF] == kst("2026-11-09 14:00")
    assert actions[K.OVERDUE] == kst("2026-11-12 18:00")


@pytest.mark.parametrize("state", [ClockState.MET, ClockState.CANCELLED])
def test_stopped_clock_owes_nothing(cal, policies, state):
    assert scheduled_actions(cal, policies["reply"], clock(state=state)) == []


def test_pause_twice_and_resume_unpaused_refused():
    c = paused_now(clock("review"), kst("2026-11-26 10:00"))
    with pytest.raises(ClockError):
        paused_now(c, kst("2026-11-26 11:00"))
    with pytest.raises(ClockError):
        resumed_now(clock("review"), kst("2026-11-26 11:00"))


def test_pauses_round_trip_through_the_row():
    pauses = ((kst("2026-11-03 09:00"), kst("2026-11-04 18:00")), (kst("2026-11-05 10:00"), None))
    assert decode_pauses(encode_pauses(pauses)) == pauses
    assert decode_pauses(None) == () and decode_pauses("[]") == ()


# --------------------------------------------------------------------------- extension


def test_extension_gives_a_new_morning_reminder_and_new_overdue_keys(cal, policies):
    before = {a.kind: a for a in scheduled_actions(cal, policies["reply"], clock())}
    c = extended(cal, policies["reply"], clock(), date(2026, 12, 4), "관계 기관 확인", kst("2026-11-26 11:00"))
    after = plan(cal, policies, c)
    assert after == [   # no second half reminder; the new due is 18:00 of Fri 12-04
        (K.REMIND_MORNING, kst("2026-12-04 09:00"), "remind-morning:7:2026-12-04"),
        (K.OVERDUE, kst("2026-12-04 18:00"), "overdue:7:2026-12-04T18:00:00+09:00"),
        (K.ESCALATE, kst("2026-12-07 09:00"), "escalate:7:2026-12-04T18:00:00+09:00"),
        (K.PROGRESS, kst("2026-12-07 09:00"), "progress:7:2026-12-04T18:00:00+09:00"),
    ]
    assert not {key for _, _, key in after} & {a.key for a in before.values()}


def test_extension_of_an_overdue_clock_is_owed_again(cal, policies):
    # Overdue at Fri 10:00, all done; extended on Fri 11:00: the new actions are not in the ledger.
    done = {a.key for a in scheduled_actions(cal, policies["reply"], clock())}
    c = extended(cal, policies["reply"], clock(), date(2026, 12, 2), "자료 보완", kst("2026-11-27 11:00"))
    actions = scheduled_actions(cal, policies["reply"], c)
    assert next_check(cal, actions, done, kst("2026-11-27 11:00")) == kst("2026-12-02 09:00")


def test_extension_ends_a_hold(cal, policies):
    c = paused_now(clock("review", "2026-11-02 10:00"), kst("2026-11-03 10:00"))
    e = extended(cal, policies["review"], c, date(2026, 11, 20), "정부 협의", kst("2026-11-04 10:00"))
    assert e.state is ClockState.RUNNING and e.pauses == ((kst("2026-11-03 10:00"), kst("2026-11-04 10:00")),)


@pytest.mark.parametrize("new_date, reason, now, problem", [
    (date(2026, 11, 28), "사유", "2026-11-26 11:00", "not a business day"),        # Saturday
    (date(2026, 11, 27), "사유", "2026-11-26 11:00", "not after the current due"),  # the due date itself
    (date(2026, 12, 4), "  ", "2026-11-26 11:00", "needs a reason"),
    (date(2026, 12, 1), "사유", "2026-12-02 11:00", "in the past"),
])
def test_extension_refused(cal, policies, new_date, reason, now, problem):
    with pytest.raises(ClockError, match=problem):
        extended(cal, policies["reply"], clock(), new_date, reason, kst(now))


def test_extension_only_once(cal, policies):
    c = extended(cal, policies["reply"], clock(), date(2026, 12, 2), "사유", kst("2026-11-26 11:00"))
    with pytest.raises(ClockError, match="already extended once"):
        extended(cal, policies["reply"], c, date(2026, 12, 4), "사유", kst("2026-11-26 12:00"))


# --------------------------------------------------------------------------- when actions are taken

# The reply clock from Wed 2026-11-25 10:00 (half Thu 10:00, morning Fri 09:00, due Fri 10:00).
TAKE = [
    # now, done kinds, kinds taken
    ("2026-11-26 09:59", set(), []),                                 # nothing due yet
    ("2026-11-26 10:00", set(), [K.REMIND_HALF]),                    # the half reminder, on time
    ("2026-11-26 12:30", set(), []),                                 # lunch: mail waits
    ("2026-11-26 13:00", set(), [K.REMIND_HALF]),                    # ... until 13:00
    ("2026-11-26 10:05", {K.REMIND_HALF}, []),                       # already in the ledger
    ("2026-11-26 20:00", set(), []),                                 # never at night
    ("2026-11-27 09:00", set(), [K.REMIND_MORNING]),                 # after a downtime: only the latest
    ("2026-11-27 09:00", {K.REMIND_HALF}, [K.REMIND_MORNING]),
    ("2026-11-27 10:00", set(), [K.OVERDUE, K.ESCALATE, K.PROGRESS]),  # ran out: reminders are stale
    ("2026-11-27 20:00", set(), [K.OVERDUE]),                        # the mark does not wait; mail does
    ("2026-11-29 11:00", {K.OVERDUE}, []),                           # Sunday: nothing
    ("2026-11-30 09:00", {K.OVERDUE}, [K.ESCALATE, K.PROGRESS]),      # Monday morning
    ("2026-11-30 09:00", {K.OVERDUE, K.ESCALATE, K.PROGRESS}, []),
]


@pytest.mark.parametrize("now, done, taken", TAKE)
def test_actions_to_take(cal, policies, now, done, taken):
    actions = scheduled_actions(cal, policies["reply"], clock())
    keys = {a.key for a in actions if a.kind in done}
    assert [a.kind for a in actions_to_take(cal, actions, keys, kst(now))] == taken


def test_no_mail_on_a_public_holiday(cal, policies):
    # reply from Wed 2026-12-23 10:00: Wed 7h, Thu 24th 8h (15), Fri 25th Christmas, Mon 28th 09-10:
    # due Mon 12-28 10:00; on Christmas 10:00 nothing is owed at all, half (Thu 10:00) stays undone.
    actions = scheduled_actions(cal, policies["reply"], clock(started="2026-12-23 10:00"))
    assert [a.at for a in actions if a.kind is K.OVERDUE] == [kst("2026-12-28 10:00")]
    assert actions_to_take(cal, actions, set(), kst("2026-12-25 10:00")) == []
    assert next_check(cal, actions, set(), kst("2026-12-25 10:00")) == kst("2026-12-28 09:00")


NEXT = [
    # now, done kinds, next check
    ("2026-11-25 10:00", set(), "2026-11-26 10:00"),                               # the half reminder
    ("2026-11-26 10:30", {K.REMIND_HALF}, "2026-11-27 09:00"),                     # the morning one
    ("2026-11-26 20:00", set(), "2026-11-27 09:00"),                               # held back at night
    ("2026-11-27 09:30", {K.REMIND_HALF, K.REMIND_MORNING}, "2026-11-27 10:00"),   # the due
    ("2026-11-27 09:30", {K.REMIND_HALF}, "2026-11-27 09:30"),                     # morning still owed: now
    ("2026-11-27 20:00", set(), "2026-11-27 20:00"),                               # overdue mark: at once
    ("2026-11-27 20:00", {K.OVERDUE}, "2026-11-30 09:00"),                         # mail on Monday
    ("2026-11-30 09:00", {K.OVERDUE, K.ESCALATE, K.PROGRESS}, None),               # nothing owed
]


@pytest.mark.parametrize("now, done, expected", NEXT)
def test_next_check(cal, policies, now, done, expected):
    actions = scheduled_actions(cal, policies["reply"], clock())
    keys = {a.key for a in actions if a.kind in done}
    assert next_check(cal, actions, keys, kst(now)) == (kst(expected) if expected else None)


def test_stale(cal, policies):
    actions = scheduled_actions(cal, policies["reply"], clock())
    half = next(a for a in actions if a.kind is K.REMIND_HALF)
    overdue = next(a for a in actions if a.kind is K.OVERDUE)
    assert not is_stale(half, actions, kst("2026-11-26 10:00"))
    assert is_stale(half, actions, kst("2026-11-27 09:00"))     # the morning reminder supersedes it
    assert is_stale(half, actions, kst("2026-11-27 10:00"))     # the clock ran out
    assert not is_stale(overdue, actions, kst("2026-12-27 10:00"))


# --------------------------------------------------------------------------- calendar changes


def test_recompute_after_a_temporary_holiday(policies):
    old = build_calendar(range(2025, 2029))
    new = build_calendar(range(2025, 2029), extra_closed={date(2026, 11, 26): "임시공휴일"})
    open_reply = clock(id=1)                                   # due Fri 11-27 10:00 on the old calendar
    later = clock(id=2, started="2026-12-01 10:00")           # untouched by a closure in November
    met = clock(id=3, state=ClockState.MET)
    on_hold = paused_now(clock("review", id=4), kst("2026-11-25 11:00"))
    stored = [(c, clock_due(old, policies[c.policy], c)) for c in (open_reply, later, met, on_hold)]
    moved = recompute(new, policies, stored)
    # Without Thu 11-26: Wed 7h, Fri 8h (15), Mon 11-30 09-10 -> Mon 10:00.
    assert [(m.clock_id, m.before, m.after) for m in moved] == [(1, kst("2026-11-27 10:00"), kst("2026-11-30 10:00"))]
    assert recompute(old, policies, stored) == []
