"""Tag budgets (gateway-virtual-keys' ``/tag/*``, LiteLLM's docs/proxy/tag_budgets), enforced by this
plugin across two real gateway processes sharing PostgreSQL and Redis (the plugins found by entry
point, as ``make run`` finds them; they meet only through ``gateway_tag_scopes``).

A tag's budget is one counter shared by every request that carries the tag, whichever key sends
it: one key carries the tag in its own ``metadata.tags``, the other sends it per request (in the
body's ``metadata.tags`` or the ``x-litellm-tags`` header).  200 concurrent requests through two
processes: the tag admits exactly what its budget allows, not one request more, and the ledger
(``/tag/info``'s spend) holds exactly that.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from spend_helpers import MASTER, REDIS_URL, model_entry
from test_budget_tiers_two_processes import admin_post
from test_two_processes import COST, ledger_rows, reservations_left

MESSAGES = [{"role": "user", "content": "hi"}]


async def fire(targets: list[tuple[str, str, str]]) -> list[tuple[int, str]]:
    """One chat request per (gateway url, api key, how it is tagged), all at once: (status, error message)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=400), timeout=60) as client:

        async def one(url: str, api_key: str, how: str) -> tuple[int, str]:
            # max_tokens = the mock reply's 7 tokens: each reservation equals the real cost
            body: dict[str, Any] = {"model": "m", "messages": MESSAGES, "max_tokens": 7}
            headers = {"Authorization": f"Bearer {api_key}"}
            tag = how.partition(":")[2]
            if how.startswith("body:"):
                body["metadata"] = {"tags": [tag, "other-label"]}
            elif how.startswith("header:"):
                headers["x-litellm-tags"] = f"{tag},other-label"
            response = await client.post(url + "/v1/chat/completions", json=body, headers=headers)
            message = "" if response.status_code == 200 else response.json()["error"]["message"]
            return response.status_code, message

        return await asyncio.gather(*(one(*target) for target in targets))


def test_a_tag_budget_shared_by_two_keys_admits_exactly_its_budget_under_200_concurrent_requests(
    fresh_pg: str, redis_prefix: str, gateway_processes: Any
) -> None:
    k = 9
    config = {
        "model_list": [model_entry("m")],
        "general_settings": {"master_key": MASTER, "database_url": fresh_pg},
        "plugins": {"spend": {"redis_url": REDIS_URL, "redis_prefix": redis_prefix, "ship_interval_seconds": 0.2}},
    }
    env = {"GATEWAY_LOAD_PLUGINS": "mock,spend,virtual_keys"}
    first = gateway_processes(config, env=env)
    tag = f"engineering-{redis_prefix}"
    made = admin_post(first.url, "/tag/new", {"name": tag, "max_budget": str(COST * k), "budget_duration": "30d"})
    assert made["max_budget"] == float(COST * k)
    # one key carries the tag itself (every request of it is tagged), the other tags each request
    tagged_key = admin_post(first.url, "/key/generate", {"metadata": {"tags": [tag]}})["key"]
    plain_key = admin_post(first.url, "/key/generate", {})["key"]
    second = gateway_processes(config, env=env)  # loads the tag at start-up

    ways = [(tagged_key, "key"), (plain_key, f"body:{tag}"), (plain_key, f"header:{tag}")]
    targets = [((first, second)[i % 2].url, *ways[i % 3]) for i in range(200)]
    results = asyncio.run(fire(targets))

    assert sum(status == 200 for status, _ in results) == k
    refused = [(status, message) for status, message in results if status != 200]
    assert {status for status, _ in refused} == {422}
    assert all(f"tag {tag!r}" in message for _, message in refused)
    rows = [r for r in ledger_rows(first, 200) if r["status"] == "success"]
    assert len(rows) == k
    assert sum((Decimal(r["spend_exact"]) for r in rows), Decimal(0)) == COST * k
    assert reservations_left(redis_prefix) == (0, 0)
    # the tag's spend, from the ledger, on either process
    for gateway in (first, second):
        info = admin_post(gateway.url, "/tag/info", {"names": [tag]})[tag]
        assert Decimal(str(info["spend"])) == COST * k
    # the spend report by tag (request rows joined to their tag rows, on PostgreSQL)
    (day,) = first.admin("/global/spend/report", group_by="tag")
    by_tag = {entry["tag"]: entry for entry in day["tags"]}
    assert Decimal(by_tag[tag]["total_spend_exact"]) == COST * k
    # "other-label" rode along on the requests tagged in the body or header: its spend is theirs
    along = sum(1 for r in rows if "other-label" in r["request_tags"])
    assert Decimal(by_tag["other-label"]["total_spend_exact"]) == COST * along
    assert all(tag in r["request_tags"] for r in rows)
    # a request without the tag is not charged to it
    ((status, message),) = asyncio.run(fire([(second.url, plain_key, "none")]))
    assert status == 200, message
