"""gateway-anthropic: ``anthropic/<model>`` deployments and the Anthropic-format ``POST /v1/messages``."""

from __future__ import annotations

from typing import Any

from gateway import hookimpl

from .provider import AnthropicProvider

__all__ = ["AnthropicProvider"]


@hookimpl
def gateway_register_providers(register: Any) -> None:
    register("anthropic", AnthropicProvider())


@hookimpl
def gateway_register_surfaces(register: Any) -> None:
    from .surface import MessagesSurface

    register(MessagesSurface())
