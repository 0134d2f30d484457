"""gateway-gemini: Google Gemini (AI Studio) models behind the gateway's OpenAI-compatible API."""

from __future__ import annotations

from typing import Any

from gateway import hookimpl

from .provider import GeminiProvider

__all__ = ["GeminiProvider"]

#: the plugin's name when registered explicitly (tests), same as its entry-point name
gateway_plugin_name = "gemini"


@hookimpl
def gateway_register_providers(register: Any) -> None:
    register("gemini", GeminiProvider())
