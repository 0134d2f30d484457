"""What the tests share (a module, not conftest: tests import it)."""

from __future__ import annotations

from typing import Any

from gateway_anthropic.testing import FakeAnthropic

from gateway.testing import FakeUpstream

MASTER = "sk-test-master"
UPSTREAM_KEY = "sk-ant-test"
MOCK_REPLY = "Hello from the mock gpt-4o!"


def config(
    database_url: str, anthropic: FakeAnthropic | None = None, openai: FakeUpstream | None = None, **extra: Any
) -> dict[str, Any]:
    """``mock`` -> the mock provider; ``claude`` -> the fake Anthropic server; ``gpt`` -> the OpenAI-format upstream."""
    models: list[dict[str, Any]] = [
        {"model_name": "mock", "litellm_params": {"model": "mock/gpt-4o", "mock_response": MOCK_REPLY}}
    ]
    if anthropic is not None:
        models.append({"model_name": "claude", "litellm_params": {
            "model": "anthropic/claude-sonnet-4-5", "api_base": anthropic.url, "api_key": UPSTREAM_KEY}})  # fmt: skip
    if openai is not None:
        models.append({"model_name": "gpt", "litellm_params": {
            "model": "openai/gpt-4o", "api_base": openai.base_url, "api_key": "sk-openai-up"}})  # fmt: skip
    settings = {"master_key": MASTER, "database_url": database_url, **extra.pop("general_settings", {})}
    return {"model_list": models, "general_settings": settings, **extra}
