"""Keeping every worker's auth cache current: the change-log poller and Redis pub/sub.

A change is applied at once by the worker that made it.  Other workers learn it two ways:

* Redis (``REDIS_URL`` or ``plugins.virtual_keys.redis_url``): the writer publishes the change
  after its commit; subscribers drop the affected entries within milliseconds.
* The change log ``vk_changes``, polled every ``poll_interval`` seconds (≤ 1 s): one primary-key
  read of ``vk_version`` per poll, plus the new rows when it moved.  Versions are handed out
  under the ``vk_version`` row lock, so they become visible in commit order and a poll never
  skips a change.  With Redis the poll stays on as a backstop for lost messages.

So a blocked or deleted key is refused everywhere at most ``poll_interval`` seconds after the
change committed, in practice immediately when Redis is configured.  Without Redis, an admin call
that takes access away (block, delete, update ...) answers only after one poll interval
(``revocation_wait``), so when it returns every worker already refuses the key.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from gateway import get_logger

from .cache import KnownToken
from .tags import all_tags, one_tag

if TYPE_CHECKING:
    from .state import PluginState

log = get_logger("gateway.virtual_keys")

#: change-log rows read per query; more pages are read in the same poll
PAGE = 1000
MAX_PAGES = 20
PRUNE_EVERY = 600.0
#: beyond one poll interval: the poll's own query time and scheduling delays
REVOCATION_MARGIN = 0.2


class Synchroniser:
    def __init__(self, state: PluginState) -> None:
        self.state = state
        self.version = 0
        #: change-log versions this worker wrote and applied at commit; the poll skips them (applying
        #: them again would drop and re-read every key they touch for nothing)
        self.applied_own: set[int] = set()
        self.instance = os.urandom(8).hex()
        self.redis: Any = None
        self.tasks: list[asyncio.Task[None]] = []
        self.last_poll_ok = time.monotonic()
        self.last_prune = 0.0
        self.interval = state.settings.poll_interval

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        store = self.state.store
        store.on_commit = self.committed
        self.version = await store.current_version()
        await self.reload_all()
        settings = self.state.settings
        redis_url = settings.redis_url or os.environ.get("REDIS_URL")
        if redis_url:
            import redis.asyncio as aioredis

            self.redis = aioredis.from_url(redis_url)
            self.tasks.append(asyncio.create_task(self.subscribe(), name="virtual-keys-subscribe"))
            self.interval = min(settings.redis_poll_interval, 1.0)
        self.tasks.append(asyncio.create_task(self.poll_forever(self.interval), name="virtual-keys-poll"))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self.tasks.clear()
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None

    # ------------------------------------------------------------------ applying changes

    async def reload_all(self) -> None:
        current, old = await self.state.store.all_tokens()
        known = {token: KnownToken(key_id) for token, key_id in current}
        known.update({token: KnownToken(key_id, expires.timestamp()) for token, key_id, expires in old})
        self.state.cache.replace_all_tokens(known)
        self.state.cache.clear()
        await self.reload_customers()

    async def reload_customers(self) -> None:
        """Every customer and budget tier (start-up, and when a tier changed)."""
        store = self.state.store
        self.state.customers.replace_all(await store.all_customers(), await store.all_tiers(), self.state.catalog)
        self.state.tags.replace_all(await all_tags(store), self.state.customers.tiers)
        self.state.count("cache_full_reloads_total")
        customers = self.state.customers
        if customers.default_tier_id and customers.default_tier_id not in customers.tiers:
            # said at every reload until the tier exists: end users get max_end_user_budget meanwhile
            log.warning(
                "max_end_user_budget_id_unknown",
                budget_id=customers.default_tier_id,
                reason="litellm_settings.max_end_user_budget_id names no budget tier; create it with /budget/new",
            )

    async def apply(self, changes: list[tuple[str, str]]) -> None:
        cache = self.state.cache
        unique = list(dict.fromkeys(changes))
        # customers are not keys: their rows are reloaded into the request-time index
        customers = [entity_id for kind, entity_id in unique if kind == "customer"]
        tags = [entity_id for kind, entity_id in unique if kind == "tag"]
        tiers_changed = any(kind == "budget" for kind, _ in unique)
        unique = [(kind, entity_id) for kind, entity_id in unique if kind not in ("customer", "budget", "tag")]
        if tiers_changed:  # rare: every key, team, customer and tag re-reads its tier
            cache.clear()
            await self.reload_customers()
            customers = tags = []
        for user_id in customers:
            row = await self.state.store.customer(user_id)
            self.state.customers.put(user_id, row, self.state.catalog)
        for name in tags:
            self.state.tags.put(name, await one_tag(self.state.store, name), self.state.customers.tiers)
        # drop resolved entries first, without awaiting: a request arriving meanwhile reloads the
        # key from the database (a deleted key then finds nothing, a blocked one its new row)
        for kind, entity_id in unique:
            cache.invalidate(kind, entity_id)
            self.state.count("cache_invalidations_total")
        for kind, entity_id in unique:
            if kind == "key":
                token, old = await self.state.store.tokens_of(entity_id)
                known = {t: KnownToken(entity_id, expires.timestamp()) for t, expires in old}
                if token is not None:
                    known[token] = KnownToken(entity_id)
                cache.set_tokens(entity_id, known)
                cache.invalidate(kind, entity_id)

    async def committed(self, version: int, changes: list[tuple[str, str]], revokes: bool) -> None:
        """Called by the store after a write committed: apply here, tell the others, and for a
        revocation without Redis wait until every polling worker has seen it (see the module doc)."""
        if version > self.version:
            self.applied_own.add(version)
        await self.apply(changes)
        if self.redis is not None:
            message = orjson.dumps({"origin": self.instance, "version": version, "changes": changes})
            try:
                await self.redis.publish(self.state.settings.redis_channel, message)
                return
            except Exception as exc:  # the poll still delivers it within poll_interval
                log.warning("virtual_keys_publish_failed", error=f"{type(exc).__name__}: {exc}")
        if revokes and self.state.settings.revocation_wait:
            await asyncio.sleep(self.interval + REVOCATION_MARGIN)

    # ------------------------------------------------------------------ polling

    async def poll_forever(self, interval: float) -> None:
        failing = False
        while True:
            await asyncio.sleep(interval)
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:  # once per outage, not twice a second
                    log.warning("virtual_keys_poll_failed", error=f"{type(exc).__name__}: {exc}")
                failing = True
                continue
            if failing:
                log.info("virtual_keys_poll_recovered")
                failing = False

    async def poll(self) -> None:
        store = self.state.store
        self.state.count("changelog_polls_total")
        retention = self.state.settings.changelog_retention_seconds
        if time.monotonic() - self.last_poll_ok > retention / 2:
            # rows this worker never saw may have been pruned meanwhile: start over
            self.version = await store.current_version()
            await self.reload_all()
        latest = await store.current_version()
        pages = 0
        while latest > self.version and pages < MAX_PAGES:
            rows = await store.changes_since(self.version, PAGE)
            if not rows:
                self.version = latest
                break
            await self.apply([(kind, entity) for version, kind, entity in rows if version not in self.applied_own])
            self.version = max(self.version, rows[-1][0])
            pages += 1
        if latest > self.version and pages >= MAX_PAGES:
            self.version = latest
            await self.reload_all()
        self.applied_own = {v for v in self.applied_own if v > self.version}
        self.last_poll_ok = time.monotonic()
        if self.last_poll_ok - self.last_prune > PRUNE_EVERY:
            self.last_prune = self.last_poll_ok
            await store.prune_changes(datetime.now(UTC) - timedelta(seconds=retention))

    # ------------------------------------------------------------------ Redis

    async def subscribe(self) -> None:
        channel = self.state.settings.redis_channel
        delay = 0.5
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = orjson.loads(message["data"])
                    if data.get("origin") != self.instance:
                        await self.apply([(str(k), str(e)) for k, e in data.get("changes", [])])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "virtual_keys_redis_subscription_lost", error=f"{type(exc).__name__}: {exc}", retry_in=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
