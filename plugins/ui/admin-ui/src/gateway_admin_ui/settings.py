"""``plugins.admin_ui``: how long a UI session lasts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from gateway.durations import DurationError, parse_duration


class AdminUISettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: a session ends this long after its login (LiteLLM's units: ``30m``, ``12h``, ``7d``); logging
    #: out, or the key being blocked or deleted, ends it sooner (the API refuses the key)
    session_ttl: str = "12h"

    @field_validator("session_ttl")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            parse_duration(value, "session_ttl")
        except DurationError as exc:  # pydantic names the field already
            raise ValueError(exc.reason) from None
        return value
