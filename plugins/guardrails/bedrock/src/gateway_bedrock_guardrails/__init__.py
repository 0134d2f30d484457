"""gateway-bedrock-guardrails: Amazon Bedrock Guardrails as a gateway guardrail (type ``bedrock``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import BedrockGuard

__all__ = ["BedrockGuard"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("bedrock", BedrockGuard)
