"""gateway-presidio: PII masking and blocking with Microsoft Presidio (guardrail type ``presidio``).

Presidio itself is imported lazily, when a ``presidio`` guardrail starts, never at plugin import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import PresidioGuardrail

__all__ = ["PresidioGuardrail"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("presidio", PresidioGuardrail)
