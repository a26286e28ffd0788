"""Roster and calendar (admins): absences with a delegate, extra closed and working days.

Each change is a row (``intake.web.overrides`` explains why rows) and an audit event in the
same transaction; the daemon's next sweep picks it up.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import insert, select, update
from starlette.requests import Request
from starlette.routing import Route

from intake.errors import ConfigErrors
from intake.web import auth, overrides
from intake.web.context import current_user, page, render, state
from intake.web.tables import WebAbsence, WebCalendarDay

log = logging.getLogger("intake.web")


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        return None


def _absence_problem(roster, staff_id: str, delegate_id: str, first: date | None, last: date | None) -> str | None:
    member, delegate = roster.member(staff_id), roster.member(delegate_id)
    if member is None or delegate is None:
        return "직원과 대리인을 명단에서 골라 주십시오."
    if staff_id == delegate_id:
        return "대리인은 본인이 아닌 다른 직원이어야 합니다."
    if not delegate.active:
        return "대리인이 재직 중이 아닙니다."
    if first is None or last is None or last < first:
        return "기간을 바르게 입력해 주십시오(시작일 ≤ 종료일)."
    return None


@page(admin=True)
async def roster(request: Request, result: str = "", error: str = "", status: int = 200):
    st = state(request)
    a = WebAbsence.__table__
    with st.intake.engine.connect() as conn:
        rows = conn.execute(select(a).where(a.c.removed_at.is_(None)).order_by(a.c.first_day)).all()
    toml = st.intake.toml_roster or st.intake.settings.roster
    return render(request, "roster.html", {"rows": rows, "staff": toml.staff, "toml_absences": toml.absences,
                                           "roles": {s.id: toml.role(s.id) for s in toml.staff},
                                           "result": result, "error": error}, status=status)


@page(admin=True)
async def roster_change(request: Request):
    st, user = state(request), current_user(request)
    form = await request.form()
    now = st.intake.now()
    a = WebAbsence.__table__
    if form.get("remove"):
        with st.intake.engine.begin() as conn:
            conn.execute(update(a).where(a.c.id == int(form["remove"]), a.c.removed_at.is_(None)).values(removed_at=now))
            auth.audit_event(conn, now, "web-absence-removed", user.staff_id, {"absence": int(form["remove"])})
        return await roster.__wrapped__(request, result="부재를 지웠습니다.")
    staff_id, delegate_id = str(form.get("staff") or ""), str(form.get("delegate") or "")
    first, last = _date(form.get("first_day")), _date(form.get("last_day"))
    problem = _absence_problem(st.intake.settings.roster, staff_id, delegate_id, first, last)
    if problem:
        return await roster.__wrapped__(request, error=problem, status=400)
    with st.intake.engine.begin() as conn:
        conn.execute(insert(a).values(staff_id=staff_id, first_day=first, last_day=last, delegate_id=delegate_id,
                                      actor=user.staff_id, at=now))
        auth.audit_event(conn, now, "web-absence-added", user.staff_id, {
            "staff": staff_id, "from": first.isoformat(), "to": last.isoformat(), "delegate": delegate_id})
    log.info("absence of %s added by %s", staff_id, user.staff_id)
    return await roster.__wrapped__(request, result="부재를 등록하였습니다. 처리 프로그램이 다음 점검 때 반영합니다.")


@page(admin=True)
async def calendar(request: Request, result: str = "", error: str = "", status: int = 200):
    st = state(request)
    d = WebCalendarDay.__table__
    with st.intake.engine.connect() as conn:
        rows = conn.execute(select(d).where(d.c.removed_at.is_(None)).order_by(d.c.day)).all()
    try:
        st.intake.reload_calendar()          # calendar.toml with the console's days: what is in effect
    except ConfigErrors as exc:
        error = error or f"calendar.toml에 오류가 있습니다: {exc}"
    base = st.intake.calendar_config
    return render(request, "calendar.html", {"rows": rows, "closed": sorted(base.extra_closed.items()),
                                             "working": sorted(base.extra_working), "result": result,
                                             "error": error}, status=status)


@page(admin=True)
async def calendar_change(request: Request):
    st, user = state(request), current_user(request)
    form = await request.form()
    now = st.intake.now()
    d = WebCalendarDay.__table__
    if form.get("remove"):
        with st.intake.engine.begin() as conn:
            conn.execute(update(d).where(d.c.id == int(form["remove"]), d.c.removed_at.is_(None)).values(removed_at=now))
            auth.audit_event(conn, now, "web-calendar-day-removed", user.staff_id, {"row": int(form["remove"])})
        return await calendar.__wrapped__(request, result="지정을 지웠습니다.")
    day, kind = _date(form.get("day")), str(form.get("kind") or "")
    if day is None or kind not in (overrides.CLOSED, overrides.WORKING):
        return await calendar.__wrapped__(request, error="날짜와 종류(휴무일/근무일)를 골라 주십시오.", status=400)
    note = str(form.get("note") or "").strip()[:255]
    with st.intake.engine.begin() as conn:
        conn.execute(insert(d).values(day=day, kind=kind, note=note, actor=user.staff_id, at=now))
        auth.audit_event(conn, now, "web-calendar-day-added", user.staff_id,
                         {"day": day.isoformat(), "kind": kind, "note": note})
    return await calendar.__wrapped__(request, result="등록하였습니다. 처리 프로그램이 다음 점검 때 처리 기한을 다시 계산합니다.")


ROUTES = [
    Route("/roster", roster),
    Route("/roster", roster_change, methods=["POST"]),
    Route("/calendar", calendar),
    Route("/calendar", calendar_change, methods=["POST"]),
]
