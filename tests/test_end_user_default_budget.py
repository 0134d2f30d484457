"""End users LiteLLM knows without ``/customer/new`` (SQLite and PostgreSQL; gateway-virtual-keys
gives the scope, gateway-spend enforces it and keeps the ledger):

* ``litellm_settings.max_end_user_budget_id`` (LiteLLM's default budget tier for end users): an end
  user with no budget of its own, whether never created or a customer that sets no limit, gets the
  tier's budget on its own counter; a customer's own budget wins; the tier cannot be deleted while
  the setting names it;
* an end user seen only in requests answers ``/customer/info`` with its spend (LiteLLM's spend
  writer creates its row), ``/customer/update`` creates its row, ``/customer/block`` blocks an end
  user before its first request (LiteLLM's upsert)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway import fake_openai
from gateway.testing import postgres_database

sys.path.insert(0, str(Path(__file__).parent))
from test_governance_flow import INPUT, MASTER, MESSAGES, OUTPUT, REPLY, admin, call_cost


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        return
    with postgres_database("end_user_tier") as url:
        yield url


@pytest.fixture
def tiered(tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
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
            }
        ],
        "general_settings": {"master_key": MASTER, "database_url": database_url},
        "litellm_settings": {"max_end_user_budget_id": "end-user-tier", "max_end_user_budget": 1000},
        "plugins": {"spend": {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}},
    }
    return gateway_factory(config)


def test_end_users_without_a_budget_get_the_default_tier_each_on_its_own_counter(tiered: Any) -> None:
    cost = call_cost()
    tier = admin(tiered, "POST", "/budget/new", json={"budget_id": "end-user-tier", "max_budget": str(cost * 2)})
    assert tier.status_code == 200, tier.text
    # a customer that sets no limit of its own, and one with its own (larger) budget
    assert admin(tiered, "POST", "/customer/new", json={"user_id": "plain"}).status_code == 200
    own = {"user_id": "rich", "max_budget": str(cost * 5)}
    assert admin(tiered, "POST", "/customer/new", json=own).status_code == 200
    key = admin(tiered, "POST", "/key/generate", json={}).json()["key"]
    client = openai.OpenAI(base_url=tiered.base_url, api_key=key, max_retries=0)
    limit = fake_openai.count_tokens(REPLY)

    def chat(user: str) -> None:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user=user)

    for user in ("never-created", "plain"):
        chat(user)
        chat(user)
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            chat(user)  # the tier's budget (2 calls), not max_end_user_budget (1000)
        assert user in refused.value.body["message"]
    for _ in range(4):
        chat("rich")  # its own budget wins over the tier
    chat("someone-else")  # each end user has its own counter

    # the tier is in use by every end user without a budget: not deleted
    refused_delete = admin(tiered, "POST", "/budget/delete", json={"id": "end-user-tier"})
    assert refused_delete.status_code == 400, refused_delete.text
    assert "max_end_user_budget_id" in refused_delete.json()["error"]["message"]


def test_an_end_user_seen_only_in_requests_is_a_customer_with_its_spend(tiered: Any) -> None:
    cost = call_cost()
    assert admin(tiered, "POST", "/budget/new", json={"budget_id": "end-user-tier", "max_budget": 5}).status_code == 200
    key = admin(tiered, "POST", "/key/generate", json={}).json()["key"]
    client = openai.OpenAI(base_url=tiered.base_url, api_key=key, max_retries=0)
    limit = fake_openai.count_tokens(REPLY)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user="walk-in")
    assert admin(tiered, "GET", "/customer/info", params={"end_user_id": "nobody"}).status_code == 404
    deadline = time.monotonic() + 10  # the ledger ships every 0.1 s
    while True:
        answer = admin(tiered, "GET", "/customer/info", params={"end_user_id": "walk-in"})
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert answer.status_code == 200, answer.text
    walk_in = answer.json()
    assert Decimal(str(walk_in["spend"])) == cost * 2 and walk_in["blocked"] is False
    assert walk_in["litellm_budget_table"]["budget_id"] == "end-user-tier"  # the tier that applies to it
    assert admin(tiered, "GET", "/customer/list").json() == []  # no row was written on the request path

    # an update creates its row (LiteLLM's row existed since its first request)
    updated = admin(tiered, "POST", "/customer/update", json={"user_id": "walk-in", "alias": "Walk-in"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["alias"] == "Walk-in" and Decimal(str(updated.json()["spend"])) == cost * 2
    assert [c["user_id"] for c in admin(tiered, "GET", "/customer/list").json()] == ["walk-in"]
    ghost = admin(tiered, "POST", "/customer/update", json={"user_id": "never-seen", "alias": "x"})
    assert ghost.status_code == 404 and "no recorded spend" in ghost.json()["error"]["message"]

    # block before the first request: LiteLLM's upsert
    assert admin(tiered, "POST", "/customer/block", json={"user_ids": ["troll"]}).status_code == 200
    deadline = time.monotonic() + 10  # the change reaches the request-time index within a poll
    while True:
        try:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=limit, user="troll")
        except openai.PermissionDeniedError as refused:
            assert "troll" in refused.body["message"]
            break
        assert time.monotonic() < deadline, "the end user blocked before its first request was served"
        time.sleep(0.05)
    unknown = admin(tiered, "POST", "/customer/unblock", json={"user_ids": ["never-seen"]})
    assert unknown.status_code == 404
