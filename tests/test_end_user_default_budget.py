"""``litellm_settings.max_end_user_budget_id`` (LiteLLM's default budget tier for end users): an end
user with no budget of its own, whether never created or a customer that sets no limit, gets the
tier's budget on its own counter; a customer's own budget wins; the tier cannot be deleted while the
setting names it.  gateway-virtual-keys gives the scope, gateway-spend enforces it (SQLite and
PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
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
