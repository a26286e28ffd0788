"""Messages held back (managers and admins), templates (admins)."""

from __future__ import annotations

import logging

from sqlmodel import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from intake.db import transaction
from intake.domain import replies
from intake.models import Case, InboundMessage
from intake.web import held, template_edits as edits
from intake.web.context import current_user, page, render, state, visible

log = logging.getLogger("intake.web")


def _manager_or_admin(request: Request):
    user = current_user(request)
    if user.role not in ("manager", "admin"):
        raise HTTPException(403, "managers and admins only")
    return user


@page
async def messages(request: Request, result: str = "", error: str = "", status: int = 200):
    _manager_or_admin(request)
    st = state(request)
    stage = request.query_params.get("stage")
    with transaction(st.intake.engine) as s:
        rows = held.held_messages(s, stage)
        s.expunge_all()
    return render(request, "messages.html", {"rows": rows, "stage": stage or "", "result": result, "error": error,
                                             "reasons": {m.id: held.hold_reason(m) for m in rows}},
                  status=status)


@page
async def message_action(request: Request):
    user = _manager_or_admin(request)
    st = state(request)
    action = request.path_params["action"]
    form = await request.form()
    now = st.intake.now()
    try:
        with transaction(st.intake.engine) as s:
            row = s.get(InboundMessage, request.path_params["id"])
            if row is None:
                raise HTTPException(404, "no such message")
            if action == "retry":
                result = held.retry(s, row, user.staff_id, now)
            elif action == "release":
                case = held.release_as_case(s, st.intake, row, user.staff_id, str(form.get("reason") or ""), now)
                result = f"{case.ref} 건으로 접수하였습니다."
            else:
                raise HTTPException(404, "no such action")
    except held.ReleaseError as exc:
        return await messages.__wrapped__(request, error=str(exc), status=409)
    log.info("message #%s %s by %s", request.path_params["id"], action, user.staff_id)
    return await messages.__wrapped__(request, result=result)


def _template_args(request: Request) -> tuple[str, str, str]:
    name = request.path_params["name"]
    language = request.query_params.get("lang", "ko")
    part = request.query_params.get("part", "txt")
    try:
        edits.file_path(state(request).intake.settings.templates.path, name, language, part)
    except KeyError:
        raise HTTPException(404, "no such template") from None
    return name, language, part


def _preview_case(request: Request, user):
    """A real case to preview against: the one named (if visible), else the newest visible one."""
    st = state(request)
    ref = request.query_params.get("case") or ""
    with transaction(st.intake.engine) as s:
        q = select(Case)
        where = visible(user)
        if where is not None:
            q = q.where(where)
        q = q.where(Case.ref == ref) if ref else q.order_by(Case.id.desc())
        case = s.exec(q.limit(1)).first()
        if case is not None:
            s.expunge(case)
    return case


@page(admin=True)
async def templates_list(request: Request):
    st = state(request)
    st.intake.templates.refresh()
    return render(request, "templates.html", {"status": st.intake.templates.status(),
                                              "specs": replies.MESSAGES})


@page(admin=True)
async def template_edit(request: Request, result: str = "", problems: list | None = None, content: str | None = None):
    st, user = state(request), current_user(request)
    name, language, part = _template_args(request)
    folder = st.intake.settings.templates.path
    source = edits.current_source(folder, name, language, part) if content is None else content
    case = _preview_case(request, user)
    checked = edits.check(st.intake, name, language, part, source, case)
    with st.intake.engine.connect() as conn:
        versions = edits.history(conn, name, language, part)
    return render(request, "template_edit.html", {
        "name": name, "language": language, "part": part, "source": source, "checked": checked,
        "case": case, "versions": versions, "result": result, "problems": problems or [],
        "spec": replies.MESSAGES[name]}, status=409 if problems else 200)


@page(admin=True)
async def template_check(request: Request):
    """htmx: lint and preview the text in the editor (on every pause in typing)."""
    st, user = state(request), current_user(request)
    name, language, part = _template_args(request)
    form = await request.form()
    checked = edits.check(st.intake, name, language, part, str(form.get("content") or ""),
                          _preview_case(request, user))
    return render(request, "template_check.html", {"checked": checked})


@page(admin=True)
async def template_save(request: Request):
    st, user = state(request), current_user(request)
    name, language, part = _template_args(request)
    form = await request.form()
    rollback = form.get("rollback")
    now = st.intake.now()
    with st.intake.engine.begin() as conn:
        if rollback:
            old = edits.edit_content(conn, int(rollback))
            if old is None or (old.name, old.language, old.part) != (name, language, part):
                raise HTTPException(404, "no such version")
            content, note = old.content, f"rollback to #{old.id}"
        else:
            content, note = str(form.get("content") or ""), "saved"
        outcome = edits.save(st.intake, conn, name, language, part, content, user.staff_id, now, note)
        if isinstance(outcome, str):
            from intake.web.auth import audit_event

            audit_event(conn, now, "template-edited", user.staff_id,
                        {"template": name, "language": language, "part": part, "version": outcome, "note": note})
    if not isinstance(outcome, str):
        return await template_edit.__wrapped__(request, problems=outcome.problems, content=content)
    log.info("template %s/%s.%s saved by %s: version %s", language, name, part, user.staff_id, outcome)
    return await template_edit.__wrapped__(request, result=f"저장하였습니다. 새 버전: {outcome}")


@page(admin=True)
async def template_diff(request: Request):
    st = state(request)
    name, language, part = _template_args(request)
    with st.intake.engine.connect() as conn:
        a = edits.edit_content(conn, int(request.query_params.get("a") or 0))
        b = edits.edit_content(conn, int(request.query_params.get("b") or 0))
    if a is None or b is None or {(a.name, a.part), (b.name, b.part)} != {(name, part)}:
        raise HTTPException(404, "no such version")
    lines = edits.diff(a.content, b.content, f"#{a.id} {a.version}", f"#{b.id} {b.version}")
    return render(request, "template_diff.html", {"name": name, "language": language, "part": part,
                                                  "a": a, "b": b, "lines": lines})


ROUTES = [
    Route("/messages", messages),
    Route("/messages/{id:int}/{action}", message_action, methods=["POST"]),
    Route("/templates", templates_list),
    Route("/templates/{name}", template_edit),
    Route("/templates/{name}/check", template_check, methods=["POST"]),
    Route("/templates/{name}/save", template_save, methods=["POST"]),
    Route("/templates/{name}/diff", template_diff),
]
