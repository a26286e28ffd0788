"""The console over HTTP (Starlette's TestClient), on cases the real pipeline registered."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from intake.db import transaction
from intake.models import AuditEvent, Case, Correction, InboundMessage
from intake.web.tables import WebSession
from tests.web.conftest import ADMIN, csrf_of, sign_in


def _cases(console):
    with transaction(console.app.engine) as s:
        rows = s.exec(select(Case).order_by(Case.id)).all()
        s.expunge_all()
    return rows


def test_unauthenticated_requests_get_the_sign_in_page(console):
    client = console.client()
    for path in ("/", "/cases", "/cases/2026-000001", "/messages", "/templates", "/reports", "/logout",
                 "/templates/acknowledgement", "/roster", "/calendar"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    page = client.get("/login")
    assert page.status_code == 200 and "로그인 링크 받기" in page.text


def test_sign_in_by_mailed_link_then_sign_out(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    cookie = client.cookies.get("intake_session")
    assert cookie
    r = client.get("/")
    assert r.status_code == 200 and "김민수" in r.text and "관리자" in r.text
    set_cookie = [h for k, h in r.headers.items() if k == "set-cookie"]
    assert not set_cookie
    with transaction(console.app.engine) as s:
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.actor == "kim.minsu")).all()]
    assert "web-sign-in-link" in events and "web-signed-in" in events
    r = client.post("/logout", data={"csrf_token": csrf_of(r.text)})
    assert r.status_code == 303
    client.cookies.set("intake_session", cookie)         # a copied cookie no longer works
    assert client.get("/").status_code == 303
    with transaction(console.app.engine) as s:
        assert s.exec(select(WebSession)).one().revoked_at is not None


def test_session_cookie_flags(console):
    client = console.client()
    page = client.get("/login")
    client.post("/login", data={"email": ADMIN, "csrf_token": csrf_of(page.text)})
    path = console.sign_in_links()[-1].split("testserver", 1)[-1]
    confirm = client.get(path)
    r = client.post(path, data={"csrf_token": csrf_of(confirm.text)})
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("intake_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie   # base_url is http here


def test_reused_and_expired_links_are_refused(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    used = console.sign_in_links()[-1].split("testserver", 1)[-1]
    other = console.client()
    page = other.get(used)
    assert page.status_code == 400 and "이미 사용한" in page.text
    # a fresh link, used after 16 minutes
    login = other.get("/login")
    other.post("/login", data={"email": ADMIN, "csrf_token": csrf_of(login.text)})
    late = console.sign_in_links()[-1].split("testserver", 1)[-1]
    confirm = other.get(late)
    console.clock.offset = timedelta(minutes=16)
    assert other.get(late).status_code == 400
    r = other.post(late, data={"csrf_token": csrf_of(confirm.text)})
    assert r.status_code == 400 and other.get("/").status_code == 303


def test_unknown_address_gets_the_same_answer_and_no_mail(console):
    client = console.client()
    page = client.get("/login")
    r = client.post("/login", data={"email": "stranger@example.com", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "등록되어 있으면" in r.text
    assert console.sign_in_links() == []


def test_sign_in_requests_are_rate_limited_per_address_and_per_client(console):
    client = console.client()
    page = client.get("/login")
    token = csrf_of(page.text)
    codes = [client.post("/login", data={"email": ADMIN, "csrf_token": token}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert len(console.sign_in_links()) == 3
    codes = [client.post("/login", data={"email": f"x{i}@example.com", "csrf_token": token}).status_code
             for i in range(8)]
    assert codes[-1] == 429          # 10 per client in 15 minutes


def test_post_without_csrf_is_refused(console):
    client = console.client()
    client.get("/login")
    assert client.post("/login", data={"email": ADMIN}).status_code == 403
    sign_in(console, client, ADMIN)
    ref = _cases(console)[0].ref
    r = client.post(f"/cases/{ref}/act/note", data={"text": "메모"})
    assert r.status_code == 403
    r = client.post(f"/cases/{ref}/act/note", data={"text": "메모", "csrf_token": "0" * 64})
    assert r.status_code == 403
    assert client.post("/logout").status_code == 403


def test_security_headers_on_every_page(console):
    client = console.client()
    for r in (client.get("/login"), client.get("/static/app.css"), client.get("/nope")):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in client.get("/login").text.replace('<script src="/static/htmx.min.js" defer></script>', "")


def test_cases_list_filters_and_korean_search(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    cases = _cases(console)
    r = client.get("/cases")
    assert r.status_code == 200
    for c in cases:
        assert c.ref in r.text
    r = client.get("/cases", params={"q": "방북증명서"})     # Korean, inside a longer word
    hostile = [c for c in cases if c.customer_address == "gildong.hong@example.net"][0]
    assert hostile.ref in r.text and cases[0].ref not in r.text or cases[0].ref == hostile.ref
    r = client.get("/cases", params={"q": "방북"})           # two syllables: below a trigram
    assert hostile.ref in r.text
    r = client.get("/cases", params={"q": cases[1].ref})
    assert cases[1].ref in r.text and f">{cases[2].ref}<" not in r.text
    r = client.get("/cases", params={"channel": "fax"})
    assert "해당하는 민원이 없습니다" in r.text
    r = client.get("/cases", params={"handler": cases[0].handler_id, "sort": "-due"})
    assert cases[0].ref in r.text
    r = client.get("/cases", params={"q": "방북"}, headers={"HX-Request": "true"})
    assert r.text.lstrip().startswith('<div id="results">')


def test_staff_see_their_department_only(console):
    cases = _cases(console)
    admin = console.client()
    sign_in(console, admin, ADMIN)
    member = console.app.settings.roster
    other_dep = [c for c in cases if c.department != "business"]
    own_dep = [c for c in cases if c.department == "business"]
    client = console.client()
    sign_in(console, client, "jiyoung.park@example.org")     # business, staff
    listing = client.get("/cases").text
    for c in own_dep:
        assert client.get(f"/cases/{c.ref}").status_code == 200
        assert c.ref in listing
    for c in other_dep:
        assert client.get(f"/cases/{c.ref}").status_code == 404
        assert c.ref not in listing
    assert client.get("/templates").status_code == 403
    assert client.get("/messages").status_code == 403
    assert member.role("park.jiyoung") == "staff" and member.role("lee.seoyeon") == "manager"


def test_hostile_html_renders_inert(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    case = [c for c in _cases(console) if c.customer_address == "gildong.hong@example.net"][0]
    page = client.get(f"/cases/{case.ref}").text
    assert "<script>document" not in page and "onerror" not in page and "javascript:" not in page
    m = re.search(r'<iframe class="customer-html" sandbox="" [^>]*src="(/messages/\d+/html)"', page)
    assert m, "the HTML original is only shown in a sandboxed iframe"
    r = client.get(m.group(1))
    body = r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "sandbox" in r.headers["content-security-policy"]
    for bad in ("<script", "onerror", "javascript:", "evil.example", "<style>input", "<iframe", "url("):
        assert bad not in body.split("</style>", 1)[1], bad
    assert "방북증명서 발급 절차" in body


def test_answer_hold_note_close_use_the_staff_action_code(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    case = _cases(console)[0]
    page = client.get(f"/cases/{case.ref}")
    token = csrf_of(page.text)
    r = client.post(f"/cases/{case.ref}/act/note", data={"text": "고객과 통화함", "csrf_token": token})
    assert r.status_code == 200 and "메모를 남겼습니다" in r.text and "note recorded" in r.text
    r = client.post(f"/cases/{case.ref}/act/extend", data={"date": "not-a-date", "reason": "x", "csrf_token": token})
    assert r.status_code == 409 and "YYYY-MM-DD" in r.text
    r = client.post(f"/cases/{case.ref}/act/answer", data={"text": "안내드린 대로 처리하겠습니다.", "csrf_token": token})
    assert r.status_code == 200 and "answer relayed" in r.text
    r = client.post(f"/cases/{case.ref}/act/close", data={"note": "완료", "csrf_token": token})
    assert r.status_code == 200
    with transaction(console.app.engine) as s:
        c = s.exec(select(Case).where(Case.ref == case.ref)).one()
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.case_id == c.id)).all()]
        assert c.status == "closed"
    assert {"note", "answered", "closed"} <= set(events)
    r = client.post(f"/cases/{case.ref}/act/hold", data={"reason": "x", "csrf_token": token})
    assert r.status_code == 409 and "closed" in r.text


def test_release_quarantined_spam_as_a_case(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    page = client.get("/messages", params={"stage": "quarantine"})
    assert page.status_code == 200
    with transaction(console.app.engine) as s:
        spam = s.exec(select(InboundMessage).where(InboundMessage.stage == "quarantine")).first()
        spam_id = spam.id
    assert f"msg-{spam_id}" in page.text
    r = client.post(f"/messages/{spam_id}/release", data={"reason": "실제 문의", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "건으로 접수하였습니다" in r.text
    with transaction(console.app.engine) as s:
        row = s.get(InboundMessage, spam_id)
        assert row.stage == "done" and row.case_id
        corr = s.exec(select(Correction).where(Correction.case_id == row.case_id)).one()
        assert (corr.kind, corr.from_value, corr.actor) == ("release", "spam", "kim.minsu")
    r = client.post(f"/messages/{spam_id}/release", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 409


def test_templates_lint_preview_save_history_rollback(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    assert client.get("/templates").status_code == 200
    page = client.get("/templates/acknowledgement")
    assert page.status_code == 200
    token = csrf_of(page.text)
    source = re.search(r'<textarea id="editor"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
    import html

    source = html.unescape(source)
    r = client.post("/templates/acknowledgement/check", data={"content": source + "\n추가 안내 문장입니다.\n"},
                    headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert "검사를 통과" in r.text and "추가 안내 문장입니다." in r.text
    bad = source.replace("{{ handler.phone|phone }}", "")
    r = client.post("/templates/acknowledgement/check", data={"content": bad}, headers={"X-CSRF-Token": token})
    assert "저장할 수 없습니다" in r.text
    r = client.post("/templates/acknowledgement/save", data={"content": bad, "csrf_token": token})
    assert r.status_code == 409
    r = client.post("/templates/acknowledgement/save", data={"content": source + "\n추가 안내 문장입니다.\n",
                                                             "csrf_token": token})
    assert r.status_code == 200 and "새 버전" in r.text
    assert "추가 안내 문장입니다." in (console.app.settings.templates.path / "acknowledgement.txt.j2").read_text()
    ids = [int(x) for x in re.findall(r"<b>#(\d+)</b>", r.text)]
    assert len(ids) == 2          # the file before the first edit, and the edit
    diff = client.get("/templates/acknowledgement/diff", params={"a": ids[1], "b": ids[0]})
    assert "+추가 안내 문장입니다." in diff.text
    r = client.post("/templates/acknowledgement/save", data={"rollback": str(ids[1]), "csrf_token": token})
    assert r.status_code == 200
    assert "추가 안내 문장입니다." not in (console.app.settings.templates.path / "acknowledgement.txt.j2").read_text()


def test_attachments_are_downloads_and_survey_links_unknown(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    assert client.get("/attachments/999999").status_code == 404
    assert client.get("/survey/abc").status_code == 404
    assert client.get("/reports").status_code == 200


def test_korean_search_and_roles_on_postgresql(tmp_path, dovecot, smtp_sink, fresh_postgres_url):
    from tests.web.conftest import build_console

    console = build_console(tmp_path, dovecot, smtp_sink, fresh_postgres_url)
    try:
        client = console.client()
        sign_in(console, client, ADMIN)
        hostile = [c for c in _cases(console) if c.customer_address == "gildong.hong@example.net"][0]
        for q in ("방북증명서", "방북", "증명서 발급", hostile.ref, "홍길동"):
            assert hostile.ref in client.get("/cases", params={"q": q}).text, q
        assert "해당하는 민원이 없습니다" in client.get("/cases", params={"q": "존재하지않는말"}).text
        staff = console.client()
        sign_in(console, staff, "jiyoung.park@example.org")
        assert staff.get(f"/cases/{hostile.ref}").status_code == (200 if hostile.department == "business" else 404)
    finally:
        console.app.engine.dispose()


def test_a_long_result_is_counted_up_to_the_cap(console):
    from bench.bench_web import case_rows
    from intake.web.search import COUNT_CAP
    from datetime import datetime, timezone

    with console.app.engine.begin() as conn:
        rows = list(case_rows(COUNT_CAP + 60, datetime.now(timezone.utc)))
        for i, r in enumerate(rows):
            r["ref"] = f"2025-{i:06d}"
        conn.execute(Case.__table__.insert(), rows)
    client = console.client()
    sign_in(console, client, ADMIN)
    r = client.get("/cases")
    assert "1,000건 이상" in r.text and "다음" in r.text
    r = client.get("/cases", params={"q": "평양"})          # short word through the word index
    assert r.status_code == 200 and "건" in r.text


def test_cli_prints_a_sign_in_link_and_revokes_sessions(console):
    r = console.env.run_cli("web", "--sign-in-link", "kim.minsu")
    assert r.returncode == 0, r.stderr
    link = r.stdout.strip()
    assert link.startswith("http://testserver/login/link/")
    client = console.client()
    confirm = client.get(link.split("testserver", 1)[1])
    assert client.post(link.split("testserver", 1)[1], data={"csrf_token": csrf_of(confirm.text)}).status_code == 303
    assert client.get("/").status_code == 200
    r = console.env.run_cli("web", "--revoke", "kim.minsu")
    assert r.returncode == 0 and "1 session(s)" in r.stdout
    assert client.get("/").status_code == 303
    assert console.env.run_cli("web", "--sign-in-link", "nobody").returncode == 1


def test_https_base_url_makes_cookies_secure_and_host_bound(tmp_path, dovecot, smtp_sink):
    from starlette.testclient import TestClient

    from tests.web.conftest import build_console

    console = build_console(tmp_path, dovecot, smtp_sink, base_url="https://testserver")
    try:
        client = TestClient(console.asgi, base_url="https://testserver", follow_redirects=False)
        page = client.get("/login")
        client.post("/login", data={"email": ADMIN, "csrf_token": csrf_of(page.text)})
        path = console.sign_in_links()[-1].split("testserver", 1)[-1]
        confirm = client.get(path)
        r = client.post(path, data={"csrf_token": csrf_of(confirm.text)})
        cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and "intake_session=" in v][0]
        assert cookie.startswith("__Host-intake_session=") and "Secure" in cookie and "HttpOnly" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert client.get("/").status_code == 200
    finally:
        console.app.engine.dispose()
