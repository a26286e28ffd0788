"""The console as an ASGI application (Starlette), and running it under uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from intake.web import auth, routes_admin, routes_auth, routes_cases, routes_report, routes_roster
from intake.web.context import current_user, render
from intake.web.security import SecurityHeaders

log = logging.getLogger("intake.web")

STATIC = Path(__file__).parent / "static"
ERROR_TEXT = {403: "이 작업을 할 권한이 없습니다. (보안 확인 값이 없거나 맞지 않으면 화면을 새로 고친 뒤 다시 시도해 주십시오.)",
              404: "찾으시는 내용이 없거나 보실 수 없습니다.",
              405: "허용되지 않는 요청입니다."}


def smtp_mailer_factory(settings):
    from intake.adapters.smtp_mailer import SmtpMailer

    return lambda: SmtpMailer(settings.smtp)


async def http_error(request: Request, exc: HTTPException):
    if "user" not in request.scope:
        try:
            current_user(request)
        except Exception:  # noqa: BLE001 - an error page must render even when the database is down
            request.scope["user"] = None
    text = ERROR_TEXT.get(exc.status_code, "요청을 처리할 수 없습니다.")
    return render(request, "error.html", {"code": exc.status_code, "text": text}, status=exc.status_code)


def create_app(intake_app, *, keys: auth.Keys, mailer_factory=None) -> Starlette:
    """``intake_app``: the daemon's ``App`` (settings, engine, templates, store); ``mailer_factory``
    makes the SMTP mailer that sends sign-in mail at once (default: the configured SMTP server)."""
    web = intake_app.settings.web
    https = web.base_url.startswith("https://")
    routes = (routes_auth.ROUTES + routes_cases.ROUTES + routes_admin.ROUTES + routes_report.ROUTES + routes_roster.ROUTES
              + [Mount("/static", StaticFiles(directory=str(STATIC)), name="static")])
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.intake = intake_app
    app.state.keys = keys
    app.state.https = https
    app.state.base_url = web.console_url
    # The __Host- prefix pins the cookie to this host and path / (browsers require Secure for it).
    app.state.session_cookie_name = ("__Host-" if https else "") + auth.SESSION_COOKIE
    app.state.mailer_factory = mailer_factory or smtp_mailer_factory(intake_app.settings)
    return SecurityHeaders(app, https=https)


def serve(asgi_app, listen: tuple[str, int]) -> None:
    import uvicorn

    host, port = listen
    # No access log: paths and queries (?q=) may hold what staff searched for; the console logs
    # its own events without personal data. Client addresses come from the reverse proxy.
    uvicorn.run(asgi_app, host=host, port=port, access_log=False, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", server_header=False, log_level="info")
