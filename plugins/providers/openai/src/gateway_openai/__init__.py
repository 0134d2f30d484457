"""gateway-openai: OpenAI, Azure OpenAI and OpenAI-compatible providers for the gateway."""

from __future__ import annotations

from typing import Any

from gateway import hookimpl

from .provider import COMPATIBLE, PREFIXES, OpenAIProvider

__all__ = ["OpenAIProvider", "COMPATIBLE", "PREFIXES"]


@hookimpl
def gateway_register_providers(register: Any) -> None:
    for prefix in PREFIXES:
        register(prefix, OpenAIProvider(prefix))


@hookimpl
def gateway_config_keys() -> list[str]:
    """The LiteLLM config keys this plugin implements (forwarding a client's OpenAI-Organization header)."""
    return [
        "general_settings.forward_openai_org_id",
    ]
