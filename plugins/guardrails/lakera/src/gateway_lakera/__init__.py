"""gateway-lakera: Lakera Guard as a gateway guardrail (types ``lakera`` and ``lakera_v2``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import LakeraGuard

__all__ = ["LakeraGuard"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("lakera", LakeraGuard)
    register("lakera_v2", LakeraGuard)
