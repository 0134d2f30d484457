"""Building answers: JSON bodies, OpenAI-shaped errors, and SSE streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway._errors import GatewayError, UpstreamError
from gateway._logs import get_logger
from gateway._types import JSONResponseBody, RequestContext, StreamResponseBody

log = get_logger("gateway.http")


class JSONBytesResponse(Response):
    media_type = "application/json"


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None, background: BackgroundTask | None = None
) -> Response:
    return JSONBytesResponse(orjson.dumps(data), status_code=status, headers=headers, background=background)


def error_headers(error: GatewayError) -> dict[str, str]:
    """The headers an error answer carries: its own (``retry-after`` ...), plus ``Connection:
    close`` on a 500 of the gateway's own (a bug, a plugin that raised; not an upstream's failure
    passed on): the client opens a new connection instead of reusing one the failed request may
    have left in any state, and the server closes it cleanly after the answer."""
    if error.status == 500 and not isinstance(error, UpstreamError):
        return {**error.headers, "connection": "close"}
    return error.headers


def error_response(error: GatewayError, headers: Mapping[str, str] | None = None) -> Response:
    merged = {**error_headers(error), **(headers or {})}
    return JSONBytesResponse(error.to_json(), status_code=error.status, headers=merged)


def internal_error(exc: BaseException, request_id: str) -> GatewayError:
    log.error("unhandled_error", error=f"{type(exc).__name__}: {exc}", request_id=request_id, exc_info=exc)
    return GatewayError(f"internal error while serving request {request_id}; the gateway's log has the details")


def response_headers(ctx: RequestContext, response: JSONResponseBody | StreamResponseBody) -> dict[str, str]:
    """The headers a model answer carries: the provider's, which deployment served it, and the plugins'."""
    headers = dict(response.headers)
    deployment = ctx.deployment
    if deployment is not None:
        headers["x-litellm-model-id"] = deployment.id
        headers["x-litellm-model-group"] = deployment.model_group
    headers.update(ctx.response_headers)
    return headers


def sse_response(body: AsyncIterator[bytes], headers: Mapping[str, str]) -> Response:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **headers},
    )
