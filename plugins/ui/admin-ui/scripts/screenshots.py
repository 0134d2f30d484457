"""Screenshots of the admin UI's main pages into docs/ui/ (laptop size, and the keys page on a phone).

    .venv/bin/python plugins/ui/admin-ui/scripts/screenshots.py

Serves a gateway with the mock model, virtual keys, spend and the UI on a temporary SQLite file,
makes a few teams, keys and requests, and photographs each page in Debian's headless Chromium.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from ui_testkit import MASTER, MODEL, ui_config  # noqa: E402

from gateway.testing import start_gateway  # noqa: E402

OUT = HERE.parents[2].parent / "docs" / "ui"


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    os.environ["GATEWAY_LOAD_PLUGINS"] = "mock,virtual_keys,spend,admin_ui"
    workdir = Path(tempfile.mkdtemp())
    gw = start_gateway(ui_config(f"sqlite+aiosqlite:///{workdir / 'gateway.db'}", workdir))
    try:
        api = httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)
        for team, budget in (("research", 200), ("support", 50), ("platform", 500)):
            api.post("/team/new", json={"team_id": team, "team_alias": team, "max_budget": budget})
            for n in range(2):
                key = api.post(
                    "/key/generate", json={"team_id": team, "key_alias": f"{team}-app-{n}", "max_budget": 20}
                )
                client = openai.OpenAI(base_url=gw.base_url, api_key=key.json()["key"], max_retries=0)
                for i in range(3 + 2 * n):
                    model = MODEL if i % 2 == 0 else "gpt-4o-mini"
                    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi " * (i + 1)}])
        time.sleep(1)  # the ledger ships its rows
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
        wait = WebDriverWait(driver, 20)
        try:
            driver.get(gw.url + "/ui/")
            OUT.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(OUT / "login.png"))
            wait.until(ec.visibility_of_element_located((By.ID, "login-key"))).send_keys(MASTER)
            driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
            for page in ("overview", "keys", "teams", "spend", "logs", "models"):
                driver.get(f"{gw.url}/ui/#/{page}")
                driver.refresh()
                wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, f"#page-{page} .card")))
                time.sleep(0.5)
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(1280, min(max(height, 900), 2400))
                driver.save_screenshot(str(OUT / f"{page}.png"))
                driver.set_window_size(1280, 900)
            driver.set_window_size(390, 844)
            driver.get(f"{gw.url}/ui/#/keys")
            driver.refresh()
            wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#page-keys table")))
            driver.save_screenshot(str(OUT / "keys-phone.png"))
        finally:
            driver.quit()
    finally:
        gw.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
