"""Counters in process memory, for one worker without Redis.

The same rules as ``lua/admit.lua`` and ``lua/settle.lua``, in Python.  Atomicity comes from the
event loop: ``admit`` and ``settle`` never ``await`` between reading and writing a counter.  A
gateway using this backend refuses ``--workers N`` (see ``gateway.require_single_worker``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from .admission import AdmissionPlan, Admitted, NeedSeed, Rejected, Settled


@dataclass(slots=True)
class _Reservation:
    expiry: float
    budgets: dict[str, int] = field(default_factory=dict)
    #: (rate key, bucket) -> tokens reserved
    tokens: dict[tuple[str, int], int] = field(default_factory=dict)
    parallels: list[str] = field(default_factory=list)


class MemoryCounters:
    """The :class:`~.admission.CountersBackend` of a single worker."""

    shared = False

    def __init__(self, *, window: float, buckets: int) -> None:
        self.window = window
        self.bucket = window / buckets
        #: window key -> [spent, reserved]
        self.budgets: dict[str, list[int]] = {}
        #: window key -> when the window ends (budgets with a duration), to forget finished windows
        self._window_ends: dict[str, float] = {}
        #: rate key -> bucket -> [requests, tokens]
        self.rates: dict[str, dict[int, list[int]]] = {}
        #: parallel key -> reservation id -> expiry
        self.parallel: dict[str, dict[str, float]] = {}
        self.reservations: dict[str, _Reservation] = {}

    # ------------------------------------------------------------------ helpers

    def _release(self, rid: str) -> _Reservation | None:
        res = self.reservations.pop(rid, None)
        if res is None:
            return None
        for key, amount in res.budgets.items():
            if key in self.budgets:
                self.budgets[key][1] -= amount
        for (key, bucket), amount in res.tokens.items():
            counts = self.rates.get(key, {}).get(bucket)
            if counts is not None:
                counts[1] -= amount
        for key in res.parallels:
            self.parallel.get(key, {}).pop(rid, None)
        return res

    def _reclaim(self, now: float) -> None:
        # reservations are kept in admission order and all live ``ttl`` seconds, so the expired
        # ones are at the front: no heap, and nothing to clean up after a settlement
        expired = []
        for rid, res in self.reservations.items():
            if res.expiry > now:
                break
            expired.append(rid)
        for rid in expired:
            self._release(rid)

    def _forget_finished_windows(self, now: float, ttl: float) -> None:
        """Drop counters of windows that ended longer ago than any request can still settle."""
        for key in [k for k, end in self._window_ends.items() if end + ttl < now]:
            del self._window_ends[key]
            self.budgets.pop(key, None)

    @staticmethod
    def _window(boundaries: list[float], now: float) -> tuple[float, float]:
        if boundaries[3] <= 0:
            return 0.0, 0.0
        for start, end in zip(boundaries, boundaries[1:], strict=False):
            if start <= now < end:
                return start, end
        raise RuntimeError("clock outside the budget windows")

    def _rate_usage(self, key: str, now: float) -> tuple[dict[int, list[int]], int, int]:
        buckets = self.rates.setdefault(key, {})
        oldest = now - self.window
        for stale in [b for b in buckets if (b + 1) * self.bucket <= oldest]:
            del buckets[stale]
        return buckets, sum(v[0] for v in buckets.values()), sum(v[1] for v in buckets.values())

    def _retry_after(
        self, buckets: dict[int, list[int]], slot: int, have: int, need: int, limit: int, now: float
    ) -> int:
        freed = have
        for bucket in sorted(buckets):
            freed -= buckets[bucket][slot]
            if freed + need <= limit:
                return math.ceil(((bucket + 1) * self.bucket - (now - self.window)) * 1000)
        return math.ceil(self.window * 1000)

    # ------------------------------------------------------------------ the backend interface

    async def admit(
        self, plan: AdmissionPlan, now: float | None, seeds: dict[int, int] | None = None
    ) -> Admitted | Rejected | NeedSeed:
        now = time.time() if now is None else now
        self._reclaim(now)
        keys: list[str] = []
        missing: list[int] = []
        starts: list[float] = []
        for index, line in enumerate(plan.budgets):
            start, end = self._window(line.boundaries(now), now)
            key = f"b:{line.key}:{start!r}"
            keys.append(key)
            if key not in self.budgets:
                if seeds and index in seeds:
                    self._forget_finished_windows(now, plan.ttl)
                    self.budgets[key] = [seeds[index], 0]
                    if end:
                        self._window_ends[key] = end
                else:
                    missing.append(index)
                    starts.append(start)
        if missing:
            return NeedSeed(missing, starts)
        spent: list[int] = []
        for index, (line, key) in enumerate(zip(plan.budgets, keys, strict=True)):
            s, r = self.budgets[key]
            spent.append(s)
            if line.limit is not None and (
                s + r + plan.reserve > line.limit or (plan.reserve == 0 and s + r >= line.limit)
            ):
                return Rejected("budget", index, s, line.limit, reserved=r)
        current = math.floor(now / self.bucket)
        usage: list[tuple[int, int]] = []
        for index, rate in enumerate(plan.rates):
            buckets, requests, tokens = self._rate_usage(rate.key, now)
            if rate.rpm is not None and requests + 1 > rate.rpm:
                return Rejected(
                    "rpm",
                    index,
                    requests,
                    rate.rpm,
                    retry_after_ms=self._retry_after(buckets, 0, requests, 1, rate.rpm, now),
                )
            if rate.tpm is not None and tokens > 0 and tokens + plan.tokens > rate.tpm:
                return Rejected(
                    "tpm",
                    index,
                    tokens,
                    rate.tpm,
                    retry_after_ms=self._retry_after(buckets, 1, tokens, plan.tokens, rate.tpm, now),
                )
            usage.append((requests, tokens))
        for index, par in enumerate(plan.parallels):
            holders = self.parallel.setdefault(par.key, {})
            for rid in [r for r, expiry in holders.items() if expiry <= now]:
                del holders[rid]
            if len(holders) >= par.limit:
                return Rejected("parallel", index, len(holders), par.limit)

        # everything passed: reserve
        expiry = now + plan.ttl
        res = self.reservations.get(plan.rid) or _Reservation(expiry)
        res.expiry = expiry
        if plan.reserve > 0:
            for key in keys:
                self.budgets[key][1] += plan.reserve
                res.budgets[key] = res.budgets.get(key, 0) + plan.reserve
        for rate in plan.rates:
            counts = self.rates[rate.key].setdefault(current, [0, 0])
            counts[0] += 1
            if plan.tokens > 0:
                counts[1] += plan.tokens
                res.tokens[(rate.key, current)] = plan.tokens
        for par in plan.parallels:
            self.parallel[par.key][plan.rid] = expiry
            res.parallels.append(par.key)
        self.reservations[plan.rid] = res
        return Admitted(keys, spent, usage)

    async def settle(self, rid: str, window_keys: list[str], cost: int, tokens: int) -> Settled:
        res = self._release(rid)
        if res is not None:
            for (key, bucket), _ in res.tokens.items():
                counts = self.rates.get(key, {}).get(bucket)
                if counts is not None:
                    counts[1] += tokens
        out: list[tuple[int, int]] = []
        for key in window_keys:
            counter = self.budgets.get(key)
            if counter is None:
                out.append((-1, -1))
                continue
            before = counter[0]
            counter[0] += cost
            out.append((before, counter[0]))
        return Settled(out)

    async def close(self) -> None:
        return None
