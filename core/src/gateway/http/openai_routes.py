"""The OpenAI-compatible endpoints: chat completions, completions, embeddings, models."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import pipeline
from ..errors import ClientDisconnectedError, GatewayError
from ..types import Endpoint, RequestContext, StreamResponseBody
from .admin import authenticate_request
from .asgi import ClientGone, id_headers, model_request_context, receive_body, run_until_disconnect, send_bytes
from .requests import extract_api_key, parse_json_object
from .responses import (
    error_headers,
    error_response,
    internal_error,
    json_response,
    openai_sse,
    response_headers,
    sse_response,
)
from ..chat._openai_checks import validate_chat, validate_completion, validate_embeddings

if TYPE_CHECKING:
    from ..gateway import Gateway

Validator = Callable[[dict[str, Any]], str]


class ModelEndpoint:
    """One model-serving endpoint, built once at start-up and served as a raw ASGI handler."""

    def __init__(self, gateway: Gateway, endpoint: Endpoint, validate: Validator) -> None:
        self.gateway = gateway
        self.endpoint = endpoint
        self.validate = validate
        self.key_header = gateway.config.general_settings.litellm_key_header_name

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        ctx = model_request_context(scope, self.endpoint)
        headers = ctx.headers
        request_id = ctx.request_id
        id_header = id_headers(ctx)
        try:
            # authenticate before reading the body: an anonymous client cannot make us read 32 MB
            ctx.api_key = extract_api_key(headers, self.key_header)
            await pipeline.authenticate(gateway, ctx)
            raw = await receive_body(
                receive, headers.get("content-length"), gateway.max_body_bytes, gateway.request_body_timeout
            )
            ctx.body = parse_json_object(raw)
            ctx.requested_model = self.validate(ctx.body)
            ctx.stream = bool(ctx.body.get("stream")) and self.endpoint != "embeddings"
            response = await run_until_disconnect(gateway, ctx, receive)
        except GatewayError as exc:
            if ctx.principal is not None:
                pipeline.finish(gateway, ctx, exc)
            await send_bytes(
                send, exc.status, exc.to_json(), {**error_headers(exc), **ctx.response_headers, **id_header}
            )
            return
        except ClientGone as gone:
            pipeline.finish(gateway, ctx, ClientDisconnectedError(str(gone)))
            return
        except Exception as exc:
            error = internal_error(exc, request_id)
            pipeline.finish(gateway, ctx, error)
            await send_bytes(send, error.status, error.to_json(), {**error_headers(error), **id_header})
            return
        out_headers = response_headers(ctx, response)
        out_headers.update(id_header)
        if isinstance(response, StreamResponseBody):
            await sse_response(self._stream(ctx, response), out_headers)(scope, receive, send)
            return
        ctx.status = response.status
        try:
            await send_bytes(send, response.status, response.raw, out_headers)
        finally:
            pipeline.finish(gateway, ctx)

    async def _stream(self, ctx: RequestContext, response: StreamResponseBody) -> AsyncIterator[bytes]:
        options = ctx.body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        error: GatewayError | None = None

        def on_error(exc: BaseException) -> GatewayError:
            nonlocal error
            error = exc if isinstance(exc, GatewayError) else internal_error(exc, ctx.request_id)
            return error

        try:
            async for event in openai_sse(response.chunks, include_usage=include_usage, on_error=on_error):
                yield event
        except BaseException:  # the client went away (cancellation): stop reading upstream, record it
            error = ClientDisconnectedError("the client disconnected before the stream ended")
            raise
        finally:
            await response.aclose()
            pipeline.finish(self.gateway, ctx, error)


def models_endpoint(gateway: Gateway) -> Callable[[Request], Any]:
    created = int(time.time())
    owners = {name: group[0].provider for name, group in gateway.router.groups.items()}

    async def list_models(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        data = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": owners.get(gateway.resolve_model(name, principal), "gateway"),
            }
            for name in gateway.model_names_for(principal)
        ]
        return json_response({"object": "list", "data": data})

    return list_models


def model_endpoints(gateway: Gateway) -> dict[str, ASGIApp]:
    """``path -> raw ASGI handler`` for the POST model routes (served before Starlette's router)."""
    handlers = {
        "chat/completions": ModelEndpoint(gateway, "chat", validate_chat).asgi,
        "completions": ModelEndpoint(gateway, "completions", validate_completion).asgi,
        "embeddings": ModelEndpoint(gateway, "embeddings", validate_embeddings).asgi,
    }
    return {f"{prefix}/{path}": handler for prefix in ("/v1", "") for path, handler in handlers.items()}


def openai_routes(gateway: Gateway) -> list[Route]:
    """Starlette routes: GET /v1/models, and the model routes' paths so that no plugin can claim them
    (POST requests to those paths never reach Starlette: see ``model_endpoints``)."""

    async def served_by_fast_path(request: Request) -> Response:  # pragma: no cover - intercepted earlier
        raise RuntimeError("model routes are served by the ASGI fast path")

    models = models_endpoint(gateway)
    routes = []
    for prefix in ("/v1", ""):
        routes.append(Route(f"{prefix}/models", models, methods=["GET"]))
        for path in ("chat/completions", "completions", "embeddings"):
            routes.append(Route(f"{prefix}/{path}", served_by_fast_path, methods=["POST"]))
    return routes
