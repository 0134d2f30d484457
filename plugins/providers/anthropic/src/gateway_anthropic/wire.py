"""The Anthropic Messages API's vocabulary, in one place, with the page each fact comes from.

* Messages API (request and response shapes): https://docs.anthropic.com/en/api/messages
* Streaming events: https://docs.anthropic.com/en/docs/build-with-claude/streaming
* Errors (status codes, ``error.type``, the envelope): https://docs.anthropic.com/en/api/errors
* Stop reasons: https://docs.anthropic.com/en/api/handling-stop-reasons
* Images (media types, ``base64`` / ``url`` sources): https://docs.anthropic.com/en/docs/build-with-claude/vision
* Versioning header: https://docs.anthropic.com/en/api/versioning
"""

from __future__ import annotations

from typing import Any

from gateway.chat import FINISH_CONTENT_FILTER, FINISH_LENGTH, FINISH_STOP, FINISH_TOOL_CALLS

PROVIDER = "anthropic"
DEFAULT_API_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
API_KEY_ENV = "ANTHROPIC_API_KEY"
#: used when neither the client nor the deployment sets ``max_tokens`` (the API requires it)
DEFAULT_MAX_TOKENS = 4096

#: image types the API accepts (vision guide)
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
#: document blocks with a base64 source (PDF support guide)
DOCUMENT_MEDIA_TYPES = frozenset({"application/pdf"})

#: Anthropic ``stop_reason`` -> OpenAI ``finish_reason``
FINISH_FROM_STOP_REASON = {
    "end_turn": FINISH_STOP,
    "stop_sequence": FINISH_STOP,
    "pause_turn": FINISH_STOP,
    "max_tokens": FINISH_LENGTH,
    "model_context_window_exceeded": FINISH_LENGTH,
    "tool_use": FINISH_TOOL_CALLS,
    "refusal": FINISH_CONTENT_FILTER,
}

#: OpenAI ``finish_reason`` -> Anthropic ``stop_reason`` (for the /v1/messages endpoint)
STOP_REASON_FROM_FINISH = {
    FINISH_STOP: "end_turn",
    FINISH_LENGTH: "max_tokens",
    FINISH_TOOL_CALLS: "tool_use",
    "function_call": "tool_use",
    FINISH_CONTENT_FILTER: "refusal",
}

#: every streaming event type the API documents; anything else is a protocol violation here
STREAM_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)

#: HTTP status -> Anthropic ``error.type`` (errors page)
ERROR_TYPE_FOR_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
#: Anthropic ``error.type`` -> HTTP status (for ``error`` events inside a stream)
STATUS_FOR_ERROR_TYPE = {v: k for k, v in ERROR_TYPE_FOR_STATUS.items()}


def error_body(error_type: str, message: str) -> dict[str, Any]:
    """Anthropic's error envelope."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def anthropic_error_type(status: int, gateway_type: str | None = None) -> str:
    """The Anthropic ``error.type`` for an error the gateway answers with ``status``."""
    if status == 503 or gateway_type in ("overloaded_error", "service_unavailable"):
        return "overloaded_error"
    found = ERROR_TYPE_FOR_STATUS.get(status)
    if found:
        return found
    if status >= 500:
        return "api_error"
    return gateway_type or "invalid_request_error"
