"""The manager dashboard in a real headless Chromium (issue 13): a manager logs in through
the admin's login form, follows the dashboard link on the admin index, and the figures
the browser shows equal the data this test created.

Debian's `chromium` and `chromium-driver` packages (installed by .ci/run), driven by
Selenium with explicit paths: nothing is downloaded (Selenium Manager never runs).
Skipped when they are missing, except under REQUIRE_SERVICES=1, where that fails.
"""

import os
import shutil
from pathlib import Path

import pytest

from agents import roles
from agents.tests.factories import AgentFactory
from analytics.tests.test_dashboard import (
    EXPECTED_AGENTS,
    EXPECTED_LOAD,
    EXPECTED_QUEUE,
    EXPECTED_TEAMS,
    make_dashboard_data,
)

CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
PASSWORD = "pw-for-tests-123"  # AgentFactory's


def _need_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    what = f"Debian's chromium and chromium-driver ({', '.join(missing)} missing)"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {what}")
    pytest.skip(f"needs {what}")


@pytest.fixture
def chromium(tmp_path):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    service = Service(executable_path=str(CHROMEDRIVER))  # a path: no Selenium Manager
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


# Every table row carrying a data- key, read in one round trip: {"<key>=<value>": [cell
# texts]}. textContent, so rows of the collapsed daily table are read too.
ROWS_JS = """
const rows = {};
const keyed = "tr[data-priority], tr[data-team], tr[data-agent], tr[data-day]";
for (const tr of document.querySelectorAll(keyed)) {
  const key = Object.entries(tr.dataset)[0].join("=");
  rows[key] = Array.from(tr.querySelectorAll("th, td"), (c) => c.textContent.trim());
}
return rows;
"""


def test_a_manager_sees_the_dashboard_figures_in_chromium(live_server, organization, chromium):
    from selenium.webdriver.common.by import By

    make_dashboard_data(organization)
    AgentFactory(organization=organization, role=roles.MANAGER, name="Mia", email="mia@acme.test")
    driver = chromium

    driver.get(f"{live_server.url}/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys("mia@acme.test")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    driver.find_element(By.ID, "manager-dashboard-link").click()  # on the admin index
    assert driver.find_element(By.ID, "queue")
    assert driver.current_url == f"{live_server.url}/admin/dashboard/"
    assert "Manager dashboard" in driver.title

    figures = {
        name: driver.find_element(By.ID, f"figure-{name}").text
        for name in ("open", "unassigned", "breached", "at-risk", "created", "resolved")
    }
    assert figures == {
        "open": "6",
        "unassigned": "2",
        "breached": "2",
        "at-risk": "1",
        "created": "8",
        "resolved": "2",
    }
    rows = driver.execute_script(ROWS_JS)
    for priority, expected in EXPECTED_QUEUE.items():
        assert rows[f"priority={priority}"][1:] == expected
    for team, expected in EXPECTED_TEAMS.items():
        assert rows[f"team={team}"][1:] == expected
    assert len([key for key in rows if key.startswith("team=")]) == len(EXPECTED_TEAMS)
    for email, load in EXPECTED_LOAD.items():
        assert rows[f"agent={email}"][1] == load
        assert rows[f"agent={email}"][2:] == EXPECTED_AGENTS[email]
    # Ann, Bob, Cy and Mia; the inactive agent is left out.
    assert sorted(key for key in rows if key.startswith("agent=")) == [
        "agent=ann@acme.test",
        "agent=bob@acme.test",
        "agent=cy@acme.test",
        "agent=mia@acme.test",
    ]
    assert rows["day=total"][1:] == ["8", "2", "2"]

    # The three charts are drawn (inline SVG) and visible.
    charts = driver.find_elements(By.CSS_SELECTOR, ".chart svg")
    assert len(charts) == 3
    assert all(chart.size["width"] > 100 and chart.size["height"] > 50 for chart in charts)
