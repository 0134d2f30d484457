"""gateway-azure-content-safety: Azure AI Content Safety guardrails.

Types: ``azure/content_safety`` (also LiteLLM's ``azure/text_moderations``): ``text:analyze`` with
per-category severity thresholds and blocklists; ``azure/prompt_shield``: ``text:shieldPrompt``
for jailbreak and indirect prompt attacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import ContentSafetyGuard, PromptShieldGuard

__all__ = ["ContentSafetyGuard", "PromptShieldGuard"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("azure/content_safety", ContentSafetyGuard)
    register("azure/text_moderations", ContentSafetyGuard)
    register("azure/prompt_shield", PromptShieldGuard)
