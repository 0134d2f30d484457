"""The in-process auth cache: which secret hashes exist, the resolved keys, and known-bad keys.

* ``tokens``: every valid secret hash -> its key id (plus the grace expiry of a regenerated
  key's old secret).  Loaded whole at start-up and kept current by the change log, so a key that
  does not exist is recognised as such without a database query.
* ``entries``: key id -> :class:`CachedKey` (the ready-made principal and what can refuse it),
  least-recently-used beyond ``cache_size``.
* ``negative``: hashes the database said nobody owns, bounded, with a TTL.

``epoch`` grows with every invalidation; a loader that started before an invalidation does not
store what it read (it may be older than the change), which closes the read/invalidate race.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: names of the counters in ``gateway.state["virtual_keys_metrics"]`` (see the README)
METRIC_NAMES = (
    "auth_cache_hits_total",
    "auth_cache_loads_total",
    "invalid_key_attempts_total",
    "invalid_key_db_lookups_total",
    "invalid_key_lookups_throttled_total",
    "refused_keys_total",
    "cache_invalidations_total",
    "cache_full_reloads_total",
    "changelog_polls_total",
)


@dataclass(slots=True)
class CachedKey:
    #: the resolved principal as constructor arguments (see ``principal.fresh_principal``)
    principal_args: tuple[Any, ...]
    key_id: str
    team_id: str | None
    user_id: str | None
    blocked: bool
    team_blocked: bool
    #: epoch seconds; None = never expires
    expires: float | None
    #: the organization of its team (None: none)
    org_id: str | None = None
    org_blocked: bool = False


@dataclass(slots=True)
class KnownToken:
    key_id: str
    #: set for a regenerated key's old secret: epoch seconds until which it still works
    grace_until: float | None = None


class AuthCache:
    def __init__(self, size: int, negative_size: int, negative_ttl: float) -> None:
        self.size = size
        self.negative_size = negative_size
        self.negative_ttl = negative_ttl
        self.tokens: dict[str, KnownToken] = {}
        self.tokens_of: dict[str, set[str]] = {}
        self.entries: OrderedDict[str, CachedKey] = OrderedDict()
        self.negative: OrderedDict[str, float] = OrderedDict()
        self.epoch = 0

    # ------------------------------------------------------------------ secret hashes

    def set_tokens(self, key_id: str, known: dict[str, KnownToken]) -> None:
        """Replace every hash of ``key_id`` (after a change to it) in one step."""
        for token in self.tokens_of.pop(key_id, ()):
            self.tokens.pop(token, None)
        if known:
            self.tokens_of[key_id] = set(known)
            self.tokens.update(known)
            for token in known:
                self.negative.pop(token, None)

    def replace_all_tokens(self, known: dict[str, KnownToken]) -> None:
        self.tokens = dict(known)
        self.tokens_of = {}
        for token, entry in known.items():
            self.tokens_of.setdefault(entry.key_id, set()).add(token)
        self.negative.clear()

    # ------------------------------------------------------------------ resolved keys

    def get(self, key_id: str) -> CachedKey | None:
        entry = self.entries.get(key_id)
        if entry is not None:
            self.entries.move_to_end(key_id)
        return entry

    def put(self, entry: CachedKey, epoch: int) -> None:
        if epoch != self.epoch:
            return  # an invalidation happened while this was read: it may be stale
        self.entries[entry.key_id] = entry
        self.entries.move_to_end(entry.key_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def invalidate(self, kind: str, entity_id: str) -> None:
        self.epoch += 1
        if kind == "key":
            self.entries.pop(entity_id, None)
            return
        field = {"team": "team_id", "org": "org_id"}.get(kind, "user_id")
        for key_id in [k for k, e in self.entries.items() if getattr(e, field) == entity_id]:
            del self.entries[key_id]

    def clear(self) -> None:
        self.epoch += 1
        self.entries.clear()

    # ------------------------------------------------------------------ known-bad hashes

    def is_negative(self, token: str, now: float) -> bool:
        expiry = self.negative.get(token)
        if expiry is None:
            return False
        if expiry < now:
            del self.negative[token]
            return False
        return True

    def add_negative(self, token: str, now: float) -> None:
        self.negative[token] = now + self.negative_ttl
        self.negative.move_to_end(token)
        while len(self.negative) > self.negative_size:
            self.negative.popitem(last=False)


class TokenBucket:
    """At most ``rate`` events per second on average, bursts up to ``2 * rate``."""

    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, 2 * rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
