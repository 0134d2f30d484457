"""Budgets, rate limits and the ledger across two real gateway processes sharing Redis and PostgreSQL.

Each gateway is the ``gateway`` CLI in its own process; the clients are the official ``openai``
SDK.  Prices are exact per-token overrides on the mock model, so the cost of every call is known:
prompt "hi" = 4 tokens, the mock's reply = 7 tokens -> 4 x $0.000001 + 7 x $0.000002 = $0.000018.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from spend_helpers import MASTER, REDIS_URL, key, model_entry, redis_command, redis_keys

COST = Decimal("0.000018")
MESSAGES = [{"role": "user", "content": "hi"}]


def config(pg_url: str, prefix: str, keys: dict[str, Any], **spend: Any) -> dict[str, Any]:
    return {
        "model_list": [model_entry("m")],
        "general_settings": {"master_key": MASTER, "database_url": pg_url},
        "plugins": {
            "spend": {"redis_url": REDIS_URL, "redis_prefix": prefix, "ship_interval_seconds": 0.2, **spend},
            "spend_testauth": {"keys": keys},
        },
    }


async def fire(targets: list[tuple[str, str]], **body: Any) -> list[tuple[int, str, dict[str, str]]]:
    """One chat request per (gateway url, api key), all at once; (status, error message, headers) each.

    Bursts use httpx directly: the OpenAI SDK's per-request work makes 200 concurrent calls take
    several seconds of client CPU on these 2-core machines.  The SDK is the client in
    ``test_in_process.py``; the wire format is the same.
    """
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=400), timeout=60) as client:

        async def one(url: str, api_key: str) -> tuple[int, str, dict[str, str]]:
            response = await client.post(
                url + "/v1/chat/completions",
                json={"model": "m", "messages": MESSAGES, **body},
                headers={"Authorization": f"Bearer {api_key}"},
            )
            message = "" if response.status_code == 200 else response.json()["error"]["message"]
            return response.status_code, message, dict(response.headers)

        return await asyncio.gather(*(one(url, api_key) for url, api_key in targets))


def ledger_rows(gateway: Any, expected: int, timeout: float = 30, **filters: str) -> list[dict[str, Any]]:
    """Ledger rows matching ``filters`` once ``expected`` of them arrived (shipping is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = gateway.admin("/spend/logs/v2", page_size=1000, **filters)["data"]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def reservations_left(prefix: str) -> tuple[int, int]:
    """(reservations in the expiry index, reserved nano-dollars summed over budget counters)."""
    held = int(redis_command("ZCARD", f"{{{prefix}}}:resx"))  # type: ignore[arg-type]
    reserved = sum(int(redis_command("HGET", k, "r") or 0) for k in redis_keys(f"{{{prefix}}}:b:*"))  # type: ignore[arg-type]
    return held, reserved


@pytest.mark.parametrize("shared", ["key", "team"])
def test_budget_for_exactly_k_requests_holds_under_200_concurrent_requests(
    shared: str, pg_url: str, redis_prefix: str, gateway_processes: Any
) -> None:
    k = 7
    budget = str(COST * k)
    if shared == "key":
        keys = {
            "sk-one": key(
                "hash-one", {"scope": "key", "id": "hash-one", "max_budget": budget, "alias": "one"}, alias="one"
            )
        }
    else:  # several keys of one team share the team's budget
        keys = {
            f"sk-{i}": key(
                f"hash-{i}-{redis_prefix}",
                {"scope": "key", "id": f"hash-{i}-{redis_prefix}"},
                {"scope": "team", "id": f"team-{redis_prefix}", "max_budget": budget, "alias": "platform"},
                team_id=f"team-{redis_prefix}",
            )
            for i in range(4)
        }
    cfg = config(pg_url, redis_prefix, keys)
    first, second = gateway_processes(cfg, count=2)
    names = sorted(keys)
    targets = [((first, second)[i % 2].url, names[i % len(names)]) for i in range(200)]

    # max_tokens = the reply's 7 tokens: each reservation equals the real cost
    results = asyncio.run(fire(targets, max_tokens=7))

    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] != 200]
    assert len(ok) == k
    assert {r[0] for r in refused} == {422}
    label = "key 'one'" if shared == "key" else "team 'platform'"
    assert all(f"Budget has been exceeded for {label}" in r[1] and f"max budget ${budget}" in r[1] for r in refused)
    assert all(r[2]["x-litellm-response-cost"] == str(COST) for r in ok)

    filters = {"api_key": "hash-one"} if shared == "key" else {"team_id": f"team-{redis_prefix}"}
    rows = ledger_rows(first, 200, **filters)
    assert len(rows) == 200 and len({r["request_id"] for r in rows}) == 200
    spent = sum(Decimal(r["spend_exact"]) for r in rows)
    assert spent == COST * k <= Decimal(budget)
    assert sum(r["status"] == "success" for r in rows) == k
    assert reservations_left(redis_prefix) == (0, 0)


def test_oversized_reservations_admit_at_most_k(pg_url: str, redis_prefix: str, gateway_processes: Any) -> None:
    k = 10
    keys = {"sk-one": key("hash-big", {"scope": "key", "id": "hash-big", "max_budget": str(COST * k)})}
    cfg = config(pg_url, redis_prefix, keys)
    first, second = gateway_processes(cfg, count=2)
    # max_tokens 50 reserves 104 micro-dollars per request though each costs 18: fewer fit at once
    results = asyncio.run(fire([((first, second)[i % 2].url, "sk-one") for i in range(60)], max_tokens=50))
    ok = sum(r[0] == 200 for r in results)
    assert 1 <= ok <= k
    rows = ledger_rows(first, 60, api_key="hash-big")
    assert sum(Decimal(r["spend_exact"]) for r in rows) <= COST * k
    assert reservations_left(redis_prefix) == (0, 0)


def test_rpm_limit_is_shared_exactly_by_two_processes(pg_url: str, redis_prefix: str, gateway_processes: Any) -> None:
    limit = 50
    keys = {"sk-rl": key("hash-rl", {"scope": "key", "id": "hash-rl", "rpm_limit": limit, "alias": "rl"})}
    cfg = config(pg_url, redis_prefix, keys)
    first, second = gateway_processes(cfg, count=2)
    results = asyncio.run(fire([((first, second)[i % 2].url, "sk-rl") for i in range(150)]))

    ok = [r for r in results if r[0] == 200]
    limited = [r for r in results if r[0] == 429]
    # all 150 fall into one 60 s window: every slot is usable (>= 99%), none beyond the limit
    assert len(ok) == limit and len(limited) == 100
    assert all(
        int(r[2]["retry-after"]) >= 1
        and r[2]["x-ratelimit-limit-requests"] == str(limit)
        and r[2]["x-ratelimit-remaining-requests"] == "0"
        for r in limited
    )
    assert all("Rate limit exceeded for key 'rl'" in r[1] for r in limited)
    remaining = sorted(int(r[2]["x-ratelimit-remaining-requests"]) for r in ok)
    assert remaining == list(range(limit))


def test_kill_9_after_responses_before_shipping_loses_nothing(
    fresh_pg: str, redis_prefix: str, gateway_processes: Any, tmp_path: Path
) -> None:
    # shipping is held back (hour-long interval, huge batches) so the records are only on disk
    cfg = config(fresh_pg, redis_prefix, {}, ship_interval_seconds=3600, ship_batch_size=10000)
    victim = gateway_processes(cfg, workdir=tmp_path / "shared")
    ids = [r[2]["x-request-id"] for r in asyncio.run(fire([(victim.url, MASTER)] * 30))]
    assert len(set(ids)) == 30
    assert victim.admin("/spend/ledger/status")["ledger"]["shipped"] == 0
    victim.kill()

    # the next gateway on the same directory adopts the dead worker's log at start-up
    heir = gateway_processes(config(fresh_pg, redis_prefix, {}), workdir=tmp_path / "shared")
    rows = ledger_rows(heir, 30)
    assert sorted(r["request_id"] for r in rows) == sorted(ids)
    heir.stop()
    again = gateway_processes(config(fresh_pg, redis_prefix, {}), workdir=tmp_path / "shared")
    time.sleep(1)
    assert sorted(r["request_id"] for r in ledger_rows(again, 31, timeout=1)) == sorted(ids)


def test_database_outage_every_completed_request_reaches_the_ledger_once(
    fresh_pg: str, redis_prefix: str, gateway_processes: Any
) -> None:
    from spend_tcp_proxy import TcpProxy

    from gateway.testing import free_port

    port = free_port()
    proxy = TcpProxy(5432, port).start()
    proxied = fresh_pg.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
    cfg = config(proxied, redis_prefix, {}, ship_max_backoff_seconds=0.5)
    first, second = gateway_processes(cfg, count=2)
    try:
        before = asyncio.run(fire([(g.url, MASTER) for g in (first, second) for _ in range(10)]))
        assert len(ledger_rows(first, 20)) == 20
        proxy.stop()  # the database is gone: requests keep completing
        during = asyncio.run(fire([(g.url, MASTER) for g in (first, second) for _ in range(40)]))
        assert {r[0] for r in during} == {200}
        time.sleep(1.5)  # the shippers fail and back off meanwhile
        proxy = TcpProxy(5432, port).start()
        ids = [r[2]["x-request-id"] for r in before + during]
        rows = ledger_rows(first, 100, timeout=60)
        assert sorted(r["request_id"] for r in rows) == sorted(ids)
        assert first.admin("/spend/ledger/status")["ledger"]["database_failures"] >= 1
    finally:
        proxy.stop()
