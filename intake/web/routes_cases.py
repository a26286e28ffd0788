"""Today, the cases list, the case page and its actions (the same functions as the e-mail commands)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time

from sqlmodel import Session, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intake.db import transaction
from intake.domain.mailparse import parse_message
from intake.models import AuditEvent, Case, CaseClock, InboundMessage, Outbox, StoredAttachment
from intake.stages import case_actions, corrections, spam_marking
from intake.web import evidence_view, search
from intake.web.context import can_see, current_user, may_act, page, render, state, visible
from intake.web.security import CUSTOMER_HTML_CSP, content_disposition, customer_html_document

log = logging.getLogger("intake.web")


@page
async def today(request: Request):
    st, user = state(request), current_user(request)
    now = st.intake.now()
    tz = st.intake.settings.tz
    day_end = datetime.combine(now.astimezone(tz).date(), time(23, 59, 59), tz)
    with st.intake.engine.connect() as conn:
        summary = search.today_summary(conn, user.staff_id, visible(user), now, day_end)
    return render(request, "today.html", {"summary": summary, "now": now})


@page
async def cases_list(request: Request):
    st, user = state(request), current_user(request)
    query = search.Query.from_params(request.query_params)
    with st.intake.engine.connect() as conn:
        rows, total = search.list_cases(conn, query, visible(user), st.intake.now())
    categories = [c.id for c in st.intake.rules.category_rules.categories]
    template = "cases_rows.html" if request.headers.get("hx-request") else "cases.html"
    capped = total > search.COUNT_CAP
    pages = (total + search.PAGE_SIZE - 1) // search.PAGE_SIZE
    if capped:      # not counted to the end: another page while this one is full
        pages = query.page + 1 if len(rows) == search.PAGE_SIZE else query.page
    return render(request, template, {"rows": rows, "total": total, "query": query, "now": st.intake.now(),
                                      "pages": pages, "capped": capped, "cap": search.COUNT_CAP,
                                      "categories": categories})


def _case_or_404(session: Session, user, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref)).first()
    if case is None or not can_see(user, case):
        raise HTTPException(404, "no such case")      # another department's case looks like none at all
    return case


def _messages(st, session: Session, case: Case) -> list[dict]:
    rows = session.exec(select(InboundMessage).where(InboundMessage.case_id == case.id).order_by(InboundMessage.id)).all()
    out = []
    for m in rows:
        try:
            mail = parse_message(st.intake.store.read(m.raw_path), m.received_at)
            body, has_html = mail.text, bool(mail.html)
        except Exception as exc:  # noqa: BLE001 - a damaged stored message must not hide the case
            log.warning("message #%d could not be read: %s", m.id, type(exc).__name__)
            body, has_html = "(원문을 읽을 수 없습니다)", False
        atts = session.exec(select(StoredAttachment).where(StoredAttachment.inbound_id == m.id).order_by(
            StoredAttachment.id)).all()
        out.append({"row": m, "text": body, "has_html": has_html, "attachments": atts,
                    "pages": [a for a in atts if a.content_type in ("image/png", "image/jpeg", "image/gif")]})
    return out


def _case_page(request: Request, ref: str, result: str = "", error: str = "", status: int = 200):
    st, user = state(request), current_user(request)
    with transaction(st.intake.engine) as s:
        case = _case_or_404(s, user, ref)
        ctx = {
            "case": case, "messages": _messages(st, s, case),
            "clocks": s.exec(select(CaseClock).where(CaseClock.case_id == case.id).order_by(CaseClock.id)).all(),
            "events": s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)).all(),
            "mails": s.exec(select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id)).all(),
            "may_act": may_act(user, case), "result": result, "error": error,
            "categories": [(c.id, c.label) for c in st.intake.rules.category_rules.categories],
            "staff": st.intake.settings.roster.staff,
        }
        s.expunge_all()
    _readable_evidence(st, ctx)
    return render(request, "case.html", ctx, status=status)


def _readable_evidence(st, ctx: dict) -> None:
    """The evidence and the audit trail as Korean rows (``intake.web.evidence_view``)."""
    roster = st.intake.settings.roster
    departments = {d.id: d.name for d in roster.departments}
    ctx["evidence"] = evidence_view.evidence_rows(ctx["case"].evidence, [(o.template, o.template_version)
                                                                         for o in ctx["mails"]], departments)
    ctx["audit"] = evidence_view.audit_rows(ctx["events"], {s.id: s.name for s in roster.staff}, departments)


@page
async def case_page(request: Request):
    return _case_page(request, request.path_params["ref"])


def _run_action(st, case: Case, s: Session, action: str, form, actor: str, now: datetime) -> str:
    f = {k: str(form.get(k) or "").strip() for k in ("text", "reason", "note", "date", "target", "category")}
    app = st.intake
    if case.status == "closed" and action not in ("note", "reassign", "error", "spam"):
        raise case_actions.ActionError(f"{case.ref} is closed")
    if action == "answer":
        return case_actions.answer(s, app, case, f["text"], actor, now)
    if action == "hold":
        return case_actions.hold(s, app, case, f["reason"] or "보완 요청", actor, now)
    if action == "resume":
        return case_actions.resume(s, app, case, actor, now)
    if action == "extend":
        try:
            new_date = date.fromisoformat(f["date"])
        except ValueError:
            raise case_actions.ActionError("새 기한 날짜를 YYYY-MM-DD 형식으로 입력해 주십시오.") from None
        return case_actions.extend(s, app, case, new_date, f["reason"], actor, now)
    if action == "called":
        return case_actions.called(s, app, case, form.get("written") == "1", f["note"], actor, now)
    if action == "approved":
        return case_actions.approved(s, app, case, actor, now)
    if action == "error":
        return case_actions.service_error(s, app, case, f["text"], actor, now)
    if action == "note":
        return case_actions.note(s, app, case, f["text"], actor, now)
    if action == "close":
        return case_actions.close(s, app, case, f["note"], actor, now)
    if action == "reassign":
        app.apply_console_overrides()           # absences entered since (here or in another console process)
        return case_actions.do_reassign(s, app, case, f["target"], f["reason"], actor, now)
    if action == "spam":
        return spam_marking.mark_spam(s, app, case, f["reason"], actor, now)
    if action == "reclassify":
        return corrections.reclassify(s, app, case, f["category"], f["reason"], actor, now)
    raise case_actions.ActionError(f"unknown action {action!r}")


DONE = {"answer": "답변을 보냈습니다", "hold": "처리를 정지하였습니다", "resume": "처리를 다시 시작하였습니다",
        "extend": "기한을 연장하였습니다", "called": "전화 완료를 기록하였습니다", "approved": "승인을 기록하였습니다",
        "error": "업무 오류를 기록하였습니다", "note": "메모를 남겼습니다", "close": "종결하였습니다",
        "reassign": "담당을 바꾸었습니다", "reclassify": "분류를 바꾸었습니다",
        "spam": "스팸으로 표시하여 종결하였습니다"}
ACTIONS = ("answer", "hold", "resume", "extend", "called", "approved", "error", "note", "close", "reassign",
           "reclassify", "spam")


@page
async def case_action(request: Request):
    st, user = state(request), current_user(request)
    ref, action = request.path_params["ref"], request.path_params["action"]
    if action not in ACTIONS:
        raise HTTPException(404, "no such action")
    form = await request.form()
    now = st.intake.now()
    try:
        with transaction(st.intake.engine) as s:
            case = _case_or_404(s, user, ref)
            if not may_act(user, case) and action != "note":
                raise HTTPException(403, "not your case")
            result = _run_action(st, case, s, action, form, user.staff_id, now)
    except (case_actions.ActionError, corrections.CorrectionError) as exc:
        return _case_page(request, ref, error=str(exc), status=409)
    log.info("%s %s by %s in the console", ref, action, user.staff_id)
    return _case_page(request, ref, result=f"{DONE[action]}. ({result})")


def _attachment_or_404(request: Request) -> tuple[StoredAttachment, bytes]:
    st, user = state(request), current_user(request)
    with transaction(st.intake.engine) as s:
        att = s.get(StoredAttachment, int(request.path_params["id"]))
        msg = s.get(InboundMessage, att.inbound_id) if att else None
        case = s.get(Case, msg.case_id) if msg and msg.case_id else None
        allowed = case is not None and can_see(user, case) or (msg is not None and user.is_admin)
        if att is None or not allowed:
            raise HTTPException(404, "no such attachment")
        s.expunge(att)
    return att, st.intake.store.read(att.path)


@page
async def attachment_download(request: Request):
    att, data = _attachment_or_404(request)
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": content_disposition(att.original_filename or att.filename),
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"})


@page
async def attachment_page_image(request: Request):
    """A fax or scan page shown beside its OCR text: only PNG, JPEG and GIF, typed by their bytes."""
    att, data = _attachment_or_404(request)
    if att.content_type not in ("image/png", "image/jpeg", "image/gif"):
        raise HTTPException(404, "not an image")
    return Response(data, media_type=att.content_type, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"})


@page
async def message_html(request: Request):
    """The customer's HTML, sanitised, as its own document for a sandboxed iframe."""
    st, user = state(request), current_user(request)
    with transaction(st.intake.engine) as s:
        m = s.get(InboundMessage, int(request.path_params["id"]))
        case = s.get(Case, m.case_id) if m and m.case_id else None
        if m is None or not ((case is not None and can_see(user, case)) or user.is_admin):
            raise HTTPException(404, "no such message")
        raw_path, received_at = m.raw_path, m.received_at
    mail = parse_message(st.intake.store.read(raw_path), received_at)
    return Response(customer_html_document(mail.html or ""), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": CUSTOMER_HTML_CSP, "X-Frame-Options": "SAMEORIGIN"})


ROUTES = [
    Route("/", today),
    Route("/cases", cases_list),
    Route("/cases/{ref}", case_page),
    Route("/cases/{ref}/act/{action}", case_action, methods=["POST"]),
    Route("/attachments/{id:int}", attachment_download),
    Route("/attachments/{id:int}/page", attachment_page_image),
    Route("/messages/{id:int}/html", message_html),
]
