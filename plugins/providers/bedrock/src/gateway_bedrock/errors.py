"""Bedrock errors -> the OpenAI-shaped error the client sees.

Bedrock names the error in the ``x-amzn-ErrorType`` response header (``ThrottlingException:http://...``)
with ``{"message": ...}`` as the body; inside a ConverseStream it is an ``exception`` message whose
``:exception-type`` header is the camel-cased name (``throttlingException``).  Error list:
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
and https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway import UpstreamError, UpstreamTimeoutError
from gateway.upstream import upstream_status_error

PROVIDER = "bedrock"

#: lower-cased exception name -> (client status, error type, retry on another deployment)
EXCEPTIONS: dict[str, tuple[int, str, bool]] = {
    "validationexception": (400, "invalid_request_error", False),
    "resourcenotfoundexception": (404, "not_found_error", False),
    "throttlingexception": (429, "rate_limit_error", True),
    "servicequotaexceededexception": (429, "rate_limit_error", True),
    "modelnotreadyexception": (503, "service_unavailable", True),
    "serviceunavailableexception": (503, "service_unavailable", True),
    "internalserverexception": (500, "upstream_error", True),
    "modelerrorexception": (502, "upstream_error", True),
    "modelstreamerrorexception": (502, "upstream_error", True),
    # the gateway's AWS identity is refused: nothing the client can fix, so a gateway-side 502
    "accessdeniedexception": (502, "upstream_auth_error", True),
    "unrecognizedclientexception": (502, "upstream_auth_error", True),
    "invalidsignatureexception": (502, "upstream_auth_error", True),
    "expiredtokenexception": (502, "upstream_auth_error", True),
}


def message_of(payload: bytes) -> str:
    try:
        data: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload[:500].decode("utf-8", errors="replace").strip() or "(empty body)"
    if isinstance(data, Mapping):
        return str(data.get("message") or data.get("Message") or data)[:2000]
    return str(data)[:2000]


def exception_error(
    name: str, message: str, http_status: int | None = None, retry_after: str | None = None
) -> UpstreamError:
    """The client's error for a named Bedrock exception (``http_status`` decides when the name is unknown)."""
    text = f"{PROVIDER} returned {name}" + (f" (HTTP {http_status})" if http_status else "") + f": {message}"
    if name.lower() == "modeltimeoutexception":
        return UpstreamTimeoutError(text, upstream_status=http_status)
    known = EXCEPTIONS.get(name.lower())
    if known is None:
        return upstream_status_error(
            PROVIDER, http_status or 502, f"{name}: {message}" if name else message, retry_after=retry_after
        )
    status, kind, retryable = known
    headers = {"retry-after": retry_after} if retry_after and status in (429, 503) else None
    return UpstreamError(
        text, status=status, type=kind, upstream_status=http_status, retryable=retryable, headers=headers
    )


def http_error(status: int, headers: Mapping[str, str], payload: bytes) -> UpstreamError:
    """The error for a non-2xx Converse / ConverseStream answer."""
    name = (headers.get("x-amzn-errortype") or "").split(":", 1)[0]
    if not name:
        try:
            data = orjson.loads(payload)
            name = str(data.get("__type", "")).rsplit("#", 1)[-1] if isinstance(data, dict) else ""
        except orjson.JSONDecodeError:
            name = ""
    return exception_error(name, message_of(payload), status, headers.get("retry-after"))
