"""Gateways with gateway-cache in front of a FakeUpstream that counts calls; real Redis (127.0.0.1:6379)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cache_helpers import MASTER, REDIS


@pytest.fixture
def namespace() -> Iterator[str]:
    """A Redis key prefix of its own per test; its keys are deleted afterwards."""
    name = f"cache-test-{uuid.uuid4().hex[:10]}"
    yield name
    import redis

    client = redis.Redis(**REDIS)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def cache_gateway(gateway_factory: Callable[..., Any], fake_upstream: Any) -> Callable[..., Any]:
    """``cache_gateway(cache_params, plugin_config=None, groups=...)``: a served gateway with the cache."""
    import gateway_anthropic
    import gateway_cache
    import gateway_openai
    from cache_auth import TeamAuth

    def start(
        cache_params: dict[str, Any],
        plugin: dict[str, Any] | None = None,
        extra: tuple[Any, ...] = (),
        general: dict[str, Any] | None = None,
        plugins: dict[str, Any] | None = None,
        prices: dict[str, Any] | None = None,
        litellm: dict[str, Any] | None = None,
        extra_models: list[dict[str, Any]] | None = None,
    ) -> Any:
        config: dict[str, Any] = {
            "model_list": [
                {
                    "model_name": name,
                    "litellm_params": {
                        "model": "openai/gpt-4o",
                        "api_base": fake_upstream.base_url,
                        "api_key": "sk-up",
                        **(prices or {}),
                    },
                }
                for name in ("gpt-4o", "shared-model")
            ]
            + list(extra_models or []),
            "general_settings": {"master_key": MASTER, **(general or {})},
            "litellm_settings": {"cache": True, "cache_params": cache_params, **(litellm or {})},
            "plugins": dict(plugins or {}),
        }
        if plugin is not None:
            config["plugins"]["cache"] = plugin
        return gateway_factory(
            config,
            plugins=[
                ("openai", gateway_openai),
                ("anthropic", gateway_anthropic),
                ("cache", gateway_cache),
                TeamAuth(),
                *extra,
            ],
            load_entrypoints=False,
        )

    return start
