"""gateway-bedrock: Amazon Bedrock models (Converse API) behind the gateway's OpenAI-compatible API."""

from __future__ import annotations

from typing import Any

from gateway import hookimpl

from .provider import BedrockProvider

__all__ = ["BedrockProvider"]

#: the plugin's name when registered explicitly (tests), same as its entry-point name
gateway_plugin_name = "bedrock"


@hookimpl
def gateway_register_providers(register: Any) -> None:
    register("bedrock", BedrockProvider())
