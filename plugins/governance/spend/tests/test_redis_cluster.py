"""Budgets and rate limits stay exact on a three-master Redis Cluster shared by two gateway processes.

The cluster is started by the test (``redis-server --cluster-enabled yes`` on three ports,
``redis-cli --cluster create``); the ledger is in PostgreSQL.  Each gateway is given the URL of a
*different* node, and neither of them is the node serving the spend plugin's hash slot: both must
follow ``MOVED`` to reach the counters, and every admission is then checked and reserved by one
script on one node, as on a single Redis.  The same runs against Valkey when it is installed.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_spend.resp import RespClient
from spend_helpers import key, model_entry
from test_two_processes import COST, MASTER, fire, ledger_rows

from gateway.testing import local_redis_cluster

ENGINES = {"redis": ("redis-server", "redis-cli"), "valkey": ("valkey-server", "valkey-cli")}


@pytest.fixture(params=sorted(ENGINES))
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    server, cli = ENGINES[request.param]
    missing = [name for name in (server, cli) if shutil.which(name) is None]
    if missing:
        hint = " (Debian 12 does not ship Valkey)" if request.param == "valkey" else " (apt-get install redis-server)"
        pytest.skip(f"{' and '.join(missing)} not installed: no {request.param} cluster to test{hint}")
    with local_redis_cluster(tmp_path / "cluster", server, cli) as ports:
        yield ports


def run(port: int, *args: object) -> Any:
    async def once() -> Any:
        client = RespClient(f"redis://127.0.0.1:{port}", timeout=10)
        try:
            return await client.execute(*args)
        finally:
            await client.close()

    return asyncio.run(once())


def slot_owner(ports: list[int], prefix: str) -> int:
    """The node serving the hash slot of ``{prefix}`` (CLUSTER SLOTS: [start, end, [host, port, id]])."""
    slot = int(run(ports[0], "CLUSTER", "KEYSLOT", f"{{{prefix}}}"))
    for start, end, (_, port, *_rest), *_replicas in run(ports[0], "CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(port)
    raise AssertionError(f"no node serves slot {slot}")


def two_gateways(ports: list[int], pg_url: str, keys: dict[str, Any], gateway_processes: Any) -> tuple[Any, str, int]:
    prefix = f"cluster-{uuid.uuid4().hex[:8]}"
    owner = slot_owner(ports, prefix)
    others = [p for p in ports if p != owner]
    assert len(others) == 2

    def config(port: int) -> dict[str, Any]:
        return {
            "model_list": [model_entry("m")],
            "general_settings": {"master_key": MASTER, "database_url": pg_url},
            "plugins": {
                "spend": {
                    "redis_url": f"redis://127.0.0.1:{port}",
                    "redis_prefix": prefix,
                    "ship_interval_seconds": 0.2,
                },
                "spend_testauth": {"keys": keys},
            },
        }

    gateways = [gateway_processes(config(port)) for port in others]
    return gateways, prefix, owner


def test_budget_is_exact_across_two_gateways_on_a_three_node_cluster(
    cluster: list[int], pg_url: str, gateway_processes: Any
) -> None:
    k = 7
    budget = str(COST * k)
    keys = {"sk-one": key("hash-cl", {"scope": "key", "id": "hash-cl", "max_budget": budget, "alias": "one"})}
    (first, second), prefix, owner = two_gateways(cluster, pg_url, keys, gateway_processes)

    results = asyncio.run(fire([((first, second)[i % 2].url, "sk-one") for i in range(120)], max_tokens=7))

    ok = [r for r in results if r[0] == 200]
    assert len(ok) == k, sorted({(r[0], r[1][:120]) for r in results})
    assert {r[0] for r in results if r[0] != 200} == {422}
    rows = ledger_rows(first, 120, api_key="hash-cl")
    assert len(rows) == 120 and len({r["request_id"] for r in rows}) == 120
    assert sum(Decimal(r["spend_exact"]) for r in rows) == COST * k
    # every counter is on the node serving the prefix's slot, and no reservation is left behind
    assert run(owner, "ZCARD", f"{{{prefix}}}:resx") == 0
    budget_keys = run(owner, "KEYS", f"{{{prefix}}}:b:*")
    assert budget_keys and all(int(run(owner, "HGET", k_, "r") or 0) == 0 for k_ in budget_keys)
    assert all(run(p, "DBSIZE") == 0 for p in cluster if p != owner)
    print(f"\ncluster nodes {cluster}, counters on {owner}: {len(ok)} of 120 admitted for a budget of {k} requests")


def test_rpm_limit_is_exact_across_two_gateways_on_a_three_node_cluster(
    cluster: list[int], pg_url: str, gateway_processes: Any
) -> None:
    limit = 30
    keys = {"sk-rl": key("hash-cl-rl", {"scope": "key", "id": "hash-cl-rl", "rpm_limit": limit, "alias": "rl"})}
    (first, second), _prefix, _owner = two_gateways(cluster, pg_url, keys, gateway_processes)

    results = asyncio.run(fire([((first, second)[i % 2].url, "sk-rl") for i in range(90)]))

    ok = [r for r in results if r[0] == 200]
    limited = [r for r in results if r[0] == 429]
    assert len(ok) == limit and len(limited) == 90 - limit, sorted({(r[0], r[1][:120]) for r in results})
    assert all("Rate limit exceeded for key 'rl'" in r[1] for r in limited)
    assert sorted(int(r[2]["x-ratelimit-remaining-requests"]) for r in ok) == list(range(limit))
