"""Customers (gateway-virtual-keys' ``/customer/*``) get their budget enforced by gateway-spend:
the two plugins meet through gateway-spend's ``gateway_end_user_scope`` hook.  A customer's
budget is exact (reservations, as for keys), holds across the keys the customer's requests come
with, and its spend shows in ``/customer/info``."""

# ruff: noqa: F811 - the fixture imported from the governance flow test is a parameter of the same name

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from gateway import fake_openai

# sibling test modules by their plain name: core/tests is a package named "tests", so
# "tests.<module>" does not name them reliably (it depends on the order pytest collects in)
sys.path.insert(0, str(Path(__file__).parent))
from test_governance_flow import MASTER, MESSAGES, REPLY, admin, call_cost, governed  # noqa: F401 - fixture


def test_a_customer_budget_stops_its_requests_across_keys_and_shows_its_spend(governed: Any) -> None:
    cost = call_cost()
    made = admin(governed, "POST", "/customer/new", json={"user_id": "acme", "max_budget": str(cost * Decimal("3.5"))})
    assert made.status_code == 200, made.text
    keys = [admin(governed, "POST", "/key/generate", json={}).json()["key"] for _ in range(2)]
    clients = [openai.OpenAI(base_url=governed.base_url, api_key=key, max_retries=0) for key in keys]
    limit = fake_openai.count_tokens(REPLY)
    for index in range(3):  # two keys, one customer: one budget
        clients[index % 2].chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user="acme")
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        clients[1].chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user="acme")
    assert "acme" in refused.value.body["message"]
    # another end user of the same key is not affected
    clients[1].chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user="other")
    deadline = time.monotonic() + 10
    while True:
        info = admin(governed, "GET", "/customer/info", params={"end_user_id": "acme"}).json()
        if Decimal(str(info["spend"])) == cost * 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert Decimal(str(info["spend"])) == cost * 3
    # raising the budget lets it in again at once
    assert admin(governed, "POST", "/customer/update", json={"user_id": "acme", "max_budget": 1}).status_code == 200
    clients[0].chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user="acme")


@pytest.fixture
def with_anthropic(tmp_path: Any, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend,anthropic")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = {
        "model_list": [{"model_name": "claude", "litellm_params": {"model": "mock/claude", "mock_response": REPLY}}],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"},
        "plugins": {"spend": {"wal_dir": str(tmp_path / "wal")}},
    }
    return gateway_factory(config)


def test_an_anthropic_client_names_its_customer_with_metadata_user_id(with_anthropic: Any) -> None:
    gw = with_anthropic
    key = admin(gw, "POST", "/key/generate", json={}).json()["key"]
    assert admin(gw, "POST", "/customer/new", json={"user_id": "acme", "blocked": True}).status_code == 200
    client = anthropic.Anthropic(base_url=gw.base_url.removesuffix("/v1"), api_key=key, max_retries=0)
    message = {"role": "user", "content": "Hi"}
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        client.messages.create(model="claude", max_tokens=10, messages=[message], metadata={"user_id": "acme"})
    error = refused.value.body["error"]  # Anthropic's error format, naming Anthropic's field
    assert refused.value.body["type"] == "error" and error["type"] == "permission_error"
    assert "customer 'acme' (the request's metadata.user_id) is blocked" in error["message"]
    answer = client.messages.create(model="claude", max_tokens=10, messages=[message], metadata={"user_id": "other"})
    assert answer.content[0].text == REPLY


def test_a_key_in_a_budget_tier_gets_its_limits_and_a_tier_change_applies_at_once(governed: Any) -> None:
    """LiteLLM's tier example: a tier with rpm_limit 0 refuses its keys; raising it lets them in."""
    assert admin(governed, "POST", "/budget/new", json={"budget_id": "closed", "rpm_limit": 0}).status_code == 200
    key = admin(governed, "POST", "/key/generate", json={"budget_id": "closed"}).json()["key"]
    own = admin(governed, "POST", "/key/generate", json={"budget_id": "closed", "rpm_limit": 5}).json()["key"]
    client = openai.OpenAI(base_url=governed.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    # a limit the key sets itself wins over the tier's
    openai.OpenAI(base_url=governed.base_url, api_key=own, max_retries=0).chat.completions.create(
        model="gpt-4o", messages=MESSAGES
    )
    assert admin(governed, "POST", "/budget/update", json={"budget_id": "closed", "rpm_limit": 10}).status_code == 200
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
