"""gateway-mock: a deterministic mock provider (``model: mock/<name>``) and a mock server."""

from __future__ import annotations

from typing import Any

from gateway import hookimpl

from .provider import MockProvider

__all__ = ["MockProvider"]


@hookimpl
def gateway_register_providers(register: Any) -> None:
    register("mock", MockProvider())
