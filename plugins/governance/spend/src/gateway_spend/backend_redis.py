"""Counters in Redis: one script call to admit a request, one to settle it.

Every budget, rate limit and parallel-request gauge of a request is checked and reserved by
``lua/admit.lua`` in a single atomic script, so concurrent requests on any number of workers and
instances can never all pass a check that only one of them should.  The scripts read the Redis
server's clock (``TIME``), so instances whose clocks disagree still share one notion of "now".
"""

from __future__ import annotations

import hashlib
import time
from importlib.resources import files
from typing import Any

from .admission import AdmissionPlan, Admitted, NeedSeed, Rejected, Settled
from .resp import RedisReplyError, RespClient


def _script(name: str) -> str:
    return files("gateway_spend").joinpath("lua", name).read_text()


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class RedisCounters:
    """The :class:`~.admission.CountersBackend` shared by every worker through Redis."""

    shared = True

    def __init__(self, url: str, prefix: str, *, window: float, buckets: int, timeout: float) -> None:
        # one hash tag: every key lands in one slot, so multi-key scripts stay legal on a cluster proxy
        self.prefix = f"{{{prefix}}}:"
        #: the one key each script call declares: it names the slot, so a Redis Cluster node that does
        #: not serve it answers MOVED (followed by the client) instead of running the script on keys it
        #: does not hold; the scripts themselves read their key names from ARGV
        self.slot_key = self.prefix + "slot"
        self.window = window
        self.bucket = window / buckets
        self.client = RespClient(url, timeout=timeout)
        self._admit = _Script(_script("admit.lua"))
        self._settle = _Script(_script("settle.lua"))
        #: this host's clock: only used to list candidate budget windows, the script picks by server time
        self.local_clock = time.time
        #: script calls sent (each one round trip), for the benchmark and /spend/ledger/status
        self.round_trips = 0

    async def admit(
        self, plan: AdmissionPlan, now: float | None, seeds: dict[int, int] | None = None
    ) -> Admitted | Rejected | NeedSeed:
        args: list[Any] = [
            self.prefix,
            "" if now is None else repr(now),
            plan.rid,
            _num(plan.ttl),
            plan.reserve,
            _num(self.window),
            _num(self.bucket),
            len(plan.budgets),
        ]
        # without a clock override the boundaries come from this host's clock; the script picks by Redis time
        local_now = self.local_clock() if now is None else now
        for index, line in enumerate(plan.budgets):
            seed = "" if not seeds or index not in seeds else seeds[index]
            args += [line.key, -1 if line.limit is None else line.limit, *map(_num, line.boundaries(local_now)), seed]
        args.append(len(plan.rates))
        for rate in plan.rates:
            args += [rate.key, -1 if rate.rpm is None else rate.rpm, -1 if rate.tpm is None else rate.tpm, plan.tokens]
        args.append(len(plan.parallels))
        for par in plan.parallels:
            args += [par.key, par.limit]
        reply = await self._call(self._admit, args)
        kind = _text(reply[0])
        if kind == "ok":
            usage = [int(v) for v in reply[3]]
            return Admitted(
                window_keys=[_text(k) for k in reply[1]],
                spent=[int(v) for v in reply[2]],
                rate_usage=list(zip(usage[0::2], usage[1::2], strict=True)),
            )
        if kind == "seed":
            return NeedSeed([int(i) - 1 for i in reply[1]], [float(_text(s)) for s in reply[2]])
        if kind == "budget":
            return Rejected("budget", int(reply[1]) - 1, int(reply[2]), int(reply[4]), reserved=int(reply[3]))
        if kind in ("rpm", "tpm"):
            return Rejected(kind, int(reply[1]) - 1, int(reply[2]), int(reply[3]), retry_after_ms=int(reply[4]))
        return Rejected("parallel", int(reply[1]) - 1, int(reply[2]), int(reply[3]))

    async def settle(self, rid: str, window_keys: list[str], cost: int, tokens: int) -> Settled:
        reply = await self._call(self._settle, [self.prefix, rid, cost, tokens, len(window_keys), *window_keys])
        values = [int(v) for v in reply]
        return Settled(list(zip(values[0::2], values[1::2], strict=True)))

    async def _call(self, script: _Script, args: list[Any]) -> Any:
        self.round_trips += 1
        return await script.run(self.client, self.slot_key, args)

    async def close(self) -> None:
        await self.client.close()


class _Script:
    """A Lua script called by its SHA (``EVALSHA``), loaded on the first ``NOSCRIPT``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def run(self, client: RespClient, slot_key: str, args: list[Any]) -> Any:
        try:
            return await client.execute("EVALSHA", self.sha, 1, slot_key, *args)
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            # first use, or Redis restarted: one extra round trip
            await client.execute("SCRIPT", "LOAD", self.source)
            return await client.execute("EVALSHA", self.sha, 1, slot_key, *args)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
