"""The kernel's redis-py client: a single Redis, or a Redis Cluster when the named node is one.

The router's shared numbers and ``global_max_parallel_requests`` are given one URL
(``router_settings.redis_url`` / ``redis_host``, or ``REDIS_URL``), which may name any master of a
cluster.  A single-node client sent there fails every command for a slot that node does not serve
(``MOVED``), so at start-up the node is asked whether cluster mode is on (``INFO cluster``) and,
if so, redis-py's cluster client is used: it learns the slot map from that node and sends each
command (and each pipelined one) to the node serving its key.  A node that cannot be reached at
start-up gets the single-node client; the callers report the failure and keep retrying.
"""

from __future__ import annotations

from typing import Any


async def open_redis(url: str, password: str | None, **options: Any) -> Any:
    """A ``redis.asyncio`` client for ``url``: ``RedisCluster`` when the server runs in cluster mode."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, password=password, **options)
    try:
        info = await client.info("cluster")
    except Exception:  # unreachable now: the caller's own failure handling reports it
        return client
    if not info.get("cluster_enabled"):
        return client
    await client.aclose()
    from redis.asyncio.cluster import RedisCluster

    return RedisCluster.from_url(url, password=password, **options)
