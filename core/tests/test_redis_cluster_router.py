"""The router's shared numbers and ``global_max_parallel_requests`` on a three-master Redis Cluster.

The cluster is started by the test (``gateway.testing.local_redis_cluster``).  Each gateway is given
``router_settings.redis_url`` of a *different* node: the kernel sees the node runs in cluster mode
and uses redis-py's cluster client, so every key reaches the node serving its slot.  A single-node
client there fails with ``MOVED`` for the keys other nodes serve (the usage counters, cooldowns,
the parallel-request gauge).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway.testing import local_redis_cluster

from .test_routing_support import MASTER, chat, config, entry, not_near_minute_end, start, upstreams, wait_until

pytest.importorskip("redis", reason="the shared router state needs the 'redis' package")

__all__ = ["upstreams"]


@pytest.fixture
def cluster(tmp_path: Path, redis_prefix: str) -> Iterator[list[int]]:
    missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: no Redis Cluster to test (apt-get install redis-server)")
    with local_redis_cluster(tmp_path / "cluster") as ports:
        yield ports


def test_rpm_limits_hold_across_instances_on_a_cluster(
    cluster: list[int], upstreams: Any, gateway_factory: Any
) -> None:
    a, b = upstreams(2)

    def cfg(port: int) -> dict[str, Any]:
        return config(
            entry("primary", a, rpm=2),
            entry("primary", b, rpm=1),
            routing_strategy="usage-based-routing",
            redis_url=f"redis://127.0.0.1:{port}",
        )

    first, second = start(gateway_factory, cfg(cluster[0])), start(gateway_factory, cfg(cluster[1]))
    assert first.gateway.router.state.healthy and second.gateway.router.state.healthy
    not_near_minute_end()
    chat(first)
    chat(first)
    ids = [d.id for d in second.gateway.deployments]
    state = second.gateway.router.state
    wait_until(
        lambda: sum(state.count(f"rpm:{i}") for i in ids) == 2,
        timeout=5,
        what="the second instance seeing two requests",
    )
    chat(second)
    with pytest.raises(openai.RateLimitError):
        chat(second)
    assert (len(a.requests), len(b.requests)) == (2, 1)


def test_global_max_parallel_requests_on_a_cluster(cluster: list[int], upstreams: Any, gateway_factory: Any) -> None:
    (a,) = upstreams(1)
    cfg = config(entry("primary", a), redis_url=f"redis://127.0.0.1:{cluster[2]}")
    cfg["general_settings"]["global_max_parallel_requests"] = 5
    gw = start(gateway_factory, cfg)
    for _ in range(3):  # each takes a slot in the cluster's gauge and gives it back
        chat(gw)
    assert len(a.requests) == 3
    health = httpx.get(gw.url + "/health/readiness", headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)
    assert health.status_code == 200


def test_litellm_redis_cluster_nodes_names_the_node_to_start_from(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway._config.schema import RouterSettings
    from gateway._errors import ConfigError
    from gateway._strategies.redis_state import redis_location

    for name in ("REDIS_URL", "REDIS_HOST", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "REDIS_CLUSTER_NODES", '[{"host": "10.0.0.7", "port": "7001"}, {"host": "10.0.0.8", "port": 7002}]'
    )
    assert redis_location(RouterSettings()) == ("redis://10.0.0.7:7001", None)
    monkeypatch.setenv("REDIS_CLUSTER_NODES", "10.0.0.7:7001")  # not LiteLLM's format: said, not ignored
    with pytest.raises(ConfigError, match="REDIS_CLUSTER_NODES must be a JSON list of nodes"):
        redis_location(RouterSettings())
