"""A deployment's default request parameters (``litellm_params.temperature`` ...), as LiteLLM
applies them: every call to the deployment gets them unless the client set its own.

They are set on the typed request just before the deployment is called, so every provider's
encoder sends them in its own form.  A retry on another deployment first takes back what the
previous one set, so defaults never leak from one deployment to the next.  Decided once per
deployment at start-up; a request to a deployment without defaults pays one dict lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.chat import ModelRequest

#: ``litellm_params`` keys that are request defaults, and the typed request field each sets
DEFAULT_FIELDS = {
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "reasoning_effort": "reasoning_effort",
}


def deployment_defaults(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The typed request fields a deployment sets by default, or None when it sets none."""
    found: dict[str, Any] = {}
    for key, field in DEFAULT_FIELDS.items():
        value = params.get(key)
        if value is not None:
            found[field] = [value] if field == "stop" and isinstance(value, str) else value
    return found or None


def apply_defaults(request: ModelRequest | None, defaults: Mapping[str, Any] | None, applied: list[str]) -> None:
    """Take back the fields ``applied`` lists (set for another deployment), then set this
    deployment's defaults on the fields the client left unset, recording them in ``applied``."""
    if request is None:
        return
    for field in applied:
        setattr(request, field, None)
    applied.clear()
    for field, value in (defaults or {}).items():
        if getattr(request, field, value) is None:  # a field this kind of request has, and the client left unset
            setattr(request, field, value)
            applied.append(field)
