"""Budgets and rate limits stay exact on a three-master Redis Cluster shared by two gateway processes.

The cluster is started by the test (``redis-server --cluster-enabled yes`` on three ports,
``redis-cli --cluster create``); virtual keys and the ledger are in PostgreSQL, the key is created
through one gateway's ``/key/generate`` and used through both.  Each gateway is given the URL of a
*different* node, and neither of them is the node serving the spend plugin's hash slot: both must
follow ``MOVED`` to reach the counters, and every admission is then checked and reserved by one
script on one node, as on a single Redis.  The same runs against Valkey when it is installed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_spend.resp import RespClient
from spend_helpers import model_entry
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


def two_gateways(
    ports: list[int], pg_url: str, gateway_processes: Any, *, litellm_env: bool = False
) -> tuple[Any, str, int]:
    """Two gateway processes with virtual keys (in PostgreSQL) and spend, each on a non-owning node
    (named by ``plugins.spend.redis_url``, or with ``litellm_env`` by LiteLLM's ``REDIS_CLUSTER_NODES``)."""
    prefix = f"cluster-{uuid.uuid4().hex[:8]}"
    owner = slot_owner(ports, prefix)
    others = [p for p in ports if p != owner]
    assert len(others) == 2

    def config(port: int) -> dict[str, Any]:
        node = f"redis://127.0.0.1:{port}"
        spend = {"redis_prefix": prefix, "ship_interval_seconds": 0.2}
        return {
            "model_list": [model_entry("m")],
            "general_settings": {"master_key": MASTER, "database_url": pg_url},
            "plugins": {
                "spend": spend if litellm_env else {"redis_url": node, **spend},
                # key changes are published on the cluster too (PUBLISH reaches every node)
                "virtual_keys": {"redis_url": node, "redis_channel": f"{prefix}:keys"},
            },
        }

    def env(port: int) -> dict[str, str]:
        base = {"GATEWAY_LOAD_PLUGINS": "mock,spend,virtual_keys", "REDIS_URL": ""}
        if litellm_env:
            base["REDIS_CLUSTER_NODES"] = json.dumps([{"host": "127.0.0.1", "port": str(port)}])
        return base

    gateways = [gateway_processes(config(port), env=env(port)) for port in others]
    return gateways, prefix, owner


def generate_key(gateway: Any, **limits: Any) -> str:
    response = httpx.post(
        gateway.url + "/key/generate",
        json={"models": ["m"], **limits},
        headers={"Authorization": f"Bearer {MASTER}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["key"])


def key_hash(gateway: Any, api_key: str) -> str:
    info = httpx.get(
        gateway.url + "/key/info", params={"key": api_key}, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30
    )
    assert info.status_code == 200, info.text
    return str(info.json()["key"])


def test_budget_is_exact_across_two_gateways_on_a_three_node_cluster(
    cluster: list[int], pg_url: str, gateway_processes: Any
) -> None:
    k = 7
    (first, second), prefix, owner = two_gateways(cluster, pg_url, gateway_processes)
    api_key = generate_key(first, max_budget=float(COST * k))  # created on one, used on both

    results = asyncio.run(fire([((first, second)[i % 2].url, api_key) for i in range(120)], max_tokens=7))

    ok = [r for r in results if r[0] == 200]
    assert len(ok) == k, sorted({(r[0], r[1][:120]) for r in results})
    refused = [r for r in results if r[0] != 200]
    assert {r[0] for r in refused} == {422}  # LiteLLM's status for an exceeded budget
    assert all("Budget has been exceeded" in r[1] for r in refused)
    rows = ledger_rows(first, 120, api_key=key_hash(first, api_key))
    assert len(rows) == 120 and len({r["request_id"] for r in rows}) == 120
    assert sum(Decimal(r["spend_exact"]) for r in rows) == COST * k
    # every counter is on the node serving the prefix's slot, and no reservation is left behind
    assert run(owner, "ZCARD", f"{{{prefix}}}:resx") == 0
    budget_keys = run(owner, "KEYS", f"{{{prefix}}}:b:*")
    assert budget_keys and all(int(run(owner, "HGET", k_, "r") or 0) == 0 for k_ in budget_keys)
    assert all(run(p, "DBSIZE") == 0 for p in cluster if p != owner)
    print(f"\ncluster nodes {cluster}, counters on {owner}: {len(ok)} of 120 admitted for a budget of {k} requests")


@pytest.mark.parametrize("litellm_env", [False, True], ids=["redis_url", "REDIS_CLUSTER_NODES"])
def test_rpm_limit_is_exact_across_two_gateways_on_a_three_node_cluster(
    cluster: list[int], pg_url: str, gateway_processes: Any, litellm_env: bool
) -> None:
    limit = 30
    (first, second), prefix, owner = two_gateways(cluster, pg_url, gateway_processes, litellm_env=litellm_env)
    api_key = generate_key(second, rpm_limit=limit)

    results = asyncio.run(fire([((first, second)[i % 2].url, api_key) for i in range(90)]))

    ok = [r for r in results if r[0] == 200]
    limited = [r for r in results if r[0] == 429]
    assert len(ok) == limit and len(limited) == 90 - limit, sorted({(r[0], r[1][:120]) for r in results})
    assert all("Rate limit exceeded" in r[1] for r in limited)
    assert sorted(int(r[2]["x-ratelimit-remaining-requests"]) for r in ok) == list(range(limit))
    assert run(owner, "KEYS", f"{{{prefix}}}:*")  # the counters are on the cluster, not in process memory
    print(f"\n{len(ok)} of 90 admitted for rpm_limit {limit}")
