"""Where entries live: an in-process LRU bounded by bytes (per worker), or Redis (shared, with TTL).

Both answer the same small async interface.  Redis failures raise (the cache turns them into a
bypass); the local store never fails.  Single-flight locks live in the same place as the entries:
in Redis they coordinate every worker and instance, locally only one worker's requests.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from .semantic import ADD_SCRIPT, LOOKUP_SCRIPT

#: compare-and-delete: a leader releases only its own lock (a lock that expired may be someone else's now)
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LocalBackend:
    """An LRU of encoded entries, bounded by the sum of their sizes; expired entries are misses."""

    kind = "local"
    shared = False

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._locks: dict[str, tuple[float, str]] = {}

    async def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if len(value) > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = (time.monotonic() + ttl, value)
        self.bytes += len(value)
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def _drop(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self.bytes -= len(found[1])

    async def delete(self, keys: list[str]) -> int:
        count = 0
        for key in keys:
            if key in self._entries:
                self._drop(key)
                count += 1
        return count

    async def acquire(self, key: str, token: str, ttl: float) -> bool:
        now = time.monotonic()
        held = self._locks.get(key)
        if held is not None and held[0] > now:
            return False
        self._locks[key] = (now + ttl, token)
        return True

    async def set_and_release(self, key: str, value: bytes, ttl: float, lock_key: str, token: str) -> None:
        await self.set(key, value, ttl)
        await self.release(lock_key, token)

    async def release(self, key: str, token: str) -> None:
        held = self._locks.get(key)
        if held is not None and held[1] == token:
            del self._locks[key]

    async def locked(self, key: str) -> bool:
        held = self._locks.get(key)
        return held is not None and held[0] > time.monotonic()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisBackend:
    """Entries under ``SET key value PX ttl``; locks under ``SET lock token NX PX``."""

    kind = "redis"
    shared = True

    def __init__(self, url: str, password: str | None, timeout: float) -> None:
        import redis.asyncio as redis  # imported here: a gateway with a local cache never loads it

        self.client: Any = redis.from_url(
            url,
            password=password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._release = self.client.register_script(RELEASE_SCRIPT)
        self._lookup = self.client.register_script(LOOKUP_SCRIPT)

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self.client.get(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self.client.set(key, value, px=max(1, int(ttl * 1000)))

    async def get_with_index(self, key: str, index: str) -> tuple[bytes | None, bytes | None]:
        """The entry, or (None, the semantic candidates under ``index``): one round trip either way."""
        found = await self._lookup(keys=[key, index])
        if found and found[0] == 1:
            return found[1], None
        return None, (found[1] if len(found) > 1 else None)

    async def delete(self, keys: list[str]) -> int:
        if not keys:
            return 0
        deleted: int = await self.client.delete(*keys)
        return deleted

    async def acquire(self, key: str, token: str, ttl: float) -> bool:
        return bool(await self.client.set(key, token, nx=True, px=max(1, int(ttl * 1000))))

    async def release(self, key: str, token: str) -> None:
        await self._release(keys=[key], args=[token])

    async def set_and_release(
        self,
        key: str,
        value: bytes,
        ttl: float,
        lock_key: str | None,
        token: str,
        vector: tuple[str, bytes, int] | None = None,
    ) -> None:
        """The leader's entry, the end of its lock and its semantic record (index key, record, bound), in
        one round trip."""
        # EVAL with the script's text, not EVALSHA: a pipeline holding registered scripts first asks
        # SCRIPT EXISTS in a round trip of its own; Redis caches the compiled script either way
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(key, value, px=max(1, int(ttl * 1000)))
            if lock_key is not None:
                pipe.eval(RELEASE_SCRIPT, 1, lock_key, token)
            if vector is not None:
                index, record, limit = vector
                pipe.eval(ADD_SCRIPT, 1, index, record, limit, max(1, int(ttl * 1000)))
            await pipe.execute()

    async def locked(self, key: str) -> bool:
        return bool(await self.client.exists(key))

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()
