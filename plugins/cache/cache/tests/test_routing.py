"""A cache hit is not an upstream call: the routing strategy learns nothing from it (latency-based
routing would otherwise prefer whichever deployment happened to be picked for hits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway import hookimpl
from gateway.routing import Strategy


class Recording(Strategy):
    """A third party's strategy: the group's order as given; it records its statistics callbacks."""

    name = "recording"
    calls: list[tuple[str, bool]]

    def order(self, ctx: Any, deployments: Sequence[Any]) -> list[Any]:
        return list(deployments)

    def on_start(self, ctx: Any, deployment: Any) -> None:
        self.calls.append(("start", False))

    def on_success(self, ctx: Any, deployment: Any, result: Any) -> None:
        self.calls.append(("success", result.aborted))

    def on_failure(self, ctx: Any, deployment: Any, result: Any) -> None:
        self.calls.append(("failure", result.aborted))


class RecordingPlugin:
    gateway_plugin_name = "recording_strategy"

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    @hookimpl
    def gateway_register_routing_strategies(self, register: Any) -> None:
        def factory(settings: Any, gateway: Any) -> Recording:
            strategy = Recording.from_settings(settings, gateway)
            strategy.calls = self.calls
            return strategy

        register("recording", factory)


def test_hits_give_the_router_no_statistics(gateway_factory: Any, fake_upstream: Any) -> None:
    import gateway_cache
    import gateway_openai
    from cache_helpers import MASTER

    plugin = RecordingPlugin()
    gw = gateway_factory(
        {
            "model_list": [
                {
                    "model_name": "gpt-4o",
                    "litellm_params": {"model": "openai/gpt-4o", "api_base": fake_upstream.base_url, "api_key": "k"},
                }
            ],
            "general_settings": {"master_key": MASTER},
            "router_settings": {"routing_strategy": "recording"},
            "litellm_settings": {"cache": True, "cache_params": {"type": "local"}},
        },
        plugins=[("openai", gateway_openai), ("cache", gateway_cache), plugin],
        load_entrypoints=False,
    )
    client = gw.openai()
    messages = [{"role": "user", "content": "route me"}]
    client.chat.completions.create(model="gpt-4o", messages=messages)
    hit = client.chat.completions.create(model="gpt-4o", messages=messages)
    streamed = list(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
    assert hit.usage is not None and streamed[-1].choices[0].finish_reason == "stop"
    assert len(fake_upstream.requests) == 1
    # the upstream call: one success; each hit: only the start balanced as abandoned, never a success
    assert plugin.calls == [("start", False), ("success", False)] + [("start", False), ("failure", True)] * 2
