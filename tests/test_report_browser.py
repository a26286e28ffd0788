"""The html report rendered in headless Chromium (Debian's /usr/bin/chromium): its four charts are drawn,
Korean text is laid out, nothing is fetched. The screenshot is kept as a test artefact (path printed)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.report_fixtures import constructed_config, intake_cli  # noqa: F401 (fixture)

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTEFACTS = Path(os.environ.get("INTAKE_TEST_ARTEFACTS", tempfile.gettempdir())) / "intake-report-screenshots"

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                 reason="Debian chromium/chromedriver not installed")]


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,1400",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def test_html_report_shows_its_charts_in_chromium(constructed_config, browser, tmp_path):
    page = tmp_path / "report.html"
    intake_cli(constructed_config, "report", "--from", "2026-12-01", "--to", "2026-12-31",
               "--as-of", "2026-12-11T12:00+09:00", "--out", str(page))
    browser.get(page.as_uri())
    charts = browser.find_elements("css selector", ".chart svg")
    assert len(charts) == 4
    for svg in charts:
        size = svg.size
        assert size["width"] > 300 and size["height"] > 100, size
        # glyphs are paths: every chart has drawn shapes, not empty boxes
        assert len(svg.find_elements("css selector", "path")) > 20
    heading = browser.find_element("css selector", "h1")
    assert "고객헌장 이행 보고서" in heading.text and heading.size["width"] > 200
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    browser.set_window_size(1100, browser.execute_script("return document.body.scrollHeight") + 100)
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    kept = ARTEFACTS / "report-constructed.png"
    shutil.copyfile(shot, kept)
    print(f"\nscreenshot of the html report: {kept}")
