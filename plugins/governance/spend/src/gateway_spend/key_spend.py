"""``x-litellm-key-spend`` for keys without a budget counter: their spend in the ledger.

A key with a budget has an exact counter (the answer carries what it says after the call).  A key
without one has no counter, and counting every key's spend in Redis would cost two round trips on
requests that have no limit to check.  Its header instead comes from the ledger's daily roll-up
(what ``/key/info`` shows), fetched off the request path at most every ``ttl`` seconds, plus what
this worker recorded for it since.  Other workers' spend shows up at the next fetch: as fresh as
LiteLLM's own header, whose key spend is a database column written every few seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

log = structlog.get_logger("gateway.spend")


@dataclass(slots=True)
class _Entry:
    #: the ledger's total at the last fetch; None until one succeeded
    base: Decimal | None = None
    #: what this worker recorded for the key, ever, and at the last fetch
    local: Decimal = Decimal(0)
    local_at_fetch: Decimal = Decimal(0)
    fetched_at: float = float("-inf")
    fetching: asyncio.Future[None] | None = None


class KeySpendTotals:
    """All-time spend of keys from the ledger, kept fresh in the background."""

    def __init__(self, *, ttl: float = 10.0, first_wait: float = 0.5, limit: int = 10_000) -> None:
        self.ttl = ttl
        #: seconds the first request of a key waits for its first fetch (then it goes without the header)
        self.first_wait = first_wait
        self.limit = limit
        self._entries: dict[str, _Entry] = {}

    def add(self, key: str, cost: Decimal) -> None:
        """This worker recorded ``cost`` for ``key`` (counted only for keys whose header is asked for)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.local += cost

    async def total(self, key: str, ledger: Any) -> Decimal | None:
        """The key's spend, or None when the ledger has not answered yet."""
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= self.limit:
                self._entries.clear()
            entry = self._entries[key] = _Entry()
        if entry.fetching is None and time.monotonic() - entry.fetched_at >= self.ttl:
            entry.fetching = asyncio.ensure_future(self._fetch(key, entry, ledger))
        if entry.base is None and entry.fetching is not None:
            try:
                await asyncio.wait_for(asyncio.shield(entry.fetching), self.first_wait)
            except TimeoutError:
                return None
        if entry.base is None:
            return None
        return entry.base + entry.local - entry.local_at_fetch

    async def _fetch(self, key: str, entry: _Entry, ledger: Any) -> None:
        try:
            await ledger.shipper.flush()  # this worker's rows first: ``local`` covers only the rest
            local = entry.local
            totals = await ledger.store.totals("key", [key])
            entry.base, entry.local_at_fetch = totals[key], local
        except Exception as exc:  # the header waits for the next fetch; the request is not affected
            log.warning("spend_key_total_failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            entry.fetched_at = time.monotonic()
            entry.fetching = None
