"""``general_settings.global_max_parallel_requests``: a cap on model requests in flight across the
whole deployment, every worker of every instance.

With Redis (``router_settings.redis_url`` / ``redis_host`` or ``REDIS_URL``, the router's own), the
requests in flight are one sorted set, ``<prefix>parallel``: a member per request, scored by the
moment its lease ends.  Taking a slot is one atomic script (drop expired leases, count, add if
under the cap); giving it back removes the member.  Each worker renews the leases of its own
requests every few seconds, so a stream may last as long as it likes, while the slots of a worker
that died (``kill -9``, a lost host) expire within ``LEASE_SECONDS`` instead of leaking forever.
When Redis cannot be reached, a request gets 503 with ``retry-after``: the cap is a security and
cost control and is never skipped.

Without Redis the cap holds per worker (said at start-up): ``--workers 4`` allows four times it.

Over the cap a request gets 429 with ``retry-after`` in its client's format.  The slot is taken
after the request was authenticated and decoded, and given back in the request lifecycle's one
``finally`` (``gateway/http/_serve.py``), whatever happened.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway._errors import ConfigError, RateLimitError, ServiceUnavailableError
from gateway._logs import get_logger

log = get_logger("gateway.parallel")

#: seconds a slot stays taken without its worker renewing it
LEASE_SECONDS = 30.0
RENEW_EVERY = LEASE_SECONDS / 3
RETRY_AFTER = "1"

# KEYS[1] the set; ARGV: cap, lease seconds, member.  Server time, so workers' clocks do not matter.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) * 2)
return 1
"""

# KEYS[1] the set; ARGV: lease seconds, then this worker's members.  XX: never re-adds a released one.
_RENEW = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', until_, ARGV[i])
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) * 2)
return 1
"""


class ParallelLimit:
    """Slots for model requests in flight; ``cap=None`` means no cap and costs nothing."""

    def __init__(self, cap: int | None, redis_at: tuple[str, str | None] | None = None, *, prefix: str = "") -> None:
        self.cap = cap
        self.shared = cap is not None and redis_at is not None
        self._redis = redis_at if self.shared else None
        if self._redis is not None:
            try:
                import redis.asyncio  # noqa: F401 - checked at start-up, used in running()
            except ImportError as exc:
                raise ConfigError(
                    "general_settings.global_max_parallel_requests is shared through Redis (the router's), but the "
                    "'redis' package is not installed: pip install 'redis>=5'"
                ) from exc
        prefix = prefix or os.environ.get("GATEWAY_ROUTER_REDIS_PREFIX", "gateway:router:")
        self.key = f"{prefix}parallel"
        #: requests in flight on this worker (all of them without Redis; this worker's with it)
        self.in_flight = 0
        self._mine: set[str] = set()
        self._ids = itertools.count()
        self._worker = ""
        self._client: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._link_ok = True

    def describe(self) -> str:
        if self.cap is None:
            return "no cap"
        if self.shared:
            return f"{self.cap} model requests in flight across every worker and instance sharing this Redis"
        return (
            f"{self.cap} model requests in flight per worker (no Redis configured: with --workers N and M instances "
            f"the gateway allows N x M x {self.cap})"
        )

    # ------------------------------------------------------------------------- per request

    async def acquire(self) -> str | None:
        """Take a slot (its id, to hand back to :meth:`release`); 429 when none is free."""
        if self.cap is None:
            return None
        if self._client is None:
            if self.in_flight >= self.cap:
                raise self._full()
            self.in_flight += 1
            return ""
        member = f"{self._worker}:{next(self._ids)}"
        try:
            taken = await self._client.eval(_ACQUIRE, 1, self.key, self.cap, LEASE_SECONDS, member)
        except Exception as exc:
            self._link_failed(exc)
            raise ServiceUnavailableError(
                "the gateway cannot check general_settings.global_max_parallel_requests (its Redis is unreachable); "
                "retry shortly",
                headers={"retry-after": RETRY_AFTER},
            ) from exc
        self._link_back()
        if not taken:
            raise self._full()
        self._mine.add(member)
        self.in_flight += 1
        return member

    def release(self, slot: str | None) -> None:
        """Give a slot back.  Never raises, never waits: the Redis removal runs in the background (if
        it fails the lease, no longer renewed, expires on its own)."""
        if slot is None:
            return
        self.in_flight -= 1
        if not slot:
            return
        self._mine.discard(slot)
        if self._client is not None:
            task = asyncio.get_running_loop().create_task(self._remove(slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _full(self) -> RateLimitError:
        assert self.cap is not None
        return RateLimitError(
            f"Max parallel request limit reached: {self.cap} model requests are in flight on this gateway "
            f"(general_settings.global_max_parallel_requests). Retry after {RETRY_AFTER} second.",
            headers={"retry-after": RETRY_AFTER},
            code="429",
        )

    async def _remove(self, member: str) -> None:
        try:
            await self._client.zrem(self.key, member)
        except Exception as exc:
            self._link_failed(exc)

    # ------------------------------------------------------------------------- lifecycle

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the Redis link and renew this worker's leases while serving."""
        if self._redis is None:
            yield
            return
        from gateway._redis_client import open_redis

        url, password = self._redis
        self._worker = uuid.uuid4().hex[:12]  # per process: forked workers must not share it
        self._client = await open_redis(
            url, password, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )
        renew = asyncio.create_task(self._renew_forever(), name="gateway-parallel-renew")
        try:
            yield
        finally:
            renew.cancel()
            try:
                await renew
            except asyncio.CancelledError:
                pass
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=2)
            if self._mine:  # requests cut off by the shutdown: hand their slots back now
                try:
                    await self._client.zrem(self.key, *self._mine)
                except Exception:
                    pass
            await self._client.aclose()
            self._client = None

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            if not self._mine:
                continue
            try:
                await self._client.eval(_RENEW, 1, self.key, LEASE_SECONDS, *self._mine)
                self._link_back()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._link_failed(exc)

    def _link_failed(self, exc: BaseException) -> None:
        if self._link_ok:
            log.error(
                "parallel_limit_redis_unavailable",
                error=f"{type(exc).__name__}: {exc}",
                consequence="model requests get 503 until Redis is back (global_max_parallel_requests is never skipped)",
            )
        self._link_ok = False

    def _link_back(self) -> None:
        if not self._link_ok:
            log.info("parallel_limit_redis_back")
            self._link_ok = True


__all__ = ["ParallelLimit", "LEASE_SECONDS"]
