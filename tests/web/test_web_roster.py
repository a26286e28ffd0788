"""Roster and calendar changes in the console: rows merged over the TOML files, picked up by the
daemon's sweep (pure merge as tables; pages over HTTP)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from intake.domain.calendar_config import CalendarConfig
from intake.settings import StaffRoster
from intake.web.overrides import Absence, Day, delegate_on, merge_absences, merge_calendar
from tests.web.conftest import ADMIN, csrf_of, sign_in

D = date.fromisoformat


@pytest.mark.parametrize("file_closed, file_working, days, closed, working", [
    ({}, set(), [], {}, set()),
    ({D("2026-12-24"): "file"}, set(), [Day(D("2026-12-28"), "closed", "창립기념일")],
     {D("2026-12-24"): "file", D("2026-12-28"): "창립기념일"}, set()),
    ({D("2026-12-24"): "file"}, set(), [Day(D("2026-12-24"), "working", "")], {}, {D("2026-12-24")}),
    ({}, {D("2026-12-26")}, [Day(D("2026-12-26"), "closed", "")], {D("2026-12-26"): "휴무(관리 화면에서 지정)"}, set()),
])
def test_merge_calendar(file_closed, file_working, days, closed, working):
    merged = merge_calendar(CalendarConfig(extra_closed=file_closed, extra_working=frozenset(file_working)), days)
    assert dict(merged.extra_closed) == closed and set(merged.extra_working) == working


def test_merge_absences_and_delegate():
    roster = StaffRoster((), (), {"a": ((D("2026-12-01"), D("2026-12-02")),)})
    rows = [Absence("a", D("2026-12-10"), D("2026-12-12"), "b"), Absence("c", D("2026-12-01"), D("2026-12-01"), "a")]
    merged = merge_absences(roster, rows)
    assert merged.absences["a"] == ((D("2026-12-01"), D("2026-12-02")), (D("2026-12-10"), D("2026-12-12")))
    assert merged.absences["c"] == ((D("2026-12-01"), D("2026-12-01")),)
    assert roster.absences["a"] == ((D("2026-12-01"), D("2026-12-02")),)       # the file's roster is untouched
    assert delegate_on(rows, "a", D("2026-12-11")) == "b" and delegate_on(rows, "a", D("2026-12-13")) is None


def test_admin_adds_absence_and_closed_day_the_daemon_picks_them_up(console):
    from intake.app import build_app
    from intake.stages.sweep import SweepReport, check_calendar

    daemon = build_app(console.app.settings, engine=console.app.engine)
    now = datetime.now(timezone.utc)
    check_calendar(daemon, now, SweepReport())            # the daemon's first sweep
    client = console.client()
    sign_in(console, client, ADMIN)
    page = client.get("/roster")
    token = csrf_of(page.text)
    day = (now + timedelta(days=40)).date()
    r = client.post("/roster", data={"staff": "park.jiyoung", "delegate": "park.jiyoung", "first_day": str(day),
                                     "last_day": str(day), "csrf_token": token})
    assert r.status_code == 400 and "다른 직원" in r.text
    r = client.post("/roster", data={"staff": "park.jiyoung", "delegate": "jung.hyunwoo", "first_day": str(day),
                                     "last_day": str(day + timedelta(days=2)), "csrf_token": token})
    assert r.status_code == 200 and "등록하였습니다" in r.text and "정현우" in r.text
    r = client.post("/calendar", data={"day": str(day), "kind": "closed", "note": "창립기념일", "csrf_token": token})
    assert r.status_code == 200 and "창립기념일" in r.text
    check_calendar(daemon, now, SweepReport())            # the next sweep
    assert daemon.calendar_config.extra_closed.get(day) == "창립기념일"
    assert (day, day + timedelta(days=2)) in daemon.settings.roster.absences["park.jiyoung"]
    assert not daemon.calendar(datetime(day.year, day.month, day.day, 3, tzinfo=timezone.utc)).is_business_day(day)
    staff = console.client()
    sign_in(console, staff, "jiyoung.park@example.org")
    assert staff.get("/roster").status_code == 403 and staff.get("/calendar").status_code == 403
