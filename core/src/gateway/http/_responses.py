"""Building answers: JSON bodies, OpenAI-shaped errors, and SSE streams."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway._errors import GatewayError, UpstreamError
from gateway._log_payload import public_base
from gateway._logs import get_logger
from gateway._types import Deployment, JSONResponseBody, RequestContext, StreamResponseBody

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


def _gateway_version() -> str:
    try:
        return version("gateway")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0"


#: ``x-litellm-version``: the version of this gateway (LiteLLM clients read the header's presence)
GATEWAY_VERSION = _gateway_version()


class AnswerHeaders:
    """The deployment headers LiteLLM clients read on every model answer, built once per deployment:
    ``x-litellm-model-id``, ``x-litellm-model-group``, ``x-litellm-model-api-base`` (the base URL the
    provider calls, without credentials or query; off with ``general_settings.model_api_base_header``)
    and ``x-litellm-version``.  Each deployment's are also kept encoded for the wire (:func:`answer_head`):
    the bench counted building and encoding them per request."""

    def __init__(self, providers: Any = None, *, api_base: bool = True) -> None:
        #: the gateway's provider registry (prefix -> provider), which knows each deployment's base URL
        self.providers = providers if providers is not None else {}
        self.api_base = api_base
        #: deployment id -> (the deployment they were built for, its headers)
        self._built: dict[str, tuple[Deployment, dict[str, str]]] = {}
        #: deployment id -> (the deployment, its headers as ASGI pairs, every name :func:`answer_head` sets)
        self._raw: dict[str, tuple[Deployment, list[tuple[bytes, bytes]], frozenset[str]]] = {}

    def of(self, deployment: Deployment) -> dict[str, str]:
        found = self._built.get(deployment.id)
        if found is not None and found[0] is deployment:
            return found[1]
        headers = {
            "x-litellm-model-id": deployment.id,
            "x-litellm-model-group": deployment.model_group,
            "x-litellm-version": GATEWAY_VERSION,
        }
        if self.api_base:
            provider = self.providers.get(deployment.provider)
            base = public_base(provider.api_base(deployment) if provider is not None else deployment.api_base)
            if base:
                headers["x-litellm-model-api-base"] = base
        self._built[deployment.id] = (deployment, headers)
        return headers

    def raw(self, deployment: Deployment) -> tuple[list[tuple[bytes, bytes]], frozenset[str]]:
        """:meth:`of` as ASGI header pairs, and the names the gateway sets itself on an answer from it."""
        found = self._raw.get(deployment.id)
        if found is not None and found[0] is deployment:
            return found[1], found[2]
        headers = self.of(deployment)
        pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        names = frozenset(headers).union(_TIMING_NAMES, _ID_NAMES)
        self._raw[deployment.id] = (deployment, pairs, names)
        return pairs, names


_TIMING_NAMES = ("x-litellm-response-duration-ms", "x-litellm-overhead-duration-ms")
_ID_NAMES = ("x-request-id", "x-litellm-call-id")


def _timings(ctx: RequestContext) -> tuple[str, str | None]:
    """``x-litellm-response-duration-ms`` and ``x-litellm-overhead-duration-ms`` (None without an
    upstream call): milliseconds with three decimals (fixed-point: cheaper than the shortest repr)."""
    total = (time.perf_counter() - ctx.started) * 1000
    answered, started = ctx.upstream_answered, ctx.upstream_started
    if answered is not None and started is not None:
        return f"{total:.3f}", f"{max(total - (answered - started) * 1000, 0.0):.3f}"
    return f"{total:.3f}", None


def response_headers(
    ctx: RequestContext, response: JSONResponseBody | StreamResponseBody, answer: AnswerHeaders | None = None
) -> dict[str, str]:
    """The headers a model answer carries: the provider's, which deployment served it, how long it
    took (``x-litellm-response-duration-ms``; ``x-litellm-overhead-duration-ms``: the part that was
    not the upstream's, up to the answer's head for streams), and the plugins'."""
    headers = dict(response.headers)
    deployment = ctx.deployment
    if deployment is not None:
        headers.update((answer or _DEFAULT_ANSWER).of(deployment))
    total, overhead = _timings(ctx)
    headers["x-litellm-response-duration-ms"] = total
    if overhead is not None:
        headers["x-litellm-overhead-duration-ms"] = overhead
    headers.update(ctx.response_headers)
    return headers


def answer_head(
    ctx: RequestContext,
    response: JSONResponseBody | StreamResponseBody,
    answer: AnswerHeaders,
    head: list[tuple[bytes, bytes]],
) -> list[tuple[bytes, bytes]]:
    """``head`` followed by :func:`response_headers` and the ids (:func:`id_headers`) as ASGI pairs,
    the deployment's already encoded.  Where a name would repeat (a plugin or the provider set one
    the gateway sets too), the later one wins, exactly as in the dict the general path builds."""
    deployment = ctx.deployment
    upstream, extra = response.headers, ctx.response_headers
    if deployment is not None:
        pairs, names = answer.raw(deployment)
        if names.isdisjoint(extra) and (
            not upstream or (names.isdisjoint(upstream) and extra.keys().isdisjoint(upstream))
        ):
            if upstream:
                raw = head + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in upstream.items()] + pairs
            else:
                raw = head + pairs
            total, overhead = _timings(ctx)
            raw.append((b"x-litellm-response-duration-ms", total.encode("latin-1")))
            if overhead is not None:
                raw.append((b"x-litellm-overhead-duration-ms", overhead.encode("latin-1")))
            raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
            request_id = ctx.request_id.encode("latin-1")
            client_id = ctx.client_request_id
            raw.append((b"x-request-id", client_id.encode("latin-1") if client_id else request_id))
            raw.append((b"x-litellm-call-id", request_id))
            return raw
    headers = response_headers(ctx, response, answer)
    headers["x-request-id"] = ctx.client_request_id or ctx.request_id
    headers["x-litellm-call-id"] = ctx.request_id
    return head + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


_DEFAULT_ANSWER = AnswerHeaders()


def sse_response(body: AsyncIterator[bytes], headers: Mapping[str, str]) -> Response:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", **headers},
    )
