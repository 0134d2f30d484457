"""The ``litellm_params`` keys every guardrail understands, whatever its type.

Anything else in an entry's ``litellm_params`` is provider-specific and validated against the
guardrail type's own ``params_model``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MODES = ("pre_call", "during_call", "post_call", "logging_only")
#: LiteLLM modes for MCP and realtime traffic; accepted, but they never fire on the routes served here
INERT_MODES = frozenset({"pre_mcp_call", "during_mcp_call", "post_mcp_call", "realtime_input_transcription"})


#: the distribution that provides each well-known guardrail type (for "install X" messages)
class GuardrailSettings(BaseModel):
    """Common ``guardrails[].litellm_params`` keys (the framework reads these)."""

    model_config = ConfigDict(extra="forbid")

    guardrail: str
    #: one mode, or a list of modes, from ``MODES``
    mode: list[str] = Field(default_factory=lambda: ["pre_call"])
    #: run on every request without being asked
    default_on: bool = False
    api_key: str | None = None
    api_base: str | None = None
    #: seconds one check may take before the failure policy applies
    timeout: float = Field(default=10.0, gt=0)
    #: what happens when the guardrail cannot decide (error, timeout, malformed vendor answer)
    on_error: Literal["fail_closed", "fail_open"] = "fail_closed"
    #: post_call on streams: ``hold`` the whole answer until checked, or check each ``window``
    stream_policy: Literal["hold", "window"] = "hold"
    #: characters of new text per window for ``stream_policy: window``
    stream_window_chars: int = Field(default=400, ge=1)
    #: requests with images, audio or files: ``pass`` them through unchecked, or ``block`` them
    non_text: Literal["pass", "block"] = "pass"
    #: do not send system/developer messages to the guardrail
    skip_system_message_in_guardrail: bool = False
    #: check only the last user message instead of the whole conversation
    experimental_use_latest_role_message_only: bool = False
    #: message of a block; ``{guardrail_name}``, ``{mode}`` and ``{reason}`` are filled in
    violation_message_template: str | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _modes(cls, value: Any) -> list[str]:
        if isinstance(value, dict):
            raise ValueError(
                "tag-based modes ({tags: ..., default: ...}) are not supported; give one mode or a list of modes "
                f"from {', '.join(MODES)}"
            )
        modes = [value] if isinstance(value, str) else value
        if not isinstance(modes, list) or not modes:
            raise ValueError(f"must be one of {', '.join(MODES)}, or a list of them")
        for mode in modes:
            if mode not in MODES and mode not in INERT_MODES:
                raise ValueError(f"{mode!r} is not a mode; use one of {', '.join(MODES)}")
        return [m for m in modes if m in MODES]


COMMON_KEYS = frozenset(GuardrailSettings.model_fields)
