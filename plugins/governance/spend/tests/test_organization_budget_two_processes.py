"""An organization of gateway-virtual-keys, its budget enforced by this plugin across two real
gateway processes sharing PostgreSQL and Redis (the plugins found by entry point, as ``make run``
finds them; they meet only through the principal's ``org`` scope).

An organization's budget is one counter shared by every team in it.  Two teams, one key each,
200 concurrent requests through two processes: together they are admitted for exactly what the
organization's budget allows, not one request more, though each team's own budget would allow
every request.  The ledger records the organization of each request, which the report by
organization and ``/organization/info`` read.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
from spend_helpers import MASTER, REDIS_URL, model_entry
from test_two_processes import COST, ledger_rows, reservations_left

MESSAGES = [{"role": "user", "content": "hi"}]


def admin(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.request(
        method,
        url + path,
        json=body if method != "GET" else None,
        params=body if method == "GET" else None,
        headers={"Authorization": f"Bearer {MASTER}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def fire(targets: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
    """One chat request per (gateway url, api key), all at once: (key, status, error message)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=400), timeout=60) as client:

        async def one(url: str, api_key: str) -> tuple[str, int, str]:
            response = await client.post(
                url + "/v1/chat/completions",
                # max_tokens = the mock reply's 7 tokens: each reservation equals the real cost
                json={"model": "m", "messages": MESSAGES, "max_tokens": 7},
                headers={"Authorization": f"Bearer {api_key}"},
            )
            message = "" if response.status_code == 200 else response.json()["error"]["message"]
            return api_key, response.status_code, message

        return await asyncio.gather(*(one(url, api_key) for url, api_key in targets))


def test_an_organization_budget_shared_by_two_teams_admits_exactly_its_budget_under_200_concurrent_requests(
    pg_url: str, redis_prefix: str, gateway_processes: Any
) -> None:
    k = 9
    config = {
        "model_list": [model_entry("m")],
        "general_settings": {"master_key": MASTER, "database_url": pg_url},
        "plugins": {"spend": {"redis_url": REDIS_URL, "redis_prefix": redis_prefix, "ship_interval_seconds": 0.2}},
    }
    env = {"GATEWAY_LOAD_PLUGINS": "mock,spend,virtual_keys"}
    first = gateway_processes(config, env=env)
    org, alias = f"org-{redis_prefix}", f"acme-{redis_prefix}"
    admin(
        first.url,
        "POST",
        "/organization/new",
        {"organization_id": org, "organization_alias": alias, "max_budget": str(COST * k)},
    )
    keys = []
    for name in ("red", "blue"):
        team = f"{name}-{redis_prefix}"
        # each team's own budget would admit every request: only the organization's stops them
        admin(first.url, "POST", "/team/new", {"team_id": team, "organization_id": org, "max_budget": str(COST * 200)})
        keys.append(admin(first.url, "POST", "/key/generate", {"team_id": team})["key"])
    second = gateway_processes(config, env=env)
    # the red team spends first: what is left for both teams together is k - 1 requests
    assert asyncio.run(fire([(first.url, keys[0])])) == [(keys[0], 200, "")]

    targets = [((first, second)[i % 2].url, keys[(i // 2) % 2]) for i in range(200)]
    results = asyncio.run(fire(targets))

    admitted = Counter(api_key for api_key, status, _ in results if status == 200)
    assert sum(admitted.values()) == k - 1
    refused = [(status, message) for _, status, message in results if status != 200]
    assert {status for status, _ in refused} == {422}
    assert all(f"organization {alias!r}" in message for _, message in refused), refused[:3]
    # and now neither team gets anything more, whichever process it asks
    after = asyncio.run(fire([(first.url, keys[0]), (second.url, keys[1])]))
    assert [status for _, status, _ in after] == [422, 422]

    rows = ledger_rows(first, 203, organization_id=org)
    assert len(rows) == 203 and {r["organization_id"] for r in rows} == {org}
    assert sum(r["status"] == "success" for r in rows) == k
    spent = sum((Decimal(r["spend_exact"]) for r in rows), Decimal(0))
    assert spent == COST * k
    assert reservations_left(redis_prefix) == (0, 0)

    # what the organization spent, as /organization/info and the report by organization show it
    assert Decimal(str(admin(second.url, "GET", "/organization/info", {"organization_id": org})["spend"])) == COST * k
    report = admin(first.url, "GET", "/global/spend/report", {"group_by": "organization", "organization_id": org})
    entries = [entry for day in report for entry in day["organizations"]]
    assert [e["organization_id"] for e in entries] == [org]
    assert Decimal(entries[0]["total_spend_exact"]) == COST * k
