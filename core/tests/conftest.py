from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import gateway_mock
import gateway_openai
import pytest

from gateway.testing import FakeUpstream, RunningGateway, start_gateway

#: core tests see only the kernel and the two providers they need, whatever else is installed
CORE_PLUGINS = [("openai", gateway_openai), ("mock", gateway_mock)]

MASTER = "sk-test-master"
#: the Redis the shared-state tests use (the CI script starts it)
REDIS_URL = "redis://127.0.0.1:6379/0"


def openai_config(upstream: FakeUpstream, **extra: Any) -> dict[str, Any]:
    """A config with one OpenAI-format deployment pointing at the fake upstream."""
    config: dict[str, Any] = {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            },
            {
                "model_name": "text-embedding-3-small",
                "litellm_params": {
                    "model": "openai/text-embedding-3-small",
                    "api_base": upstream.base_url,
                    "api_key": "sk-up",
                },
            },
        ],
        "general_settings": {"master_key": MASTER},
    }
    for key, value in extra.items():
        config.setdefault(key, {}).update(value) if isinstance(value, dict) else config.__setitem__(key, value)
    return config


@pytest.fixture
def proxy(fake_upstream: FakeUpstream, gateway_factory: Any) -> Any:
    return gateway_factory(openai_config(fake_upstream))


@pytest.fixture
def gateway_factory() -> Iterator[Callable[..., RunningGateway]]:
    """Like gateway.testing's fixture, but without entry-point discovery: only CORE_PLUGINS plus
    the plugins a test passes, so installed feature plugins never change a kernel test."""
    running: list[RunningGateway] = []

    def factory(config: dict[str, Any] | str | None = None, *, plugins: Any = (), **kwargs: Any) -> RunningGateway:
        kwargs.setdefault("load_entrypoints", False)
        given = {id(p[1] if isinstance(p, tuple) else p) for p in plugins}
        core = [entry for entry in CORE_PLUGINS if id(entry[1]) not in given]
        gw = start_gateway(config, plugins=[*core, *plugins], **kwargs)
        running.append(gw)
        return gw

    yield factory
    for gw in running:
        gw.stop()


@pytest.fixture(autouse=True)
def only_core_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entry-point discovery (Gateway(...) and gateway processes) sees only the core providers."""
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "openai,mock")


@pytest.fixture
def redis_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key prefix of this test's own for the router's and the health checks' shared state in
    Redis (deleted afterwards); the test is skipped, saying why, when Redis is not there."""
    redis = pytest.importorskip("redis", reason="the shared router state needs the 'redis' package")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({exc}); start it (the CI script does) to run the shared-state tests")
    prefix = f"gateway-test:{uuid.uuid4().hex}:"
    monkeypatch.setenv("GATEWAY_ROUTER_REDIS_PREFIX", prefix + "router:")
    monkeypatch.setenv("GATEWAY_HEALTH_REDIS_PREFIX", prefix + "health:")
    monkeypatch.setenv("GATEWAY_ROUTER_SYNC_INTERVAL", "0.1")
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
        client.close()
