"""gateway-aporia: Aporia Guardrails as a gateway guardrail (type ``aporia``).

API: ``POST {project URL}/validate`` with ``X-APORIA-API-KEY``; body ``{"messages",
"validation_target": "prompt"|"response"|"both", "response"?}``; answer ``{"action":
"passthrough"|"block"|"modify"|"rephrase"|"override", "revised_response", "explain_log",
"policy_execution_result"}`` (Aporia's Guardrails REST API docs, as used by LiteLLM's
``aporia_ai.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import AporiaGuard, AporiaParams

__all__ = ["AporiaGuard", "AporiaParams"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("aporia", AporiaGuard)
