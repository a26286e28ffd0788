"""The console in a real browser (Debian's chromium + chromedriver through Selenium), served by
uvicorn, on cases the real pipeline registered from a private Dovecot; mail arrives at the SMTP sink.

Screenshots go to ``$INTAKE_ARTEFACTS`` (default ``var/test-artefacts/web``)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from intake.adapters.smtp_mailer import SmtpMailer
from intake.stages.send import deliver_due
from tests.e2e.harness import REPO, wait_for
from tests.web.conftest import ADMIN, build_console, mail_a_survey

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
                                reason="Debian chromium and chromium-driver are not installed (scripts/setup)")
ARTEFACTS = Path(os.environ.get("INTAKE_ARTEFACTS") or REPO / "var" / "test-artefacts" / "web")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(console):
    """The console's ASGI app under uvicorn on its base_url's port, in a thread."""
    import uvicorn

    port = int(console.app.settings.web.base_url.rsplit(":", 1)[1])
    server = uvicorn.Server(uvicorn.Config(console.asgi, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 20)
    try:
        yield console, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        console.app.engine.dispose()


@pytest.fixture
def served(tmp_path, dovecot, smtp_sink):
    with serving(build_console(tmp_path, dovecot, smtp_sink, base_url=f"http://127.0.0.1:{_free_port()}")) as s:
        yield s


@pytest.fixture
def served_with_survey(tmp_path, dovecot, smtp_sink):
    with serving(build_console(tmp_path, dovecot, smtp_sink, base_url=f"http://127.0.0.1:{_free_port()}",
                               survey=True)) as s:
        yield s


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="intake-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                f"--user-data-dir={profile}", "--lang=ko-KR"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(height + 40, 800), 3000))
    driver.save_screenshot(str(ARTEFACTS / f"{name}.png"))
    driver.set_window_size(1400, 1000)


def _wait(driver, predicate, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: predicate(d))


def test_console_in_a_real_browser(served, browser):
    from selenium.webdriver.common.by import By

    console, base = served
    d = browser
    d.get(base + "/cases")                                  # not signed in: the sign-in page
    assert d.current_url.endswith("/login")
    shot(d, "01-login")
    d.find_element(By.ID, "email").send_keys(ADMIN)
    d.find_element(By.CSS_SELECTOR, "button.primary").click()
    _wait(d, lambda d: "메일을 확인해 주십시오" in d.page_source)
    assert wait_for(lambda: console.sign_in_links(), 10), "no sign-in mail at the SMTP server"
    d.get(console.sign_in_links()[-1])                       # the link from the mail
    d.find_element(By.ID, "sign-in").click()
    _wait(d, lambda d: "내가 처리할 민원" in d.page_source)
    shot(d, "02-today")

    d.get(base + "/cases")
    d.find_element(By.ID, "q").send_keys("방북증명서")          # htmx updates the list as one types
    _wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tbody tr")) == 1
          and "방북증명서" in d.find_element(By.ID, "results").text)
    shot(d, "03-search")
    d.find_element(By.CSS_SELECTOR, "#results tbody tr a").click()
    _wait(d, lambda d: d.find_elements(By.ID, "send-answer"))
    assert not d.execute_script("return window.__pwned === true || document.title === 'pwned'")
    d.find_element(By.CSS_SELECTOR, "details summary").click()
    time.sleep(0.5)
    shot(d, "04-case")
    d.find_element(By.NAME, "text").send_keys("문의하신 방북증명서는 신청 후 3일 안에 발급됩니다.")
    d.find_element(By.ID, "send-answer").click()
    _wait(d, lambda d: d.find_elements(By.ID, "result"))
    shot(d, "05-answered")
    deliver_due(console.app, SmtpMailer(console.app.settings.smtp))     # the daemon's sender
    replies = [m for m in console.mails_to("gildong.hong@example.net")
               if "3일 안에 발급됩니다" in m.get_body(("plain",)).get_content()]
    assert len(replies) == 1

    d.get(base + "/templates/acknowledgement")
    editor = d.find_element(By.ID, "editor")
    editor.send_keys("\n브라우저에서 고친 문장입니다.")
    _wait(d, lambda d: "브라우저에서 고친 문장입니다." in d.find_element(By.ID, "check").text)
    shot(d, "06-template-preview")

    d.get(base + "/messages?stage=quarantine")
    rows = d.find_elements(By.CSS_SELECTOR, "tbody tr[id^=msg-]")
    assert rows
    rows[0].find_element(By.NAME, "reason").send_keys("실제 문의입니다")
    rows[0].find_element(By.CSS_SELECTOR, "button.primary").click()
    _wait(d, lambda d: d.find_elements(By.ID, "result"))
    assert "건으로 접수하였습니다" in d.find_element(By.ID, "result").text
    shot(d, "07-released")
    d.get(base + "/calendar")
    d.find_element(By.CSS_SELECTOR, "input[name=day]").send_keys("12282026")     # the date control's order (en-US)
    d.find_element(By.NAME, "note").send_keys("창립기념일")
    d.find_element(By.CSS_SELECTOR, "form.filters button.primary").click()
    _wait(d, lambda d: d.find_elements(By.ID, "result") or d.find_elements(By.ID, "error"))
    shot(d, "08-calendar")
    logs = [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert logs == [], logs                                  # nothing the policy had to block


def test_survey_answered_through_the_mailed_link_then_the_link_is_used_up(served_with_survey, browser):
    """No session: the customer opens the "매우 만족" link of the survey mail that arrived at the
    SMTP sink, adds a comment, sees the thanks page; the same link (or another score's) later
    shows a neutral "already answered" page with HTTP 409, and nothing changes."""
    from selenium.webdriver.common.by import By
    from sqlmodel import select

    from intake.db import transaction
    from intake.models import AuditEvent, Survey

    console, base = served_with_survey
    ref, links = mail_a_survey(console)
    assert len(links) == 5 and all(link.startswith(base + "/survey/") for link in links)
    very_satisfied = links[0]                                # the mail lists 5 (매우 만족) first
    d = browser
    d.get(very_satisfied)
    assert "매우 만족" in d.find_element(By.CSS_SELECTOR, "section.card").text
    assert not d.find_elements(By.CSS_SELECTOR, "header nav"), "a survey page shows no console navigation"
    shot(d, "09-survey")
    d.find_element(By.ID, "comment").send_keys("빠르게 답변해 주셔서 고맙습니다.")
    d.find_element(By.CSS_SELECTOR, "button.primary").click()
    _wait(d, lambda d: d.find_elements(By.ID, "survey-result"))
    assert "감사합니다" in d.find_element(By.ID, "survey-result").text
    shot(d, "10-survey-thanks")

    d.delete_all_cookies()
    d.get(very_satisfied)                                    # the used link, opened again
    _wait(d, lambda d: d.find_elements(By.ID, "survey-result"))
    assert "이미 응답하신 조사입니다" in d.find_element(By.ID, "survey-result").text
    assert not d.find_elements(By.ID, "comment")
    shot(d, "11-survey-used")
    for link in (very_satisfied, links[4]):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(link, timeout=10)
        assert refused.value.code == 409
        assert "이미 응답하신 조사입니다" in refused.value.read().decode()
    with transaction(console.app.engine) as s:
        survey = s.exec(select(Survey)).one()
        assert (survey.state, survey.score, survey.answered_via) == ("answered", 5, "link")
        assert survey.comment == "빠르게 답변해 주셔서 고맙습니다."
        answers = s.exec(select(AuditEvent).where(AuditEvent.event == "survey-answered")).all()
        assert len(answers) == 1 and answers[0].actor == "customer"
    logs = [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert logs == [], logs
