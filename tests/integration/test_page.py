"""The progress page in headless Chromium, against the running service.

A user with reports and a check-in opens /progress/, types a token with
the keyboard, and the page must show the numbers the API gives, update
by itself when a new report is applied, and fit a phone-width screen.
Screenshots land in tests/artifacts/.
"""

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.stack import local_time

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
WAIT = 30
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root, Chromium has no sandbox to enter
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
)
COUNTERS = (
    "actions_total",
    "actions_completed",
    "actions_snoozed",
    "actions_dismissed",
    "customactions_total",
    "customactions_completed",
    "customactions_snoozed",
    "customactions_dismissed",
    "checkin_streak",
)
PERCENTS = (
    "engagement_15_days",
    "engagement_30_days",
    "engagement_60_days",
    "engagement_rank",
)


def _install_chromium() -> None:
    """Debian's chromium and chromedriver, where this is root on Debian."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
    ):
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=240
        )
        if done.returncode != 0:
            return


@pytest.fixture(scope="module")
def chromium():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        _install_chromium()
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "the progress page test needs Debian's chromium and "
            "chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver), "
            "which are not installed and could not be installed here "
            "(apt-get install -y chromium chromium-driver, as root)"
        )


@pytest.fixture
def browser(chromium, tmp_path):
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--window-size=1200,900")
    options.add_argument("--lang=en-GB")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(
        executable_path=str(CHROMEDRIVER),
        log_output=str(tmp_path / "chromedriver.log"),
    )
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def until(driver, check, what: str):
    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(
            lambda d: check(d)
        )
    except TimeoutException:
        shot = ARTIFACTS / "progress-failure.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        pytest.fail(f"gave up after {WAIT} s waiting for {what}; see {shot}")


def field(driver, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text


def shown(driver) -> dict:
    """Every number of the page, keyed as the API names them."""
    return {
        name: field(driver, name)
        for name in (*COUNTERS, *PERCENTS, "current_streak", "today_count")
    }


def heatmap(driver) -> list[dict]:
    return driver.execute_script(
        """
        const cells = document.querySelectorAll('#heatmap td[data-date]');
        return [...cells]
          .sort((a, b) => a.dataset.index - b.dataset.index)
          .map((c) => ({date: c.dataset.date, count: +c.dataset.count,
                        label: c.getAttribute('aria-label'),
                        title: c.title}));
        """
    )


def assert_page_shows_the_api(driver, user) -> None:
    row = user.latest()
    streaks = user.streaks(84)
    rows = user.rows()[:60]
    numbers = shown(driver)

    for name in COUNTERS:
        assert numbers[name] == str(row[name]), name
    for name in PERCENTS:
        assert float(numbers[name]) == row[name], name
    assert numbers["current_streak"] == str(streaks["current_streak"])
    assert numbers["today_count"] == str(streaks["results"][-1]["count"])

    cells = heatmap(driver)
    assert len(cells) == 84
    assert [(c["date"], c["count"]) for c in cells] == [
        (day["date"], day["count"]) for day in streaks["results"]
    ]
    for cell in cells:
        assert cell["label"] == cell["title"]
        assert cell["label"].endswith(f": {cell['count']} completed")

    trend = driver.execute_script(
        "return Chart.getChart('trend').data.datasets[0].data"
    )
    assert trend == [r["engagement_15_days"] for r in reversed(rows)]


def screenshot(driver, path: Path) -> None:
    """The whole page, not only the window."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    content = size["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": content["width"],
                "height": content["height"],
                "scale": 1,
            },
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def active(driver) -> dict:
    return driver.execute_script(
        """
        const e = document.activeElement;
        return {id: e.id, index: e.dataset.index || null,
                outline: getComputedStyle(e).outlineStyle};
        """
    )


def type_keys(driver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def user_with_history(stack):
    """A user with reports over the last week and a check-in today.

    Returns the user and the id of their snoozed user action.
    """
    (user,) = stack.create_users("Europe/Berlin")
    user.select_goal(stack.goal)
    walk, read = (user.select_action(a) for a in stack.actions)
    stretch = user.custom_action("Stretch")
    checkin = user.post(
        "/api/users/progress/checkin/",
        json={"goal": stack.goal, "daily_checkin": 4},
    )
    assert checkin.status_code == 200, checkin.text

    for days_ago in (1, 2, 3, 5, 6):
        user.report(
            "action", walk, occurred_at=local_time(user.timezone, days_ago)
        )
    user.report(
        "action",
        walk,
        state="dismissed",
        occurred_at=local_time(user.timezone, 4),
    )
    user.report("action", walk)
    user.report("action", read, state="snoozed")
    user.report("customaction", stretch)
    stack.settle()
    user.wait_for_today(
        "today's reports",
        actions_completed=1,
        actions_snoozed=1,
        customactions_completed=1,
    )
    return user, read


def test_the_progress_page_shows_the_apis_numbers_and_updates(stack, browser):
    user, snoozed = user_with_history(stack)
    browser.get(stack.base_url + "/progress/")
    assert browser.title == "Daily progress"

    # Keyboard only: the skip link, then the token field.
    type_keys(browser, Keys.TAB, Keys.TAB)
    assert active(browser)["id"] == "token"
    assert active(browser)["outline"] != "none"

    # A bad token is refused in the alert region, focus stays on the field.
    type_keys(browser, "0" * 40, Keys.ENTER)
    until(
        browser,
        lambda d: "not accepted" in d.find_element(By.ID, "error").text,
        "the bad token to be refused",
    )
    assert active(browser)["id"] == "token"
    assert not browser.find_element(By.ID, "main").is_displayed()

    type_keys(browser, user.token, Keys.ENTER)
    until(
        browser,
        lambda d: len(heatmap(d)) == 84 and field(d, "today_count") != "–",
        "the page to show the user's progress",
    )
    assert browser.find_element(By.ID, "error").text == ""
    assert_page_shows_the_api(browser, user)
    assert field(browser, "actions_completed") == "1"
    assert field(browser, "engagement_15_days") == "77.78"  # 7 of 9
    assert field(browser, "today_count") == "2"

    # The heatmap is one tab stop, walked with the arrow keys.
    today = browser.find_element(By.CSS_SELECTOR, "#heatmap td[tabindex='0']")
    assert today.get_attribute("data-index") == "83"
    today.send_keys(Keys.ARROW_LEFT)
    assert active(browser)["index"] == "76"
    detail = browser.find_element(By.ID, "heatmap-detail").text
    assert detail == heatmap(browser)[76]["label"]

    # A new report reaches the page without a reload.
    user.report("action", snoozed)
    stack.settle()
    user.wait_for_today("the new completion", actions_completed=2)
    until(
        browser,
        lambda d: (
            field(d, "actions_completed") == "2"
            and field(d, "today_count") == "3"
        ),
        "the page to show the new report by itself",
    )
    assert_page_shows_the_api(browser, user)
    screenshot(browser, ARTIFACTS / "progress.png")

    # The same tab on a phone: the token is kept, nothing overflows.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True},
    )
    browser.refresh()
    until(
        browser,
        lambda d: len(heatmap(d)) == 84 and field(d, "today_count") == "3",
        "the page to load again from the kept token",
    )
    assert_page_shows_the_api(browser, user)
    width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert width[1] == 360
    assert width[0] <= width[1], width
    screenshot(browser, ARTIFACTS / "progress-phone.png")

    # Nothing was fetched from elsewhere, and nothing failed but the 401.
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert fetched
    assert all(url.startswith(stack.base_url + "/") for url in fetched)
    errors = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        and "status of 401" not in entry["message"]
    ]
    assert errors == []
