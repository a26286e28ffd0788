"""Per-request helpers: who is signed in, what they may see, CSRF checks, page rendering."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.templating import Jinja2Templates

from intake.models import Case
from intake.web import auth

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

STATUS_LABELS = {"open": "처리 중", "answered": "답변 완료", "closed": "종결"}
CHANNEL_LABELS = {"email": "전자우편", "fax": "팩스", "post": "우편"}
POLICY_LABELS = {"reply": "답변", "phone-call": "전화 연락", "correction": "정정", "review": "검토", "issuance": "발급",
                 "error-contact": "오류 연락", "error-fix": "오류 수정"}
CLOCK_LABELS = {"running": "진행 중", "paused": "정지", "met": "지킴", "cancelled": "취소"}
ROLE_LABELS = {"staff": "담당자", "manager": "부서장", "admin": "관리자"}


@dataclass(frozen=True)
class User:
    staff_id: str
    name: str
    department: str
    role: str
    email: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def state(request: Request):
    return request.app.state


def session_cookie(request: Request) -> str | None:
    return request.cookies.get(state(request).session_cookie_name)


def current_user(request: Request) -> User | None:
    if "user" in request.scope:
        return request.scope["user"]
    st = state(request)
    user = None
    with st.intake.engine.connect() as conn:
        staff_id = auth.session_staff(conn, st.keys, session_cookie(request), st.intake.now())
    member = st.intake.settings.roster.member(staff_id) if staff_id else None
    if member is not None and member.active:
        user = User(member.id, member.name, member.department, st.intake.settings.roster.role(member.id), member.email)
    request.scope["user"] = user
    return user


def visible(user: User):
    """The WHERE clause of the cases ``user`` may see (None: all)."""
    if user.role == "admin":
        return None
    return or_(Case.handler_id == user.staff_id, Case.department == user.department)


def can_see(user: User, case: Case) -> bool:
    return user.role == "admin" or case.handler_id == user.staff_id or case.department == user.department


def may_act(user: User, case: Case) -> bool:
    """Staff act on their own cases, department heads on their department's, admins on all."""
    if user.role == "admin" or case.handler_id == user.staff_id:
        return True
    return user.role == "manager" and case.department == user.department


def csrf_base(request: Request) -> str | None:
    return session_cookie(request) or request.cookies.get(auth.PRESESSION_COOKIE)


async def check_csrf(request: Request) -> None:
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        given = form.get("csrf_token")
    if not state(request).keys.csrf_ok(csrf_base(request), given if isinstance(given, str) else None):
        raise HTTPException(403, "CSRF token missing or wrong")


def page(handler=None, *, admin: bool = False, public: bool = False):
    """Wrap a route: sign-in required (unless ``public``), admins only when ``admin``, and a CSRF
    check on every request that is not GET/HEAD."""

    def wrap(fn):
        @functools.wraps(fn)
        async def endpoint(request: Request):
            if request.method not in ("GET", "HEAD"):
                await check_csrf(request)
            if not public:
                user = current_user(request)
                if user is None:
                    return RedirectResponse("/login", status_code=303)
                if admin and not user.is_admin:
                    raise HTTPException(403, "admins only")
            return await fn(request)
        return endpoint

    return wrap(handler) if handler is not None else wrap


def render(request: Request, name: str, context: dict | None = None, status: int = 200, headers: dict | None = None):
    st = state(request)
    base = csrf_base(request)
    ctx = {
        "user": request.scope.get("user"),
        "csrf": st.keys.csrf_token(base) if base else "",
        "org_name": st.intake.settings.organization.name,
        "status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS, "role_labels": ROLE_LABELS,
        "policy_labels": POLICY_LABELS, "clock_labels": CLOCK_LABELS,
        "tz": st.intake.settings.tz,
        "departments": {d.id: d.name for d in st.intake.settings.roster.departments},
        "staff_names": {s.id: s.name for s in st.intake.settings.roster.staff},
        "category_labels": {c.id: c.label for c in st.intake.rules.category_rules.categories},
    }
    ctx.update(context or {})
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status, headers=headers)


def local(dt, tz, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return dt.astimezone(tz).strftime(fmt) if dt else "-"


TEMPLATES.env.filters["local"] = local
