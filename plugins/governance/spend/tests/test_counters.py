"""The two counter backends, driven directly with a controllable clock: the same rules in both.

The Redis backend runs the real Lua scripts on the real Redis server (own key prefix per test);
the clock is passed to the scripts, so windows, resets and reservation expiry need no sleeping.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest
from gateway_spend.admission import AdmissionPlan, Admitted, BudgetLine, NeedSeed, ParallelLine, RateLine, Rejected
from gateway_spend.backend_memory import MemoryCounters
from gateway_spend.backend_redis import RedisCounters
from gateway_spend.scopes import budget_duration
from spend_helpers import REDIS_URL

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.fixture(params=["memory", "redis"])
def backend(request: Any, redis_prefix: str, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryCounters(window=60, buckets=60)
    else:
        counters = RedisCounters(REDIS_URL, redis_prefix, window=60, buckets=60, timeout=5)
        yield counters
        loop.run_until_complete(counters.close())


def budget(limit: int | None, duration: str | None = None, key: str = "k") -> BudgetLine:
    return BudgetLine("key", key, f"key {key!r}", f"key:{key}", limit, duration=budget_duration(duration))


async def admit(backend: Any, plan: AdmissionPlan, now: float) -> Any:
    outcome = await backend.admit(plan, now)
    if isinstance(outcome, NeedSeed):
        outcome = await backend.admit(plan, now, dict.fromkeys(outcome.indexes, 0))
    return outcome


def plan(
    *,
    budgets: list[BudgetLine] = (),
    rates: list[RateLine] = (),
    parallels: list[ParallelLine] = (),
    reserve: int = 0,
    ttl: float = 900,
    rid: str | None = None,
    tokens: int = 0,
) -> AdmissionPlan:
    return AdmissionPlan(
        rid or f"r{random.random()}", list(budgets), list(rates), list(parallels), reserve, ttl, tokens
    )


def test_budget_admits_while_spent_plus_reserved_fits(backend: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        line = budget(100)
        first = await admit(backend, plan(budgets=[line], reserve=60, rid="a"), T0)
        assert isinstance(first, Admitted)
        second = await admit(backend, plan(budgets=[line], reserve=60, rid="b"), T0)
        assert isinstance(second, Rejected) and second.kind == "budget" and second.reserved == 60
        settled = await backend.settle("a", first.window_keys, 25, 10)
        assert settled.spent == [(0, 25)]
        third = await admit(backend, plan(budgets=[line], reserve=60, rid="c"), T0)
        assert isinstance(third, Admitted) and third.spent == [25]
        assert isinstance(await admit(backend, plan(budgets=[line], reserve=16, rid="d"), T0), Rejected)

    loop.run_until_complete(scenario())


def test_unsettled_reservations_expire_and_are_reclaimed(backend: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        line = budget(100)
        par = ParallelLine("key 'k'", "key:k", 1)
        held = await admit(backend, plan(budgets=[line], parallels=[par], reserve=100, ttl=30, rid="lost"), T0)
        assert isinstance(held, Admitted)
        blocked = await admit(backend, plan(budgets=[line], parallels=[par], reserve=1), T0 + 29)
        assert isinstance(blocked, Rejected)
        # the worker holding "lost" died: after its ttl the next admission reclaims budget and slot
        later = await admit(backend, plan(budgets=[line], parallels=[par], reserve=1, rid="next"), T0 + 31)
        assert isinstance(later, Admitted) and later.spent == [0]
        # a late settlement of the reclaimed request still counts its real cost
        assert (await backend.settle("lost", held.window_keys, 40, 0)).spent == [(0, 40)]

    loop.run_until_complete(scenario())


def test_budget_resets_exactly_at_the_window_boundary(backend: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        line = budget(50, "1d")
        first = await admit(backend, plan(budgets=[line], reserve=50, rid="x"), T0 + 86400 - 10)
        await backend.settle("x", first.window_keys, 50, 0)
        assert isinstance(await admit(backend, plan(budgets=[line], reserve=1), T0 + 86400 - 0.001), Rejected)
        fresh = await admit(backend, plan(budgets=[line], reserve=1), T0 + 86400)
        assert isinstance(fresh, Admitted) and fresh.spent == [0]

    loop.run_until_complete(scenario())


def test_missing_counters_ask_for_a_seed_from_the_ledger(backend: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        line = budget(100, "1h")
        need = await backend.admit(plan(budgets=[line], reserve=10), T0 + 5400)
        assert isinstance(need, NeedSeed) and need.indexes == [0] and need.window_starts == [T0 + 3600]
        seeded = await backend.admit(plan(budgets=[line], reserve=10), T0 + 5400, {0: 95})
        assert isinstance(seeded, Rejected) and seeded.used == 95

    loop.run_until_complete(scenario())


def test_sliding_window_never_admits_more_than_the_limit_in_any_window(
    backend: Any, loop: asyncio.AbstractEventLoop
) -> None:
    """Random arrivals over 5 minutes: every 60 s window holds at most rpm admissions, and a
    saturating client gets at least 99% of the limit per window (buckets of 1 s)."""

    async def scenario() -> None:
        rate = RateLine("key 'k'", "key:k", 100, None)
        rng = random.Random(7)
        times = sorted(T0 + rng.uniform(0, 300) for _ in range(2000))
        admitted = []
        for t in times:
            outcome = await backend.admit(plan(rates=[rate]), t)
            if isinstance(outcome, Admitted):
                admitted.append(t)
            else:
                assert outcome.kind == "rpm" and outcome.retry_after_ms > 0
        for start in admitted:
            assert sum(start <= t < start + 60 for t in admitted) <= 100
        for minute in range(4):  # steady state: the client is never starved below 99% of its limit
            window = [t for t in admitted if T0 + 60 + minute * 60 <= t < T0 + 120 + minute * 60]
            assert len(window) >= 99

    loop.run_until_complete(scenario())


def test_no_double_burst_at_a_fixed_window_boundary(backend: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        rate = RateLine("key 'k'", "key:k", 10, None)
        for _i in range(10):
            assert isinstance(await backend.admit(plan(rates=[rate]), T0 + 59.5), Admitted)
        # a fixed window would reset at T0 + 60 and admit 10 more: a sliding one does not
        refused = await backend.admit(plan(rates=[rate]), T0 + 60.5)
        assert isinstance(refused, Rejected) and refused.retry_after_ms == pytest.approx(59_500, abs=1000)
        assert isinstance(await backend.admit(plan(rates=[rate]), T0 + 120), Admitted)

    loop.run_until_complete(scenario())


def test_tpm_reserves_the_estimate_and_settles_to_real_tokens(backend: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def scenario() -> None:
        estimate = RateLine("key 'k'", "key:k", None, 1000)
        first = await backend.admit(plan(rates=[estimate], rid="t1", tokens=600), T0)
        assert isinstance(first, Admitted)
        assert isinstance(await backend.admit(plan(rates=[estimate], tokens=600), T0 + 1), Rejected)
        await backend.settle("t1", [], 0, 100)  # the call used 100 tokens, not 600
        assert isinstance(await backend.admit(plan(rates=[estimate], tokens=600), T0 + 2), Admitted)

    loop.run_until_complete(scenario())


def test_server_clock_picks_the_window_not_the_callers(redis_prefix: str) -> None:
    """Budget windows sent by an instance whose clock is 10 minutes fast still land in the window
    of the Redis server's clock: clock skew between instances neither creates nor loses budget."""
    import time

    async def scenario() -> None:
        counters = RedisCounters(REDIS_URL, redis_prefix, window=60, buckets=60, timeout=5)
        line = budget(100, "1h")
        try:
            honest = await admit(counters, plan(budgets=[line], reserve=10, rid="h"), time.time())
            counters.local_clock = lambda: time.time() + 600  # this instance's clock runs 10 minutes fast
            outcome = await admit(counters, plan(budgets=[line], reserve=10, rid="s"), None)  # server time
            assert isinstance(outcome, Admitted)
            window = int(time.time() // 3600 * 3600)
            if time.time() % 3600 < 3590:  # not racing an hour boundary
                assert outcome.window_keys == honest.window_keys and str(window) in outcome.window_keys[0]
        finally:
            await counters.close()

    asyncio.run(scenario())
