"""/reports and /survey/<token>: the charter report and the one-click survey of the ``report`` branch.

They are wired here by import: until ``intake.stages.report_data`` and ``intake.stages.survey``
are merged, /reports says the report is not installed and every survey link is unknown (404).
The report is a self-contained page with inline styles and SVG charts; it is shown in a
sandboxed iframe with a policy of its own, as customer HTML is (no script runs in either).
The survey link only shows the answer first: a POST records it, so a mail scanner that fetches
the link does not answer for the customer.
"""

from __future__ import annotations

import importlib
from datetime import date

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intake.web.context import current_user, page, render, state

REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
              "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
SURVEY_CLOSED = {"answered": "이미 응답하신 조사입니다. 참여하여 주셔서 감사합니다.",
                 "expired": "응답 기한이 지난 조사입니다. 관심을 가져 주셔서 감사합니다."}
SCORES = {5: "매우 만족", 4: "만족", 3: "보통", 2: "불만족", 1: "매우 불만족"}


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _period(request: Request, today: date) -> tuple[date, date]:
    try:
        start = date.fromisoformat(request.query_params.get("start") or f"{today.year}-01-01")
        end = date.fromisoformat(request.query_params.get("end") or today.isoformat())
    except ValueError:
        raise HTTPException(404, "bad period") from None
    if end < start:
        raise HTTPException(404, "bad period")
    return start, end


@page
async def reports(request: Request):
    st = state(request)
    start, end = _period(request, st.intake.now().astimezone(st.intake.settings.tz).date())
    installed = _optional("intake.stages.report_data") is not None
    return render(request, "reports.html", {"installed": installed, "start": start, "end": end})


@page
async def report_view(request: Request):
    st, user = state(request), current_user(request)
    report_data = _optional("intake.stages.report_data")
    if report_data is None:
        raise HTTPException(404, "the report is not installed")
    start, end = _period(request, st.intake.now().astimezone(st.intake.settings.tz).date())
    department = None if user.is_admin else user.department      # managers and staff: their department
    html = report_data.report_html(st.intake, start, end, department=department)
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"})


@page(public=True)
async def survey(request: Request):
    st = state(request)
    survey_mod, tokens = _optional("intake.stages.survey"), _optional("intake.domain.survey_tokens")
    token = request.path_params["token"]
    checked = tokens.check_link_token(st.intake.settings.web.secret, token) if tokens else None
    if survey_mod is None or checked is None:
        raise HTTPException(404, "unknown survey link")
    from intake.web.routes_auth import with_presession

    if request.method == "GET":
        state_now = survey_mod.link_state(st.intake, token, st.intake.now())
        if state_now == "unknown":
            raise HTTPException(404, "unknown survey link")
        if state_now != "open":         # a used or late link: a neutral page, nothing recorded
            return with_presession(request, "survey_done.html", {"ok": False, "message": SURVEY_CLOSED[state_now]},
                                   409 if state_now == "answered" else 410)
        return with_presession(request, "survey.html", {"token": token, "label": SCORES[checked[1]]})
    form = await request.form()
    done = survey_mod.answer_by_link(st.intake, token, st.intake.now(), str(form.get("comment") or "")[:2000])
    return with_presession(request, "survey_done.html", {"ok": done.ok, "message": done.message},
                           200 if done.ok else 409)


ROUTES = [
    Route("/reports", reports),
    Route("/reports/view", report_view),
    Route("/survey/{token}", survey, methods=["GET", "POST"]),
]
