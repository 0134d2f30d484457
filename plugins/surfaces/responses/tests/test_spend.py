"""Cost, budgets and the ledger come from the one lifecycle: a Responses call is priced, counted
against the key's budget and recorded as a chat call is (gateway-spend, gateway-virtual-keys)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from responses_helpers import MASTER, MOCK_REPLY

from gateway import fake_openai

INPUT, OUTPUT = Decimal("0.0000025"), Decimal("0.00001")


@pytest.fixture
def governed(start: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "responses,mock,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    params = {"model": "mock/gpt-4o", "mock_response": MOCK_REPLY,
              "input_cost_per_token": float(INPUT), "output_cost_per_token": float(OUTPUT)}  # fmt: skip
    return start(
        {
            "model_list": [{"model_name": "mock", "litellm_params": params}],
            "general_settings": {"master_key": MASTER, "database_url": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"},
            "plugins": {"spend": {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}},
        }
    )


def admin(gw: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10, **kwargs)


def cost_of(usage: Any) -> Decimal:
    return usage.input_tokens * INPUT + usage.output_tokens * OUTPUT


def test_responses_are_priced_budgeted_and_in_the_ledger(governed: Any) -> None:
    limit = fake_openai.count_tokens(MOCK_REPLY)
    sdk = openai.OpenAI(base_url=governed.base_url, api_key=MASTER, max_retries=0)
    probe = sdk.responses.create(model="mock", input="Hi", max_output_tokens=limit, store=False)
    assert probe.usage is not None
    cost = cost_of(probe.usage)
    # room for exactly two calls (one plain, one streamed); the third's reservation no longer fits
    created = admin(governed, "POST", "/key/generate", json={"max_budget": float(cost * Decimal("2.5"))}).json()
    key = created["key"]
    user = openai.OpenAI(base_url=governed.base_url, api_key=key, max_retries=0)
    raw = user.responses.with_raw_response.create(model="mock", input="Hi", max_output_tokens=limit)
    assert Decimal(raw.headers["x-litellm-response-cost"]) == cost
    with user.responses.stream(model="mock", input="Hi", max_output_tokens=limit) as stream:
        streamed = stream.get_final_response()
    assert streamed.usage is not None and cost_of(streamed.usage) == cost
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        user.responses.create(model="mock", input="Hi", max_output_tokens=limit)
    body = refused.value.body
    assert isinstance(body, dict) and "budget" in str(body["message"]).lower()

    deadline = time.monotonic() + 10
    while True:  # the ledger ships in the background
        info = admin(governed, "GET", "/key/info", params={"key": key}).json()["info"]
        if Decimal(str(info["spend"])) == 2 * cost or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert Decimal(str(info["spend"])) == 2 * cost
    rows = admin(governed, "GET", "/spend/logs", params={"api_key": created["token_id"]}).json()
    # the two answers at their cost, and the refused call, recorded as a failure that cost nothing
    assert sorted((r["status"], Decimal(str(r["spend"]))) for r in rows) == [
        ("failure", 0), ("success", cost), ("success", cost)]  # fmt: skip
