from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gateway_mock
import gateway_openai
import pytest

from gateway.testing import FakeUpstream, RunningGateway, start_gateway

#: core tests see only the kernel and the two providers they need, whatever else is installed
CORE_PLUGINS = [("openai", gateway_openai), ("mock", gateway_mock)]

MASTER = "sk-test-master"


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
