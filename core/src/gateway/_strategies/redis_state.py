"""Router state shared through Redis: the same numbers on every worker and instance.

Requests never wait for Redis.  Each worker keeps the numbers in memory (reads stay dictionary
look-ups) and a background task, every ``sync_interval`` seconds, sends what changed here and
reads back what everyone sent, in one pipelined round trip:

* ``<prefix>usage:<minute>`` (hash): per-minute counters (failures, requests, tokens), by
  ``HINCRBYFLOAT``, expiring after three minutes;
* ``<prefix>cool`` (hash): deployment id -> epoch second its cooldown ends;
* ``<prefix>busy`` (hash): ``<deployment>|<worker>`` -> ``<in flight>|<epoch>``; entries a worker
  stopped refreshing (it died) are ignored and removed;
* ``<prefix>samples:<key>`` (list): ``<epoch>|<value>`` latencies, trimmed to the series limit.

A cooldown that starts here is sent at once (the sync task is woken), not at the next tick.
When Redis is unreachable the worker keeps routing on its own numbers, keeps what it could not
send for the next try (bounded: per-minute counters are dropped when the minute ends, samples
are trimmed), and logs once when the link fails and once when it is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from gateway._aio import wait_event
from gateway._errors import ConfigError
from gateway._logs import get_logger
from gateway.routing._state import DEFAULT_SAMPLE_LIMIT, RouterState

if TYPE_CHECKING:
    from gateway._config.schema import RouterSettings

log = get_logger("gateway.routing")

DEFAULT_PREFIX = "gateway:router:"
DEFAULT_SYNC_INTERVAL = 0.5
#: a worker that has not refreshed its in-flight numbers for this long is gone
BUSY_STALE_SECONDS = 10.0
SAMPLES_TTL_SECONDS = 7200


def redis_location(settings: RouterSettings) -> tuple[str, str | None] | None:
    """``(url, password)`` from ``router_settings`` (``redis_url``, ``redis_host``...), ``REDIS_URL``,
    ``REDIS_HOST`` or LiteLLM's ``REDIS_CLUSTER_NODES``."""
    if settings.redis_url:
        return settings.redis_url, settings.redis_password
    if settings.redis_host:
        return f"redis://{settings.redis_host}:{settings.redis_port or 6379}", settings.redis_password
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], os.environ.get("REDIS_PASSWORD") or None
    if os.environ.get("REDIS_HOST"):
        port = os.environ.get("REDIS_PORT") or "6379"
        return f"redis://{os.environ['REDIS_HOST']}:{port}", os.environ.get("REDIS_PASSWORD") or None
    cluster = cluster_startup_node()
    if cluster is not None:
        return f"redis://{cluster[0]}:{cluster[1]}", os.environ.get("REDIS_PASSWORD") or None
    return None


def cluster_startup_node() -> tuple[str, int] | None:
    """The first node of LiteLLM's ``REDIS_CLUSTER_NODES`` (a JSON list of ``{"host", "port"}``): the
    cluster client learns the other nodes from it (``gateway._redis_client``)."""
    raw = os.environ.get("REDIS_CLUSTER_NODES", "").strip()
    if not raw:
        return None
    try:
        first = json.loads(raw)[0]
        return str(first["host"]), int(first.get("port") or 6379)
    except (ValueError, TypeError, LookupError, AttributeError):
        raise ConfigError(
            "REDIS_CLUSTER_NODES must be a JSON list of nodes, as LiteLLM reads it: "
            """'[{"host": "10.0.0.1", "port": 7001}]' (or set REDIS_URL to one node of the cluster)"""
        ) from None


class RedisRouterState(RouterState):
    """:class:`RouterState` mirrored through Redis (see the module docstring for the layout)."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        prefix: str | None = None,
        sync_interval: float = DEFAULT_SYNC_INTERVAL,
    ) -> None:
        super().__init__()
        try:
            import redis.asyncio  # noqa: F401 - checked at start-up, used in start()
        except ImportError as exc:
            raise ConfigError(
                "router_settings names a Redis server (redis_url / redis_host / REDIS_URL) but the 'redis' package is "
                "not installed: pip install 'redis>=5'"
            ) from exc
        self._url = url
        self._password = password
        self.prefix = prefix if prefix is not None else os.environ.get("GATEWAY_ROUTER_REDIS_PREFIX", DEFAULT_PREFIX)
        self.sync_interval = sync_interval
        #: set per process in start(): workers forked from one parent must not share it
        self.worker = ""
        self._remote_counts: dict[str, float] = {}
        #: counts sent by the sync in progress: still counted until the answer includes them
        self._flushing: dict[str, float] = {}
        self._remote_busy: dict[str, int] = {}
        self._remote_samples: dict[str, list[tuple[float, float]]] = {}
        self._pending_samples: dict[str, deque[tuple[float, float]]] = {}
        self._remote_cooling: dict[str, float] = {}
        self._pending_cooling: dict[str, float] = {}
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._sync_lock: asyncio.Lock | None = None
        self.healthy = False
        self.syncs = 0

    # ------------------------------------------------------------------ reads and writes

    def _new_minute(self) -> None:
        super()._new_minute()
        self._remote_counts = {}
        self._flushing = {}

    def count(self, name: str) -> float:
        self._roll(time.time())
        return self._remote_counts.get(name, 0.0) + self._flushing.get(name, 0.0) + self._counts.get(name, 0.0)

    def in_flight(self, deployment_id: str) -> int:
        return self._in_flight.get(deployment_id, 0) + self._remote_busy.get(deployment_id, 0)

    def add_sample(self, key: str, value: float) -> None:
        limit = self._sample_limits.get(key, DEFAULT_SAMPLE_LIMIT)
        pending = self._pending_samples.get(key)
        if pending is None:
            pending = self._pending_samples[key] = deque(maxlen=limit)
        pending.append((time.time(), value))

    def samples(self, key: str, max_age: float) -> list[float]:
        limit = self._sample_limits.get(key, DEFAULT_SAMPLE_LIMIT)
        oldest = time.time() - max_age
        merged = [*self._remote_samples.get(key, ()), *self._pending_samples.get(key, ())][-limit:]
        return [value for at, value in merged if at >= oldest]

    def cool(self, deployment_id: str, until: float) -> None:
        super().cool(deployment_id, until)
        self._pending_cooling[deployment_id] = max(until, self._pending_cooling.get(deployment_id, 0.0))
        if self._wake is not None:
            self._wake.set()

    def cooling_until(self, deployment_id: str) -> float:
        return max(self._cooling.get(deployment_id, 0.0), self._remote_cooling.get(deployment_id, 0.0))

    def cooling(self, now: float | None = None) -> dict[str, float]:
        now = time.time() if now is None else now
        merged = dict(self._remote_cooling)
        for deployment_id, until in self._cooling.items():
            merged[deployment_id] = max(until, merged.get(deployment_id, 0.0))
        return {d: until for d, until in merged.items() if until > now}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        from gateway._redis_client import open_redis

        self.worker = uuid.uuid4().hex[:12]
        self._client = await open_redis(
            self._url, self._password, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )
        self._wake = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        try:
            await self.sync()
        except Exception as exc:  # the sync task keeps trying; routing works on local numbers meanwhile
            self._report_failure(exc)
        self._task = asyncio.create_task(self._run(), name="gateway-router-redis-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._client is not None:
            try:
                await asyncio.wait_for(self.sync(), timeout=2)  # hand over what this worker counted last
            except Exception:
                pass
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await wait_event(self._wake, self.sync_interval)
            self._wake.clear()
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report_failure(exc)

    def _report_failure(self, exc: BaseException) -> None:
        if self.healthy or self.syncs == 0:
            log.error(
                "router_redis_unavailable",
                error=f"{type(exc).__name__}: {exc}",
                consequence="cooldowns and routing statistics are per worker until Redis is back",
            )
        self.healthy = False

    # ------------------------------------------------------------------ one round trip

    async def sync(self) -> None:
        """Send this worker's changes and read everyone's numbers, in one pipeline (one sync at a time)."""
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        async with self._sync_lock:
            await self._sync()

    async def _sync(self) -> None:
        now = time.time()
        self._roll(now)
        minute = self._minute
        counts, self._counts = self._counts, {}
        self._flushing = counts
        samples, self._pending_samples = self._pending_samples, {}
        cooling, self._pending_cooling = self._pending_cooling, {}
        p = self.prefix
        usage_key, cool_key, busy_key = f"{p}usage:{minute}", f"{p}cool", f"{p}busy"
        watched = list(self._sample_limits)
        pipe = self._client.pipeline(transaction=False)
        for name, amount in counts.items():
            if amount:
                pipe.hincrbyfloat(usage_key, name, amount)
        pipe.expire(usage_key, 180)
        if cooling:
            pipe.hset(cool_key, mapping={d: repr(until) for d, until in cooling.items()})
        busy = {f"{d}|{self.worker}": f"{n}|{now:.3f}" for d, n in self._in_flight.items()}
        if busy:
            pipe.hset(busy_key, mapping=busy)
            pipe.expire(busy_key, 300)
        for key, series in samples.items():
            list_key = f"{p}samples:{key}"
            pipe.rpush(list_key, *[f"{at:.3f}|{value!r}" for at, value in series])
            pipe.ltrim(list_key, -self._sample_limits.get(key, DEFAULT_SAMPLE_LIMIT), -1)
            pipe.expire(list_key, SAMPLES_TTL_SECONDS)
        pipe.hgetall(usage_key)
        pipe.hgetall(cool_key)
        pipe.hgetall(busy_key)
        for key in watched:
            pipe.lrange(f"{p}samples:{key}", -self._sample_limits[key], -1)
        try:
            results = await pipe.execute()
        except BaseException:
            self._restore(minute, counts, samples, cooling)
            raise
        tail = results[len(results) - 3 - len(watched) :]
        usage, cooled, busy_all = tail[0], tail[1], tail[2]
        if self._minute == minute:
            self._remote_counts = {name: float(value) for name, value in usage.items()}
            self._flushing = {}
        self._remote_cooling, expired = _parse_cooling(cooled, now)
        self._remote_busy, stale = _parse_busy(busy_all, self.worker, now)
        for key, raw in zip(watched, tail[3:], strict=False):
            self._remote_samples[key] = _parse_samples(raw)
        if expired:
            await self._client.hdel(cool_key, *expired)
        if stale:
            await self._client.hdel(busy_key, *stale)
        if not self.healthy and self.syncs:
            log.info("router_redis_available")
        self.healthy = True
        self.syncs += 1

    def _restore(
        self,
        minute: int,
        counts: dict[str, float],
        samples: dict[str, deque[tuple[float, float]]],
        cooling: dict[str, float],
    ) -> None:
        """Keep what a failed sync could not send for the next one."""
        self._flushing = {}
        if self._minute == minute:
            for name, amount in counts.items():
                self._counts[name] = self._counts.get(name, 0.0) + amount
        for key, series in samples.items():
            newer = self._pending_samples.get(key)
            series.extend(newer or ())
            self._pending_samples[key] = series
        for deployment_id, until in cooling.items():
            self._pending_cooling[deployment_id] = max(until, self._pending_cooling.get(deployment_id, 0.0))


def _parse_cooling(raw: dict[str, str], now: float) -> tuple[dict[str, float], list[str]]:
    cooling, expired = {}, []
    for deployment_id, value in raw.items():
        try:
            until = float(value)
        except ValueError:
            expired.append(deployment_id)
            continue
        if until > now:
            cooling[deployment_id] = until
        else:
            expired.append(deployment_id)
    return cooling, expired


def _parse_busy(raw: dict[str, str], me: str, now: float) -> tuple[dict[str, int], list[str]]:
    totals: dict[str, int] = {}
    stale = []
    for field, value in raw.items():
        deployment_id, _, worker = field.rpartition("|")
        count, _, at = value.partition("|")
        try:
            fresh = now - float(at) < BUSY_STALE_SECONDS
            number = int(count)
        except ValueError:
            stale.append(field)
            continue
        if not fresh:
            stale.append(field)
        elif worker != me:
            totals[deployment_id] = totals.get(deployment_id, 0) + number
    return totals, stale


def _parse_samples(raw: list[str]) -> list[tuple[float, float]]:
    parsed = []
    for item in raw:
        at, _, value = item.partition("|")
        try:
            parsed.append((float(at), float(value)))
        except ValueError:
            continue
    return parsed
