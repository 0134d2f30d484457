"""gateway-guardrails-ai: a guard on a Guardrails AI server as a gateway guardrail (type ``guardrails_ai``).

API (guardrails-ai/guardrails-api-client ``service-specs/guardrails-service-spec.yml``):
``POST {api_base}/guards/{guard_name}/validate`` with ``{"llmOutput": text, "numReasks"?}``,
answering a ValidationOutcome ``{"callId", "rawLlmOutput", "validatedOutput",
"validationPassed", "reask"?, "error"?}``.  A guard whose validators use ``on_fail: exception``
answers HTTP 400 with the validation error instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import GuardrailsAIGuard, GuardrailsAIParams

__all__ = ["GuardrailsAIGuard", "GuardrailsAIParams"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("guardrails_ai", GuardrailsAIGuard)
