"""Routing strategies against several local upstreams of different speeds, limits and prices."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import gateway_openai
import openai
import pytest

from gateway import ConfigError, Gateway, PluginError, fake_openai, hookimpl
from gateway.routing import Strategy

from .test_routing_support import MESSAGES, chat, config, entry, not_near_minute_end, served_by, slow, start, upstreams

__all__ = ["upstreams"]


def within_binomial_bounds(count: int, trials: int, p: float, sigmas: float = 4.5) -> bool:
    mean = trials * p
    return abs(count - mean) <= sigmas * math.sqrt(trials * p * (1 - p))


@pytest.mark.parametrize("weight_key", ["weight", "rpm"])
def test_simple_shuffle_splits_traffic_by_weight(weight_key: str, upstreams: Any, gateway_factory: Any) -> None:
    weights = [1, 3, 6]
    ups = upstreams(3)
    proxy = start(
        gateway_factory,
        config(
            *[entry("primary", u, **{weight_key: w}) for u, w in zip(ups, weights, strict=False)],
            routing_strategy="simple-shuffle",
            routing_strategy_args={"seed": 7},
        ),
    )
    trials = 200
    client = proxy.openai()
    for _ in range(trials):
        client.chat.completions.create(model="primary", messages=MESSAGES)
    counts = [len(u.requests) for u in ups]
    assert sum(counts) == trials
    for count, weight in zip(counts, weights, strict=False):
        assert within_binomial_bounds(count, trials, weight / sum(weights)), (counts, weights)


def test_least_busy_sends_concurrent_traffic_to_the_idle_deployment(upstreams: Any, gateway_factory: Any) -> None:
    slow_one, fast_one = upstreams(2)
    slow(slow_one, 0.5)
    proxy = start(
        gateway_factory, config(entry("primary", slow_one), entry("primary", fast_one), routing_strategy="least-busy")
    )

    async def burst() -> None:
        client = proxy.async_openai()
        gate = asyncio.Semaphore(4)

        async def one() -> None:
            async with gate:
                await client.chat.completions.create(model="primary", messages=MESSAGES)

        await asyncio.gather(*[one() for _ in range(24)])
        await client.close()

    asyncio.run(burst())
    assert len(slow_one.requests) + len(fast_one.requests) == 24
    assert len(fast_one.requests) > 3 * len(slow_one.requests)


def test_latency_based_prefers_the_fast_deployment(upstreams: Any, gateway_factory: Any) -> None:
    slow_one, fast_one = upstreams(2)
    slow(slow_one, 0.15)
    proxy = start(
        gateway_factory,
        config(entry("primary", slow_one), entry("primary", fast_one), routing_strategy="latency-based-routing"),
    )
    answers = [served_by(chat(proxy)[0]) for _ in range(10)]
    # each deployment may be tried once while it has no latency sample; after that the fast one wins
    assert len(slow_one.requests) <= 1
    assert answers[-8:] == [served_by(fast_one.content)] * 8


def test_latency_based_orders_streams_by_time_to_first_token(upstreams: Any, gateway_factory: Any) -> None:
    late_start, quick_start = upstreams(2)
    slow(late_start, 0.2)  # first byte after 0.2 s, then fast
    slow(quick_start, 0.0, chunk_delay=0.04)  # first byte at once, the whole stream takes longer
    proxy = start(
        gateway_factory,
        config(entry("primary", late_start), entry("primary", quick_start), routing_strategy="latency-based-routing"),
    )
    client = proxy.openai()
    for _ in range(8):
        chunks = list(client.chat.completions.create(model="primary", messages=MESSAGES, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(late_start.requests) <= 1
    assert len(quick_start.requests) >= 7


def test_usage_based_keeps_each_deployment_within_its_rpm(upstreams: Any, gateway_factory: Any) -> None:
    small, large = upstreams(2)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", small, rpm=2), entry("primary", large, rpm=3), routing_strategy="usage-based-routing-v2"
        ),
    )
    not_near_minute_end()
    for _ in range(5):
        chat(proxy)
    assert (len(small.requests), len(large.requests)) == (2, 3)
    with pytest.raises(openai.RateLimitError) as err:
        chat(proxy)
    assert "rpm/tpm limit" in err.value.body["message"]
    assert 1 <= int(err.value.response.headers["retry-after"]) <= 60
    assert len(small.requests) + len(large.requests) == 5


def test_usage_based_counts_tokens_against_tpm(upstreams: Any, gateway_factory: Any) -> None:
    first, second = upstreams(2)
    tokens_per_call = fake_openai.prompt_tokens(MESSAGES) + fake_openai.count_tokens(second.content)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", first, tpm=10_000),
            entry("primary", second, tpm=tokens_per_call + 2),
            routing_strategy="usage-based-routing",
        ),
    )
    not_near_minute_end()
    for _ in range(6):
        chat(proxy)
    # the least-used deployment goes first, so the second one gets a call early; after it, its tpm has no room left
    assert (len(first.requests), len(second.requests)) == (5, 1)


def test_cost_based_prefers_the_cheapest_until_its_rpm_is_used(upstreams: Any, gateway_factory: Any) -> None:
    pricey, cheap = upstreams(2)
    proxy = start(
        gateway_factory,
        config(
            entry("primary", pricey, input_cost_per_token=1e-5, output_cost_per_token=3e-5),
            entry("primary", cheap, input_cost_per_token=1e-7, output_cost_per_token=4e-7, rpm=3),
            routing_strategy="cost-based-routing",
        ),
    )
    not_near_minute_end()
    answers = [served_by(chat(proxy)[0]) for _ in range(5)]
    assert answers == [served_by(cheap.content)] * 3 + [served_by(pricey.content)] * 2


class PinnedLast(Strategy):
    """A third party's strategy: always the deployment whose id sorts last; counts its callbacks."""

    name = "pinned-last"
    calls: list[str]

    def order(self, ctx: Any, deployments: Sequence[Any]) -> list[Any]:
        return sorted(deployments, key=lambda d: d.id, reverse=True)

    def on_start(self, ctx: Any, deployment: Any) -> None:
        self.calls.append("start")

    def on_success(self, ctx: Any, deployment: Any, result: Any) -> None:
        self.calls.append("success")


class StrategyPlugin:
    gateway_plugin_name = "pinned_strategy"

    def __init__(self, name: str = "pinned-last") -> None:
        self.name = name
        self.calls: list[str] = []

    @hookimpl
    def gateway_register_routing_strategies(self, register: Any) -> None:
        def factory(settings: Any, gateway: Any) -> PinnedLast:
            strategy = PinnedLast.from_settings(settings, gateway)
            strategy.calls = self.calls  # type: ignore[attr-defined]
            return strategy  # type: ignore[return-value]

        register(self.name, factory)


def test_a_plugin_adds_a_strategy(upstreams: Any, gateway_factory: Any) -> None:
    a, b = upstreams(2)
    plugin = StrategyPlugin()
    proxy = start(
        gateway_factory,
        config(
            entry("primary", a, model_info={"id": "a"}),
            entry("primary", b, model_info={"id": "b"}),
            routing_strategy="pinned-last",
        ),
        plugins=(plugin,),
    )
    answers = {served_by(chat(proxy)[0]) for _ in range(4)}
    assert answers == {served_by(b.content)}
    assert plugin.calls == ["start", "success"] * 4


def _build(cfg: dict[str, Any], plugins: Sequence[Any] = ()) -> Gateway:
    return Gateway(cfg, plugins=[gateway_openai, *plugins], load_entrypoints=False)


def test_config_mistakes_are_start_up_errors(upstreams: Any) -> None:
    (up,) = upstreams(1)
    with pytest.raises(ConfigError) as err:
        _build(config(entry("primary", up), routing_strategy="fastest-please"))
    message = str(err.value)
    assert "router_settings.routing_strategy" in message and "'fastest-please'" in message
    for known in (
        "simple-shuffle",
        "least-busy",
        "latency-based-routing",
        "usage-based-routing",
        "usage-based-routing-v2",
        "cost-based-routing",
    ):
        assert known in message

    with pytest.raises(
        ConfigError, match=r"routing_strategy_args\.buffer: not an option of routing strategy 'latency-based-routing'"
    ):
        _build(
            config(entry("primary", up), routing_strategy="latency-based-routing", routing_strategy_args={"buffer": 1})
        )
    with pytest.raises(
        ConfigError, match=r"retry_policy\.RateLimitRetries: unknown key; known keys: .*RateLimitErrorRetries"
    ):
        _build(config(entry("primary", up), retry_policy={"RateLimitRetries": 2}))
    with pytest.raises(ConfigError, match=r"allowed_fails_policy\.TimeoutErrorAllowedFails: must be a whole number"):
        _build(config(entry("primary", up), allowed_fails_policy={"TimeoutErrorAllowedFails": -1}))
    with pytest.raises(ConfigError, match=r"router_settings\.fallbacks: 'primary' falls back to 'gpt-5'"):
        _build(config(entry("primary", up), fallbacks=[{"primary": ["gpt-5"]}]))


def test_two_plugins_registering_one_strategy_name_is_refused(upstreams: Any) -> None:
    (up,) = upstreams(1)
    with pytest.raises(PluginError, match=r"routing strategy 'least-busy' is registered by both") as err:
        _build(config(entry("primary", up)), plugins=[StrategyPlugin("least-busy")])
    assert "'routing_strategies'" in str(err.value) and "'pinned_strategy'" in str(err.value)
