from __future__ import annotations

from typing import Any

import pytest

from gateway.testing import FakeUpstream

MASTER = "sk-test-master"


def openai_config(upstream: FakeUpstream, **extra: Any) -> dict[str, Any]:
    """A config with one OpenAI-format deployment pointing at the fake upstream."""
    config: dict[str, Any] = {
        "model_list": [
            {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"}},
            {"model_name": "text-embedding-3-small",
             "litellm_params": {"model": "openai/text-embedding-3-small", "api_base": upstream.base_url, "api_key": "sk-up"}},
        ],
        "general_settings": {"master_key": MASTER},
    }
    for key, value in extra.items():
        config.setdefault(key, {}).update(value) if isinstance(value, dict) else config.__setitem__(key, value)
    return config


@pytest.fixture
def proxy(fake_upstream: FakeUpstream, gateway_factory: Any) -> Any:
    return gateway_factory(openai_config(fake_upstream))
