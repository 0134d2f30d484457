"""The seed's governance flow across plugins found by entry-point discovery: virtual keys + spend.

Master key creates a key with a budget (the seed's curl body), the application uses it with the
openai SDK, spend shows up identically in /key/info, /team/info and /global/spend/report, and the
budget stops the key at exactly the request that would overshoot it.  The two plugins only meet
through core's API (principal scopes) and gateway-spend's own hook, ``gateway_get_spend``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway import fake_openai

MASTER = "sk-flow-master"
INPUT, OUTPUT = Decimal("0.0000025"), Decimal("0.00001")
REPLY = "Hello from the mock gpt-4o!"
MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def governed(tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    config = {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {
                    "model": "mock/gpt-4o",
                    "mock_response": REPLY,
                    "input_cost_per_token": float(INPUT),
                    "output_cost_per_token": float(OUTPUT),
                },
            },
            {"model_name": "gpt-4o-mini", "litellm_params": {"model": "mock/gpt-4o-mini"}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": db},
        "plugins": {"spend": {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}},
    }
    return gateway_factory(config)


def call_cost() -> Decimal:
    return fake_openai.prompt_tokens(MESSAGES) * INPUT + fake_openai.count_tokens(REPLY) * OUTPUT


def admin(gw: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10, **kwargs)


def wait_for_spend(gw: Any, key: str, expected: Decimal) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        info = admin(gw, "GET", "/key/info", params={"key": key}).json()["info"]
        if Decimal(str(info["spend"])) == expected or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def test_key_budget_spend_and_reports_agree(governed: Any) -> None:
    cost = call_cost()
    # room for exactly three calls: the fourth's reservation (>= its cost) no longer fits
    budget = cost * Decimal("3.5")
    # the seed's body, sent as a hand-typed curl would: no Content-Type header
    created = admin(
        governed,
        "POST",
        "/key/generate",
        content=f'{{"user_id":"alice@","team_id":"engineering","models":["gpt-4o"],"max_budget":{budget}}}',
    )
    assert created.status_code == 200, created.text
    key = created.json()["key"]

    client = openai.OpenAI(base_url=governed.base_url, api_key=key, max_retries=0)
    # max_tokens bounds the reservation (without it the gateway reserves its default output cap)
    limit = fake_openai.count_tokens(REPLY)
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit)
        assert Decimal(raw.headers["x-litellm-response-cost"]) == cost
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit)
    assert "budget" in refused.value.body["message"].lower()
    with pytest.raises(openai.AuthenticationError):  # a model outside the key's: 401, as LiteLLM answers it
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    spent = cost * 3
    info = wait_for_spend(governed, key, spent)
    assert Decimal(str(info["spend"])) == spent
    team = admin(governed, "GET", "/team/info", params={"team_id": "engineering"}).json()
    assert Decimal(str(team["team_info"]["spend"])) == spent
    report = admin(governed, "GET", "/global/spend/report", params={"group_by": "team"}).json()
    engineering = [t for day in report for t in day["teams"] if t["team_name"] == "engineering"]
    assert sum(Decimal(t["total_spend_exact"]) for t in engineering) == spent

    # offboarding: blocked now, for the very next request
    assert admin(governed, "POST", "/key/block", json={"key": key}).status_code == 200
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


@pytest.mark.parametrize("duration", ["1mo", "1d"])
def test_the_key_shows_the_reset_time_its_budget_is_refused_with(governed: Any, duration: str) -> None:
    """``budget_reset_at`` of /key/info (virtual keys) and the refusal's reset time (spend) are one instant."""
    created = admin(
        governed, "POST", "/key/generate", json={"max_budget": float(call_cost()), "budget_duration": duration}
    ).json()
    client = openai.OpenAI(base_url=governed.base_url, api_key=created["key"], max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=fake_openai.count_tokens(REPLY))
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=fake_openai.count_tokens(REPLY))
    shown = admin(governed, "GET", "/key/info", params={"key": created["key"]}).json()["info"]["budget_reset_at"]
    resets = datetime.fromisoformat(shown)
    assert f"The budget resets at {resets:%Y-%m-%d %H:%M:%S} UTC." in refused.value.body["message"]
    today = datetime.now(UTC)
    if duration == "1mo":  # a calendar month, not 30 days
        assert resets == datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=UTC)
    else:
        assert resets == datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
