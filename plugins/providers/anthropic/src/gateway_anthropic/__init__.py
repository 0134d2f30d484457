"""gateway-anthropic: ``anthropic/<model>`` deployments, the Anthropic-format ``POST /v1/messages`` and
``POST /v1/messages/count_tokens``."""

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


@hookimpl
def gateway_register_routes(gateway: Any) -> list[Any]:
    from .count_tokens import count_tokens_route

    return [count_tokens_route(gateway)]
