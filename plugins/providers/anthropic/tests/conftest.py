"""Fixtures: a validating Anthropic server, an OpenAI-format upstream, and gateways in front of them.

Gateways load only the ``anthropic`` and ``openai`` plugins (through their entry points, as a user
install does), so other plugins in the tree cannot change what these tests see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gateway_anthropic.testing import FakeAnthropic

from gateway.testing import FakeUpstream, RunningGateway

MASTER = "sk-test-master"
UPSTREAM_KEY = "sk-ant-test"


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    try:
        yield server
    finally:
        server.stop()


def config(anthropic: FakeAnthropic | None = None, openai: FakeUpstream | None = None, **extra: Any) -> dict[str, Any]:
    """``claude`` -> the fake Anthropic server; ``gpt`` -> the fake OpenAI upstream."""
    models: list[dict[str, Any]] = []
    params = extra.pop("params", {})
    if anthropic is not None:
        models.append(
            {
                "model_name": "claude",
                "litellm_params": {
                    "model": "anthropic/claude-sonnet-4-5",
                    "api_base": anthropic.url,
                    "api_key": UPSTREAM_KEY,
                    **params,
                },
            }
        )
    if openai is not None:
        models.append(
            {
                "model_name": "gpt",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": openai.base_url, "api_key": "sk-openai-up"},
            }
        )
    return {"model_list": models, "general_settings": {"master_key": MASTER}, **extra}


@pytest.fixture
def start(
    gateway_factory: Callable[..., RunningGateway], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., RunningGateway]:
    """Start a gateway with only this plugin and the OpenAI provider loaded."""
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "anthropic,openai")

    def run(cfg: dict[str, Any], **kwargs: Any) -> RunningGateway:
        return gateway_factory(cfg, **kwargs)

    return run


@pytest.fixture
def claude(start: Callable[..., RunningGateway], anthropic_server: FakeAnthropic) -> RunningGateway:
    return start(config(anthropic_server))


@pytest.fixture
def make_config() -> Callable[..., dict[str, Any]]:
    """The :func:`config` builder, for tests that need their own deployment settings."""
    return config
