"""Sign-in, the sign-in link, sign-out."""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from intake.db import transaction
from intake.web import auth, mailing
from intake.web.context import current_user, page, render, session_cookie, state

log = logging.getLogger("intake.web")


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def with_presession(request: Request, name: str, context: dict, status: int = 200):
    """Render a page for a browser without a session; it gets a pre-session cookie for CSRF."""
    st = state(request)
    base = session_cookie(request) or request.cookies.get(auth.PRESESSION_COOKIE)
    fresh = None
    if not base:
        base = fresh = secrets.token_urlsafe(32)
    response = render(request, name, dict(context, csrf=st.keys.csrf_token(base)), status=status)
    if fresh:
        response.set_cookie(auth.PRESESSION_COOKIE, fresh, httponly=True, secure=st.https, samesite="strict", path="/")
    return response


@page(public=True)
async def login_form(request: Request):
    if request.method == "POST":
        return await _login_request(request)
    if current_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    return with_presession(request, "login.html", {})


async def _login_request(request: Request):
    st = state(request)
    form = await request.form()
    address = str(form.get("email") or "").strip().lower()[:320]
    if "@" not in address:
        return with_presession(request, "login.html", {"error": "전자우편 주소를 정확히 입력해 주십시오."}, 400)
    now = st.intake.now()
    outbox_id = None
    with transaction(st.intake.engine) as session:
        conn = session.connection()
        if auth.limited(conn, st.keys, address, _client(request), now):
            auth.record_attempt(conn, st.keys, address, _client(request), "limited", now)
            outcome = "limited"
        else:
            member = st.intake.settings.roster.member_by_email(address)
            outcome = "mailed" if member is not None and member.active else "unknown"
            auth.record_attempt(conn, st.keys, address, _client(request), outcome, now)
            if outcome == "mailed":
                token = auth.new_link(conn, st.keys, member.id, now)
                link = f"{st.base_url}/login/link/{token}"
                outbox_id = mailing.queue_sign_in_mail(session, st.intake, member, link, auth.LINK_MINUTES, now)
                auth.attach_outbox(conn, st.keys, token, outbox_id)
                auth.audit_event(conn, now, "web-sign-in-link", member.id, {"outbox_id": outbox_id})
    log.info("sign-in request: %s", outcome)     # never the address
    if outcome == "limited":
        return with_presession(request, "login.html", {
            "error": "요청이 너무 잦습니다. 15분 뒤에 다시 시도해 주십시오."}, 429)
    if outbox_id is not None:
        mailing.deliver_now(st.intake, st.mailer_factory, outbox_id)
    return with_presession(request, "login_sent.html", {})


@page(public=True)
async def sign_in_link(request: Request):
    """GET shows a button (mail scanners fetch links); POST uses the link once."""
    st = state(request)
    token = request.path_params["token"]
    now = st.intake.now()
    if request.method == "GET":
        with st.intake.engine.connect() as conn:
            link = auth.link_state(conn, st.keys, token, now)
        if link != "valid":
            return with_presession(request, "link_refused.html", {"why": link}, 400)
        return with_presession(request, "link_confirm.html", {"token": token})
    with st.intake.engine.begin() as conn:
        staff_id = auth.use_link(conn, st.keys, token, now)
        member = st.intake.settings.roster.member(staff_id) if staff_id else None
        if member is None or not member.active:
            return with_presession(request, "link_refused.html", {"why": "used-or-expired"}, 400)
        session = auth.new_session(conn, st.keys, member.id, st.intake.settings.web.session_hours, now)
        auth.audit_event(conn, now, "web-signed-in", member.id, {"role": st.intake.settings.roster.role(member.id)})
    log.info("signed in: %s", member.id)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(st.session_cookie_name, session, max_age=st.intake.settings.web.session_hours * 3600,
                        httponly=True, secure=st.https, samesite="lax", path="/")
    response.delete_cookie(auth.PRESESSION_COOKIE, path="/")
    return response


@page
async def logout(request: Request):
    st = state(request)
    if request.method == "GET":
        return render(request, "logout.html")
    user = current_user(request)
    now = st.intake.now()
    with st.intake.engine.begin() as conn:
        auth.revoke_session(conn, st.keys, session_cookie(request), now)
        auth.audit_event(conn, now, "web-signed-out", user.staff_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(st.session_cookie_name, path="/", secure=st.https, httponly=True, samesite="lax")
    return response


ROUTES = [
    Route("/login", login_form, methods=["GET", "POST"]),
    Route("/login/link/{token}", sign_in_link, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["GET", "POST"]),
]
