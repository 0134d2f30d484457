"""gateway-content-filter: a local guardrail of keywords, regexes and blocked topics.

Registers the guardrail types ``content_filter`` and ``litellm_content_filter`` (LiteLLM's name
for its built-in filter, whose ``patterns`` / ``blocked_words`` shape is accepted unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import hookimpl

from .guardrail import ContentFilter

__all__ = ["ContentFilter"]


@hookimpl
def gateway_register_guardrails(register: Callable[[str, Any], None]) -> None:
    register("content_filter", ContentFilter)
    register("litellm_content_filter", ContentFilter)
