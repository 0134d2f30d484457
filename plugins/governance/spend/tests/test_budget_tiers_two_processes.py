"""Budget tiers and customers of gateway-virtual-keys, enforced by this plugin across two real
gateway processes sharing PostgreSQL and Redis (the plugins found by entry point, as ``make run``
finds them; they meet only through ``gateway_end_user_scope``).

A tier is a named set of limits; as LiteLLM documents it, each member of a tier gets those limits
for itself.  Two customers in one tier, 200 concurrent requests through two processes: each
customer is admitted for exactly what the tier's budget allows it, not one request more.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
from spend_helpers import MASTER, REDIS_URL, model_entry
from test_two_processes import COST, ledger_rows, reservations_left

MESSAGES = [{"role": "user", "content": "hi"}]


def admin_post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url + path, json=body, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def fire(targets: list[tuple[str, str]], api_key: str) -> list[tuple[str, int, str]]:
    """One chat request per (gateway url, customer), all at once: (customer, status, error message)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=400), timeout=60) as client:

        async def one(url: str, customer: str) -> tuple[str, int, str]:
            response = await client.post(
                url + "/v1/chat/completions",
                # max_tokens = the mock reply's 7 tokens: each reservation equals the real cost
                json={"model": "m", "messages": MESSAGES, "max_tokens": 7, "user": customer},
                headers={"Authorization": f"Bearer {api_key}"},
            )
            message = "" if response.status_code == 200 else response.json()["error"]["message"]
            return customer, response.status_code, message

        return await asyncio.gather(*(one(url, customer) for url, customer in targets))


def test_a_tier_shared_by_two_customers_admits_exactly_its_budget_for_each_under_200_concurrent_requests(
    pg_url: str, redis_prefix: str, gateway_processes: Any
) -> None:
    k = 6
    config = {
        "model_list": [model_entry("m")],
        "general_settings": {"master_key": MASTER, "database_url": pg_url},
        "plugins": {"spend": {"redis_url": REDIS_URL, "redis_prefix": redis_prefix, "ship_interval_seconds": 0.2}},
    }
    env = {"GATEWAY_LOAD_PLUGINS": "mock,spend,virtual_keys"}
    first = gateway_processes(config, env=env)
    tier = f"tier-{redis_prefix}"
    customers = [f"alpha-{redis_prefix}", f"beta-{redis_prefix}"]
    admin_post(first.url, "/budget/new", {"budget_id": tier, "max_budget": str(COST * k)})
    for customer in customers:
        admin_post(first.url, "/customer/new", {"user_id": customer, "budget_id": tier})
    api_key = admin_post(first.url, "/key/generate", {"key_alias": f"app-{redis_prefix}"})["key"]
    second = gateway_processes(config, env=env)  # loads the customers and the tier at start-up

    targets = [((first, second)[i % 2].url, customers[(i // 2) % 2]) for i in range(200)]
    results = asyncio.run(fire(targets, api_key))

    admitted = Counter(customer for customer, status, _ in results if status == 200)
    assert admitted == {customers[0]: k, customers[1]: k}
    refused = [(customer, status, message) for customer, status, message in results if status != 200]
    assert {status for _, status, _ in refused} == {422}
    assert all(f"end user {customer!r}" in message for customer, _, message in refused)
    for customer in customers:
        rows = ledger_rows(first, 100, end_user=customer)
        assert sum(r["status"] == "success" for r in rows) == k
        spent = sum((Decimal(r["spend_exact"]) for r in rows), Decimal(0))
        assert spent == COST * k
    assert reservations_left(redis_prefix) == (0, 0)

    # raising the tier on one process reaches the other through the change log (polled every second)
    admin_post(first.url, "/budget/update", {"budget_id": tier, "max_budget": str(COST * (k + 1))})
    deadline = time.monotonic() + 15
    while True:
        ((_, status, message),) = asyncio.run(fire([(second.url, customers[0])], api_key))
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200, message
