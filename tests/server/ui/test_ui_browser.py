"""The history pages in a real browser: headless Chromium (Debian's, driven by Selenium through
Debian's chromedriver) against the service on a loopback port, with example gates in a SQLite
store. One browser for the session; few tests, each a whole path a person takes.

Without chromium and chromium-driver these tests skip, except under CI (`CI` set), where they
fail: .ci/run installs both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.server.app import create_app
from gate.server.settings import ServerSettings
from gate.server.ui import UI
from gate.store import open_store
from tests.server.ui.helpers import REPORT, TOKEN
from tools.ui_browser import Clock, chromium, find_browser, live_server, seed_examples

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if find_browser() is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI is set but chromium or chromium-driver is missing (.ci/run installs them)"
            )
        pytest.skip("chromium and chromium-driver are not installed (apt-get install both)")
    pytest.importorskip("selenium")
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The service with example gates (and one with hostile names): its URL and their ids."""
    import time  # noqa: PLC0415

    now = time.time_ns() // 1_000_000
    folder: Path = tmp_path_factory.mktemp("ui-browser")
    clock = Clock(now)
    store = open_store(f"sqlite:///{folder}/gates.db", clock=clock)
    ids: dict[str, str] = {}

    async def build() -> Any:
        await store.upgrade()
        ids.update(await seed_examples(store, clock, REPORT, now_ms=now, hostile=True))
        app = create_app(ServerSettings(tokens=(TOKEN,)), store=store)
        app[UI].now_ms = lambda: now
        return app

    with live_server(build, store.close) as server:
        yield server.url, ids


def console_errors(driver: Any) -> list[str]:
    """The browser console's errors since last asked (CSP refusals land here too)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(driver: Any, url: str, *, prefix: bool = False) -> None:
    """Until the browser is at `url` (or a URL starting with it): a click returns before the
    page it leads to has loaded."""
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    WebDriverWait(driver, 15).until(
        lambda d: d.current_url.startswith(url) if prefix else d.current_url == url
    )


def no_alert(driver: Any) -> bool:
    from selenium.common.exceptions import NoAlertPresentException  # noqa: PLC0415

    try:
        driver.switch_to.alert  # noqa: B018 - the property raises when there is none
    except NoAlertPresentException:
        return True
    return False


def test_a_person_logs_in_lists_filters_opens_a_gate_sees_its_trend_and_logs_out(browser, site):
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import Select  # noqa: PLC0415

    url, ids = site
    browser.delete_all_cookies()
    console_errors(browser)
    browser.get(f"{url}/ui/")
    assert browser.current_url.startswith(f"{url}/ui/login")  # anonymous: sent to the login
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(browser, f"{url}/ui/")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.gate")
    assert len(rows) == len(ids)
    assert "waiting 3 h 12 min" in browser.page_source

    repository = browser.find_element(By.ID, "f-repository")
    repository.send_keys("acme-vision/road-segmenter")
    Select(browser.find_element(By.ID, "f-verdict")).select_by_value("fail")
    browser.find_element(By.ID, "filter").click()
    wait_for(browser, f"{url}/ui/?repository=", prefix=True)
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.gate")
    assert [r.get_attribute("id") for r in rows] == [f"gate-{ids['road segmenter-89']}"]

    browser.get(f"{url}/ui/?repository=acme-vision/rim-detector&verdict=fail")
    browser.find_element(By.CSS_SELECTOR, f"#gate-{ids['current']} a.verdict").click()
    wait_for(browser, f"{url}/ui/gates/{ids['current']}")
    chart = browser.find_element(By.ID, "trend")
    assert chart.is_displayed() and chart.size["width"] > 300
    points = chart.find_elements(By.CSS_SELECTOR, "circle.point")
    assert len(points) == 13
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.point.current")) == 1
    title = browser.find_element(By.ID, "trend-title").get_attribute("textContent")
    assert title == "mAP@50 over the last 13 gates of acme-vision/rim-detector"
    table = browser.find_element(By.CSS_SELECTOR, "div.markdown table")
    assert "map50" in table.text
    assert browser.find_element(By.CSS_SELECTOR, "div.markdown s").text == "recall"

    browser.find_element(By.ID, "logout").click()
    wait_for(browser, f"{url}/ui/login")
    browser.get(f"{url}/ui/gates/{ids['current']}")
    assert browser.current_url.startswith(f"{url}/ui/login")
    assert console_errors(browser) == []


def test_hostile_names_stay_text_in_the_browser(browser, site):
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    url, ids = site
    browser.delete_all_cookies()
    browser.get(f"{url}/ui/login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(browser, f"{url}/ui/")
    console_errors(browser)
    for path in ("/ui/", f"/ui/gates/{ids['hostile']}"):
        browser.get(url + path)
        assert no_alert(browser), path
        injected = browser.find_elements(By.CSS_SELECTOR, "img, script, iframe, [onerror]")
        assert injected == [], path
        links = [a.get_attribute("href") or "" for a in browser.find_elements(By.TAG_NAME, "a")]
        assert not [link for link in links if link.lower().startswith("javascript")], path
        assert "<script>alert(2)</script>" in browser.find_element(By.TAG_NAME, "main").text
    assert console_errors(browser) == []
