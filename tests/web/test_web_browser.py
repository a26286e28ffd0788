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
from pathlib import Path

import pytest

from intake.adapters.smtp_mailer import SmtpMailer
from intake.stages.send import deliver_due
from tests.e2e.harness import REPO, wait_for
from tests.web.conftest import ADMIN, build_console

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
                                reason="Debian chromium and chromium-driver are not installed (scripts/setup)")
ARTEFACTS = Path(os.environ.get("INTAKE_ARTEFACTS") or REPO / "var" / "test-artefacts" / "web")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path, dovecot, smtp_sink):
    import uvicorn

    port = _free_port()
    console = build_console(tmp_path, dovecot, smtp_sink, base_url=f"http://127.0.0.1:{port}")
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
