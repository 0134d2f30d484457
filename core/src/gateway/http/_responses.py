"""Building answers: JSON bodies, OpenAI-shaped errors, and SSE streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway._errors import GatewayError, UpstreamError
from gateway._logs import get_logger
from gateway._sse import DONE, encode_data
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


def stream_error_event(error: GatewayError) -> bytes:
    """An error in the middle of a stream: one ``data: {"error": ...}`` event (the OpenAI SDK raises it)."""
    return encode_data(error.to_dict())


async def openai_sse(
    chunks: AsyncIterator[dict[str, Any]],
    *,
    include_usage: bool,
    on_error: Callable[[BaseException], GatewayError],
) -> AsyncIterator[bytes]:
    """OpenAI chunks to SSE bytes, ending with ``[DONE]`` (or an error event, then ``[DONE]``).

    Providers always ask their upstream for usage (the gateway needs it for accounting); when the
    client did not ask for it (``stream_options.include_usage``), usage is taken out again here.
    """
    try:
        async for chunk in chunks:
            if not include_usage and "usage" in chunk:
                if not chunk.get("choices"):
                    continue
                chunk = {k: v for k, v in chunk.items() if k != "usage"}
            yield encode_data(chunk)
    except Exception as exc:  # upstream failure, or a provider/plugin bug: end the stream cleanly, with a reason
        yield stream_error_event(on_error(exc))
    yield DONE


def sse_response(body: AsyncIterator[bytes], headers: Mapping[str, str]) -> Response:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **headers},
    )
