"""The admin UI in a real headless Chromium (Debian's ``chromium``, driven by Selenium through
Debian's ``chromedriver``; ``.ci/run`` installs both).  Skipped, saying so, where they are missing.

One flow as an operator goes through it: log in with the master key, create a team and a key with a
budget, call the model with that key through the OpenAI SDK, find the call in the request log and
its spend on the overview, block the key and see the next SDK call refused; then an internal user's
login sees only their own keys, a forged cookie lands on the login form, and the page runs under its
CSP without a single violation, on a laptop and a phone screen.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from ui_testkit import MASTER, MODEL, REPLY, admin

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium/chromedriver (apt-get install chromium chromium-driver; .ci/run installs them)",
)
WAIT = 20  # seconds a page may take to show what the test waits for (an upper bound, not a measure)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"  # the browser flow once; HTTP tests cover PostgreSQL


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class UI:
    """What a person does on the page, in Selenium's words."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.base = base
        self.wait = WebDriverWait(driver, WAIT)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def text_in(self, css: str, text: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def open(self, page: str = "") -> None:
        self.driver.get(f"{self.base}/ui/#/{page}")

    def go(self, page: str) -> None:
        self.find(f'#nav a[data-page="{page}"]').click()
        self.find(f"#page-{page}")

    def login(self, key: str) -> None:
        self.open()
        field = self.find("#login-key")
        field.clear()
        field.send_keys(key)
        self.find("#login-form button[type=submit]").click()
        self.find("#nav")

    def fill(self, form: str, values: dict[str, str]) -> None:
        for name, value in values.items():
            element = self.find(f"{form} [name={name}]")
            element.clear()
            element.send_keys(value)
        self.find(f"{form} button[type=submit]").click()

    def eventually(self, action: Any, check: Any) -> Any:
        """``action()`` again (reload a page, search again) until ``check()`` answers something: the
        ledger ships a request's row a moment after its answer."""
        import time

        deadline = time.monotonic() + WAIT
        while True:
            action()
            found = check()
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def csp_violations(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if "Content Security Policy" in e["message"]]


def test_an_operator_manages_a_key_and_follows_its_spend_in_the_browser(
    ui_gateway: Any, browser: Any, downloads: Path
) -> None:
    ui = UI(browser, ui_gateway.url)
    ui.login(MASTER)
    ui.text_in("#who", "master key")
    ui.find("#stat-spend-today")

    # a team with a budget
    ui.go("teams")
    ui.fill("#create-team", {"team_alias": "browser-team", "max_budget": "50"})
    ui.text_in("#page-teams table", "browser-team")
    team_id = next(
        t["team_id"] for t in admin(ui_gateway, "GET", "/team/list").json() if t["team_alias"] == "browser-team"
    )

    # a budget the API refuses: its message next to the field
    ui.go("keys")
    ui.fill("#create-key", {"key_alias": "bad-budget", "max_budget": "-5"})
    ui.text_in('#create-key [data-error-for="max_budget"]', "max_budget")
    ui.fill("#create-key", {"max_budget": "5", "duration": "soon"})
    ui.text_in('#create-key [data-error-for="duration"]', "not a duration")
    ui.find("#create-key [name=duration]").clear()

    # a key of that team with a budget, shown once
    ui.fill("#create-key", {"key_alias": "browser-key", "team_id": team_id, "models": MODEL, "max_budget": "10"})
    secret = ui.find("#new-key").text.strip()
    assert secret.startswith("sk-")
    ui.text_in("#page-keys table", "browser-key")
    browser.refresh()
    ui.find("#page-keys table")
    assert secret not in browser.page_source  # shown once: a reload no longer has it

    # the key works through the OpenAI SDK
    client = openai.OpenAI(base_url=ui_gateway.base_url, api_key=secret, max_retries=0)
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert answer.choices[0].message.content == REPLY

    # the call in the request log, with its detail
    ui.go("logs")
    ui.eventually(
        lambda: ui.fill("#log-form", {"model": MODEL}),
        lambda: "success" in ui.find("#log-rows").text,
    )
    ui.text_in("#log-rows", "success")
    ui.find("#log-rows tr.clickable").click()
    ui.text_in("#log-detail", "browser-key")

    # its spend on the overview and its model on the chart
    spend_today = ui.eventually(
        lambda: (ui.go("overview"), browser.refresh()),  # a fresh load reads the reports again
        lambda: (lambda v: v if v not in ("$0.00", "—") else None)(ui.find("#stat-spend-today .value").text),
    )
    assert spend_today not in ("$0.00", "—"), spend_today
    ui.text_in("#chart-models", MODEL)
    assert browser.find_elements("css selector", "#chart-daily svg rect.bar")

    # spend report, grouped by key, has the key's spend; CSV export is offered
    ui.go("spend")
    select = ui.find("#spend-form [name=group_by]")
    from selenium.webdriver.support.ui import Select

    Select(select).select_by_value("model")
    ui.find("#spend-form button[type=submit]").click()
    ui.text_in("#spend-report", MODEL)
    ui.find("#spend-csv").click()
    exported = ui.eventually(lambda: None, lambda: [p for p in downloads.glob("*.csv")])
    assert exported, "the CSV export downloaded nothing"
    lines = exported[0].read_text().splitlines()
    assert lines[0] == "day,name,spend_usd,requests,input_tokens,output_tokens,total_tokens"
    assert any(line.split(",")[1] == MODEL and line.split(",")[3] == "1" for line in lines[1:]), lines

    # block the key: the next SDK call is refused
    ui.go("keys")
    ui.find("#page-keys .actions button")
    rows = browser.find_elements("css selector", "#page-keys tbody tr")
    target = next(r for r in rows if "browser-key" in r.text)
    next(b for b in target.find_elements("css selector", "button") if b.text == "Block").click()
    ui.text_in("#key-notice", "Blocked")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])

    # models page lists the deployments
    ui.go("models")
    ui.text_in("#page-models table", MODEL)
    ui.find("#run-health").click()
    ui.text_in("#health", "healthy")
    ui.text_in("#health", MODEL)
    assert "unhealthy" not in ui.find("#health").text
    browser.refresh()  # the deployments table shows the check just made
    ui.text_in("#page-models table", "healthy")

    assert ui.csp_violations() == []

    # log out: back to the login form, and a reload stays there
    ui.find("#logout").click()
    ui.find("#login-key")
    browser.refresh()
    ui.find("#login-key")


def test_an_internal_users_login_sees_only_their_own_keys(ui_gateway: Any, browser: Any) -> None:
    assert admin(ui_gateway, "POST", "/team/new", json={"team_id": "other-team"}).status_code == 200
    admin(ui_gateway, "POST", "/key/generate", json={"team_id": "other-team", "key_alias": "other-teams-key"})
    for user in ("alice", "bob"):
        admin(ui_gateway, "POST", "/user/new", json={"user_id": user, "user_role": "internal_user"})
    alice = admin(ui_gateway, "POST", "/key/generate", json={"user_id": "alice", "key_alias": "alice-key"}).json()
    admin(ui_gateway, "POST", "/key/generate", json={"user_id": "bob", "key_alias": "bob-key"})

    ui = UI(browser, ui_gateway.url)
    ui.login(alice["key"])
    ui.text_in("#who", "internal_user")
    ui.go("keys")
    ui.text_in("#page-keys table", "alice-key")
    page = ui.find("#page-keys").text
    assert "bob-key" not in page and "other-teams-key" not in page
    assert ui.csp_violations() == []


def test_a_forged_cookie_lands_on_the_login_form(ui_gateway: Any, browser: Any) -> None:
    ui = UI(browser, ui_gateway.url)
    ui.open()
    ui.find("#login-key")
    browser.add_cookie({"name": "gateway_ui_session", "value": "forged" * 8, "path": "/ui"})
    ui.open("keys")
    browser.refresh()  # a new page load with the forged cookie (only the hash changed above)
    ui.find("#login-key")
    assert not browser.find_element("css selector", "#nav").is_displayed()


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_the_pages_fit_a_laptop_and_a_phone_screen(ui_gateway: Any, browser: Any, size: tuple[int, int]) -> None:
    browser.set_window_size(*size)
    ui = UI(browser, ui_gateway.url)
    ui.login(MASTER)
    for page in ("overview", "keys", "teams", "spend", "logs", "models"):
        ui.go(page)
        ui.find(f"#page-{page} h1")
        # wide tables scroll inside their card; the page itself never scrolls sideways
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{page} is {overflow}px wider than a {size[0]}px screen"
    assert ui.csp_violations() == []
