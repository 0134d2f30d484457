"""Router state shared through a real Redis (127.0.0.1:6379) by two gateways, as two instances would.

Keys go under a random prefix per test and are deleted afterwards, so parallel runs never meet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

pytest.importorskip("redis", reason="the shared router state needs the 'redis' package")

from .conftest import REDIS_URL
from .test_routing_support import (
    chat,
    config,
    entry,
    failing,
    not_near_minute_end,
    served_by,
    start,
    upstreams,
    wait_until,
)

__all__ = ["upstreams"]


def _cooling(proxy: Any) -> list[str]:
    # the router's own view: /health with an admin key now calls each deployment, which would add a
    # request to the sick upstream this test counts
    return sorted(proxy.gateway.router.cooldowns.cooling())


def test_a_cooldown_started_on_one_instance_applies_on_the_other(
    redis_prefix: str, upstreams: Any, gateway_factory: Any
) -> None:
    sick, well = upstreams(2)
    failing(sick, 500)
    cfg = config(
        entry("primary", sick, model_info={"id": "sick"}),
        entry("primary", well, model_info={"id": "well"}),
        num_retries=1,
        allowed_fails=0,
        cooldown_time=30,
        redis_url=REDIS_URL,
    )
    first, second = start(gateway_factory, cfg), start(gateway_factory, cfg)
    for _ in range(50):
        if sick.requests:
            break
        assert served_by(chat(first)[0]) == served_by(well.content)
    wait_until(lambda: _cooling(second) == ["sick"], timeout=5, what="the second instance seeing the cooldown")
    seen = len(sick.requests)
    for _ in range(6):
        assert served_by(chat(second)[0]) == served_by(well.content)
    assert len(sick.requests) == seen


def test_rpm_limits_hold_across_instances(redis_prefix: str, upstreams: Any, gateway_factory: Any) -> None:
    a, b = upstreams(2)
    cfg = config(
        entry("primary", a, rpm=2),
        entry("primary", b, rpm=1),
        routing_strategy="usage-based-routing",
        redis_url=REDIS_URL,
    )
    first, second = start(gateway_factory, cfg), start(gateway_factory, cfg)
    not_near_minute_end()
    chat(first)
    chat(first)
    ids = [d.id for d in second.gateway.deployments]
    state = second.gateway.router.state
    wait_until(
        lambda: sum(state.count(f"rpm:{i}") for i in ids) == 2,
        timeout=5,
        what="the second instance seeing two requests",
    )
    chat(second)
    with pytest.raises(openai.RateLimitError):
        chat(second)
    assert len(a.requests) + len(b.requests) == 3
    assert (len(a.requests), len(b.requests)) == (2, 1)


def test_latency_samples_are_shared(redis_prefix: str, upstreams: Any, gateway_factory: Any) -> None:
    from .test_routing_support import slow

    slow_one, fast_one = upstreams(2)
    slow(slow_one, 0.2)
    cfg = config(
        entry("primary", slow_one),
        entry("primary", fast_one),
        routing_strategy="latency-based-routing",
        redis_url=REDIS_URL,
    )
    first, second = start(gateway_factory, cfg), start(gateway_factory, cfg)
    for _ in range(4):
        chat(first)  # first learns both latencies
    keys = [f"latency:{d.id}" for d in second.gateway.deployments]
    state = second.gateway.router.state
    wait_until(
        lambda: all(state.samples(k, 3600) for k in keys), timeout=5, what="the second instance receiving samples"
    )
    before = len(slow_one.requests)
    for _ in range(4):
        assert served_by(chat(second)[0]) == served_by(fast_one.content)
    assert len(slow_one.requests) == before


def test_redis_down_leaves_routing_working_per_worker(
    monkeypatch: pytest.MonkeyPatch, upstreams: Any, gateway_factory: Any
) -> None:
    from gateway.testing import free_port

    monkeypatch.setenv("GATEWAY_ROUTER_SYNC_INTERVAL", "0.1")
    a, b = upstreams(2)
    cfg = config(entry("primary", a), entry("primary", b), redis_url=f"redis://127.0.0.1:{free_port()}/0")
    proxy = start(gateway_factory, cfg)
    for _ in range(3):
        chat(proxy)
    assert len(a.requests) + len(b.requests) == 3
    assert proxy.gateway.router.state.healthy is False


def test_sync_round_trip_keeps_counts_exact(redis_prefix: str) -> None:
    """Counts added while a sync is in flight are neither lost nor counted twice."""
    from gateway._strategies.redis_state import RedisRouterState

    async def scenario() -> tuple[float, float]:
        one, two = RedisRouterState(REDIS_URL), RedisRouterState(REDIS_URL)
        await one.start()
        await two.start()
        try:
            one.add("rpm:x", 3)
            syncing = asyncio.create_task(one.sync())
            one.add("rpm:x", 2)  # lands between the send and the answer
            await syncing
            await one.sync()
            await two.sync()
            return one.count("rpm:x"), two.count("rpm:x")
        finally:
            await one.stop()
            await two.stop()

    not_near_minute_end()
    assert asyncio.run(scenario()) == (5.0, 5.0)
