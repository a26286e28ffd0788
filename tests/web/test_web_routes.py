"""Every contract route of the console, for every role, and every refusal (issue 14's "Done when"):
unauthenticated -> the sign-in page, another department's case -> 404, a POST without CSRF -> 403,
an expired or reused link (sign-in and survey) -> refused, hostile HTML inert.

Roles from config/staff.toml: kim.minsu (admin, business), lee.seoyeon (manager: head of
support-center), park.jiyoung (staff, business). Two cases are added beside the pipeline's: one
of the research department (nobody here but the admin may see it) and one of business handled by
jung.hyunwoo (park.jiyoung sees it, as her department's, but may only leave a note).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from sqlmodel import select

from bench.bench_web import case_rows
from intake.db import transaction
from intake.models import Case, InboundMessage, Outbox
from tests.web.conftest import ADMIN, build_console, csrf_of, mail_a_survey, sign_in

ROLES = {"admin": ADMIN, "manager": "seoyeon.lee@example.org", "staff": "jiyoung.park@example.org"}
DEPARTMENT = {"admin": "business", "manager": "support-center", "staff": "business"}
RESEARCH_REF, COLLEAGUE_REF = "2026-900001", "2026-900002"
HOSTILE_QUERY = "<script>alert(1)</script>\"><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">"


def add_cases(console) -> None:
    rows = list(case_rows(2, datetime.now(timezone.utc)))
    rows[0].update(ref=RESEARCH_REF, department="research", handler_id="choi.junho", status="open",
                   subject="<script>alert('연구')</script> 조사 자료 요청")
    rows[1].update(ref=COLLEAGUE_REF, department="business", handler_id="jung.hyunwoo", status="open",
                   subject="<img src=x onerror=alert(1)> 차량 반출 문의")
    with console.app.engine.begin() as conn:
        conn.execute(Case.__table__.insert(), rows)


@pytest.fixture
def routes_console(tmp_path, dovecot, smtp_sink):
    console = build_console(tmp_path, dovecot, smtp_sink, survey=True)
    add_cases(console)
    try:
        yield console
    finally:
        console.app.engine.dispose()


def signed_in(console, role: str):
    client = console.client()
    sign_in(console, client, ROLES[role])
    return client


def own_department_ref(console, department: str) -> str:
    with transaction(console.app.engine) as s:
        return s.exec(select(Case.ref).where(Case.department == department).order_by(Case.id)).first()


def held_message_id(console) -> int:
    with transaction(console.app.engine) as s:
        return s.exec(select(InboundMessage.id).where(InboundMessage.stage == "quarantine")).first()


def test_every_route_unauthenticated_goes_to_the_sign_in_page(routes_console):
    client = routes_console.client()
    for path in ("/", "/cases", "/cases?q=방북", f"/cases/{RESEARCH_REF}", "/cases/2026-999999", "/messages",
                 "/messages?stage=quarantine", "/templates", "/templates/sign-in-link", "/reports", "/reports/view",
                 "/logout", "/roster", "/calendar", "/attachments/1", "/messages/1/html"):
        r = client.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
    token = csrf_of(client.get("/login").text)          # a pre-session's valid token is no session
    for path in (f"/cases/{COLLEAGUE_REF}/act/note", f"/messages/{held_message_id(routes_console)}/release",
                 "/templates/acknowledgement/save", "/logout", "/roster", "/calendar"):
        r = client.post(path, data={"csrf_token": token, "text": "x", "content": "x"})
        assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
    page = client.get("/login")
    assert page.status_code == 200 and 'name="email"' in page.text
    assert client.get("/login/link/not-a-token").status_code == 400         # public, but refused
    assert client.get("/survey/not-a-token").status_code == 404


# role -> (path -> expected status); {own} is a case of the role's department
EXPECTED = {
    "admin": {"/": 200, "/cases": 200, "{own}": 200, RESEARCH_REF: 200, COLLEAGUE_REF: 200, "/messages": 200,
              "/templates": 200, "/templates/sign-in-link": 200, "/reports": 200, "/logout": 200, "/roster": 200},
    "manager": {"/": 200, "/cases": 200, "{own}": 200, RESEARCH_REF: 404, COLLEAGUE_REF: 404, "/messages": 200,
                "/templates": 403, "/templates/sign-in-link": 403, "/reports": 200, "/logout": 200, "/roster": 403},
    "staff": {"/": 200, "/cases": 200, "{own}": 200, RESEARCH_REF: 404, COLLEAGUE_REF: 200, "/messages": 403,
              "/templates": 403, "/templates/sign-in-link": 403, "/reports": 200, "/logout": 200, "/roster": 403},
}


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_every_route_for_every_role(routes_console, role):
    console = routes_console
    client = signed_in(console, role)
    own = own_department_ref(console, DEPARTMENT[role])
    for path, status in EXPECTED[role].items():
        url = f"/cases/{own}" if path == "{own}" else (f"/cases/{path}" if path[0].isdigit() else path)
        if path == "{own}" and own is None:
            continue
        r = client.get(url)
        assert r.status_code == status, (role, url, r.status_code)
    listing = client.get("/cases").text
    assert (RESEARCH_REF in listing) == (role == "admin")
    assert (COLLEAGUE_REF in listing) == (role != "manager")
    searched = client.get("/cases", params={"q": "조사 자료"}).text
    assert (RESEARCH_REF in searched) == (role == "admin"), "search keeps to what the role may see"
    assert client.get("/login").headers.get("location") == "/"           # signed in: the sign-in page moves on
    assert client.get("/survey/0123456789abcdef.abcdef.5." + "0" * 32).status_code == 404    # forged


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_every_post_without_csrf_is_refused_for_every_role(routes_console, role):
    console = routes_console
    client = signed_in(console, role)
    own = own_department_ref(console, DEPARTMENT[role]) or COLLEAGUE_REF
    msg = held_message_id(console)
    posts = [("/login", {"email": ADMIN}), (f"/cases/{own}/act/note", {"text": "메모"}),
             (f"/cases/{own}/act/answer", {"text": "답변"}), (f"/cases/{RESEARCH_REF}/act/close", {}),
             (f"/messages/{msg}/release", {"reason": "x"}), (f"/messages/{msg}/retry", {}),
             ("/templates/acknowledgement/save", {"content": "x"}), ("/templates/acknowledgement/check", {"content": "x"}),
             ("/roster", {}), ("/calendar", {}), ("/logout", {}), ("/login/link/whatever", {}),
             ("/survey/0123456789abcdef.abcdef.5." + "0" * 32, {})]
    for path, data in posts:
        assert client.post(path, data=data).status_code == 403, (role, path)
        assert client.post(path, data={**data, "csrf_token": "0" * 64}).status_code == 403, (role, path)
        assert client.post(path, data=data, headers={"X-CSRF-Token": "f" * 64}).status_code == 403, (role, path)
    assert client.get("/").status_code == 200, "still signed in: nothing was done"


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_another_departments_case_is_404_for_actions_attachments_and_html(routes_console, role):
    console = routes_console
    client = signed_in(console, role)
    token = csrf_of(client.get("/cases").text)
    for action in ("note", "answer", "close", "reassign"):
        r = client.post(f"/cases/{RESEARCH_REF}/act/{action}", data={"csrf_token": token, "text": "x", "target": "x"})
        assert r.status_code == 404, (role, action)
    with transaction(console.app.engine) as s:
        other = s.exec(select(Case).where(Case.department != DEPARTMENT[role],
                                          Case.handler_id != "choi.junho")).all()
        ids = [m.id for c in other for m in s.exec(select(InboundMessage).where(InboundMessage.case_id == c.id))]
    for mid in ids:
        assert client.get(f"/messages/{mid}/html").status_code == 404
    if role == "staff":        # the department's case of a colleague: a note yes, an answer no
        r = client.post(f"/cases/{COLLEAGUE_REF}/act/answer", data={"csrf_token": token, "text": "답변"})
        assert r.status_code == 403
        r = client.post(f"/cases/{COLLEAGUE_REF}/act/note", data={"csrf_token": token, "text": "참고 메모"})
        assert r.status_code == 200


def test_reused_and_expired_sign_in_links_and_a_reused_survey_link_are_refused(routes_console):
    console = routes_console
    client = console.client()
    sign_in(console, client, ROLES["staff"])
    used = console.sign_in_links()[-1].split("testserver", 1)[-1]
    stranger = console.client()
    assert stranger.get(used).status_code == 400
    assert stranger.post(used, data={"csrf_token": csrf_of(stranger.get("/login").text)}).status_code == 400
    assert stranger.get("/").status_code == 303
    stranger.post("/login", data={"email": ROLES["manager"], "csrf_token": csrf_of(stranger.get("/login").text)})
    late = console.sign_in_links()[-1].split("testserver", 1)[-1]
    confirm = stranger.get(late)
    console.clock.offset = timedelta(minutes=15, seconds=1)
    r = stranger.post(late, data={"csrf_token": csrf_of(confirm.text)})
    assert r.status_code == 400 and "intake_session" not in r.headers.get("set-cookie", "")
    console.clock.offset = timedelta()

    _, links = mail_a_survey(console)
    customer = console.client()                       # no session, no cookies: the customer
    page = customer.get(links[1].split("testserver", 1)[-1])
    assert page.status_code == 200 and "만족" in page.text
    r = customer.post(links[1].split("testserver", 1)[-1], data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "감사합니다" in r.text
    for link in links:                                # every score's link of that survey is used up
        again = console.client().get(link.split("testserver", 1)[-1])
        assert again.status_code == 409 and "이미 응답하신 조사입니다" in again.text
        assert 'name="comment"' not in again.text
    assert "로그인" not in again.text.split("<main>", 1)[1], "no session needed, no sign-in offered"


def test_hostile_html_is_inert_on_every_page_for_every_role(routes_console):
    console = routes_console
    for role in ("admin", "staff"):
        client = signed_in(console, role)
        pages = [client.get("/cases"), client.get("/cases", params={"q": HOSTILE_QUERY}),
                 client.get(f"/cases/{COLLEAGUE_REF}"), client.get("/")]
        if role == "admin":
            with transaction(console.app.engine) as s:
                hostile = s.exec(select(Case.ref).where(Case.customer_address == "gildong.hong@example.net")).one()
            pages += [client.get(f"/cases/{hostile}"), client.get(f"/cases/{RESEARCH_REF}"), client.get("/messages"),
                      client.get("/messages", params={"stage": "quarantine"})]
        for r in pages:
            assert r.status_code == 200, (role, r.url)
            assert live_markup(r.text) == [], (role, r.url)
        assert "&lt;script&gt;alert(1)" in client.get("/cases", params={"q": HOSTILE_QUERY}).text
        assert "&lt;img src=x onerror=alert(1)&gt; 차량 반출 문의" in client.get(f"/cases/{COLLEAGUE_REF}").text


class _Markup(HTMLParser):
    """What in a page could run: scripts other than the vendored htmx, event-handler attributes,
    javascript: URLs, frames without a sandbox, images from elsewhere."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src") != "/static/htmx.min.js":
            self.found.append(f"<script {a}>")
        if tag == "iframe" and a.get("sandbox") != "":
            self.found.append(f"<iframe {a}>")
        if tag == "img" and not (a.get("src") or "").startswith("/attachments/"):
            self.found.append(f"<img {a}>")
        for name, value in attrs:
            url = name in ("href", "src", "action", "formaction", "hx-get", "hx-post")
            if name.startswith("on") or (url and "javascript:" in (value or "").lower().replace(" ", "")):
                self.found.append(f"<{tag} {name}={value!r}>")


def live_markup(page: str) -> list[str]:
    parser = _Markup()
    parser.feed(page)
    return parser.found


def test_the_sign_in_mail_is_the_editable_template_polite_with_validity_and_ignorable(routes_console):
    console = routes_console
    client = signed_in(console, "admin")
    with transaction(console.app.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.purpose == "web-sign-in")).one()
        assert (row.template, row.status) == ("sign-in-link", "sent")
    mail = [m for m in console.mails_to(ADMIN) if "로그인" in str(m["Subject"])][0]
    text = mail.get_body(("plain",)).get_content()
    assert "김민수 님, 안녕하십니까." in text
    assert "15분 동안 유효하며 한 번만 쓰실 수 있습니다" in text
    assert "로그인을 요청하신 적이 없으시면 이 메일은 무시하셔도 됩니다" in text
    assert mail["Auto-Submitted"] == "auto-generated"
    page = client.get("/templates/sign-in-link")
    assert page.status_code == 200 and "{{ minutes }}분" in page.text
    listing = client.get("/templates").text
    assert "sign-in-link" in listing
