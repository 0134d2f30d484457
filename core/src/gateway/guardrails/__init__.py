"""Guardrails: checks on what goes to a model and what comes back (PII masking, jailbreaks ...).

The framework lives here; guardrail *types* come from plugins (``gateway-presidio``,
``gateway-lakera`` ...) that register a :class:`Guardrail` subclass through the
``gateway_register_guardrails`` hook.  Configuration is LiteLLM's top-level ``guardrails:``
list; see ``README.md`` beside this file for modes, selection, streaming policies, failure
policies and what is recorded in the log event.
"""

from gateway.guardrails._base import (
    Guardrail,
    GuardrailConfigError,
    GuardrailResult,
    GuardrailSpec,
    GuardrailUnavailable,
    NoParams,
    OutputRewriter,
    TextBatch,
)
from gateway.guardrails._logview import LoggedView, logged_view
from gateway.guardrails._placeholders import PlaceholderRestorer
from gateway.guardrails._plugin import configured_guardrails
from gateway.guardrails._runner import ANNOTATION, GuardrailBlocked, GuardrailFailed
from gateway.guardrails._settings import MODES, GuardrailSettings
from gateway.guardrails._vendor import api_key, base_url, expect, post_json

__all__ = [
    "Guardrail",
    "GuardrailResult",
    "GuardrailConfigError",
    "GuardrailSpec",
    "GuardrailSettings",
    "GuardrailUnavailable",
    "GuardrailBlocked",
    "GuardrailFailed",
    "NoParams",
    "OutputRewriter",
    "TextBatch",
    "PlaceholderRestorer",
    "LoggedView",
    "logged_view",
    "ANNOTATION",
    "configured_guardrails",
    "MODES",
    "post_json",
    "base_url",
    "api_key",
    "expect",
]
