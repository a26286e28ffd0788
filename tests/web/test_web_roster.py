"""Roster and calendar changes in the console: rows merged over the TOML files, picked up by the
daemon's sweep (pure merge as tables; pages over HTTP)."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("with_delegate", [True, False])
def test_half_reminder_for_an_away_handler_goes_to_the_delegate(tmp_path, dovecot, smtp_sink, with_delegate):
    """Issue 14: on a day the handler is away with a delegate (a console absence), the sweep's
    reminder goes to the delegate and the audit says whose it was; away without one, to the handler."""
    from sqlalchemy import insert
    from sqlmodel import select

    from intake.app import build_app
    from intake.models import AuditEvent, Case, Notice
    from intake.settings import load_settings
    from intake.settings_roster import delegate_for
    from intake.stages.sweep import sweep
    from intake.web.tables import WebAbsence
    from tests.e2e.harness import FixedClock, make_env
    from tests.e2e.test_timed_mail import KST, WED_10, request_mail

    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(request_mail(1), internaldate=WED_10)
    env.run_once(clock=FixedClock(WED_10 + timedelta(minutes=5)))
    with env.session() as s:
        case = s.exec(select(Case)).one()
        handler_id, case_id = case.handler_id, case.id
    thu_10 = datetime(2026, 11, 26, 10, 0, tzinfo=KST)             # the half point of the reply clock
    settings = load_settings(env.config)
    roster = settings.roster
    handler = roster.member(handler_id)
    delegate = next(m for m in roster.staff if m.active and m.id != handler_id)
    daemon = build_app(settings, clock=FixedClock(thu_10))
    try:
        if with_delegate:                                         # entered in the console
            with daemon.engine.begin() as conn:
                conn.execute(insert(WebAbsence.__table__).values(
                    staff_id=handler_id, first_day=thu_10.date(), last_day=thu_10.date(), delegate_id=delegate.id,
                    actor=ADMIN, at=datetime.now(timezone.utc)))
        else:                                                     # away in staff.toml: no delegate
            from dataclasses import replace

            daemon.toml_roster = replace(roster, absences={handler_id: ((thu_10.date(), thu_10.date()),)})
        sweep(daemon, thu_10)
        assert thu_10.date() in {d for a, b in daemon.settings.roster.absences[handler_id] for d in (a, b)}
        assert delegate_for(daemon.settings.roster, handler_id, thu_10.date()) == (delegate.id if with_delegate
                                                                                   else None)
        with env.session() as s:
            notice = s.exec(select(Notice).where(Notice.kind == "remind-half", Notice.case_id == case_id)).one()
            event = s.exec(select(AuditEvent).where(AuditEvent.event == "reminded",
                                                    AuditEvent.case_id == case_id)).one()
            detail = json.loads(event.detail)
        expected = delegate.email if with_delegate else handler.email
        assert notice.recipient == expected and detail["to"] == expected
        assert detail.get("delegate_of") == (handler_id if with_delegate else None)
    finally:
        daemon.engine.dispose()


def test_reassign_to_a_department_whose_head_is_away_goes_to_the_delegate(console):
    """Research (choi.junho, head; yoon.sora) is away today, both with lee.seoyeon standing in:
    a case reassigned in the console to "research" goes to lee.seoyeon, and the case page says why."""
    from sqlmodel import select

    from intake.db import transaction
    from intake.models import AuditEvent, Case

    client = console.client()
    sign_in(console, client, ADMIN)
    token = csrf_of(client.get("/roster").text)
    today = console.app.now().astimezone(console.app.settings.tz).date()
    for staff in ("choi.junho", "yoon.sora"):
        r = client.post("/roster", data={"staff": staff, "delegate": "lee.seoyeon", "first_day": str(today),
                                         "last_day": str(today + timedelta(days=1)), "csrf_token": token})
        assert r.status_code == 200, r.text
    with transaction(console.app.engine) as s:
        case = s.exec(select(Case).where(Case.department != "research").order_by(Case.id)).first()
    r = client.post(f"/cases/{case.ref}/act/reassign", data={"target": "research", "reason": "조사연구부 소관입니다.",
                                                             "csrf_token": token})
    assert r.status_code == 200 and "담당을 바꾸었습니다" in r.text
    assert "choi.junho 부재 중이어서 대리인(lee.seoyeon)에게 배정" in r.text
    with transaction(console.app.engine) as s:
        moved = s.get(Case, case.id)
        assert (moved.handler_id, moved.department) == ("lee.seoyeon", "support-center")
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                AuditEvent.event == "reassigned")).one()
    assert json.loads(event.detail)["route"].endswith("; choi.junho away: delegate lee.seoyeon")
