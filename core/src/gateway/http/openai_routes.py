"""The OpenAI-compatible endpoints: chat completions, completions, embeddings, models."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import pipeline
from ..errors import GatewayError
from ..types import Endpoint, JSONResponseBody, RequestContext, StreamResponseBody
from .requests import extract_api_key, parse_json_object, read_body
from .responses import error_response, internal_error, json_response, openai_sse, sse_response
from .validation import validate_chat, validate_completion, validate_embeddings

if TYPE_CHECKING:
    from ..gateway import Gateway

Validator = Callable[[dict[str, Any]], str]


class ClientDisconnected(GatewayError):
    """Recorded (never sent) when a client goes away mid-stream; 499 as nginx logs it."""

    status = 499
    type = "client_disconnected"


def request_context(request: Request, gateway: Gateway, endpoint: Endpoint, body: dict[str, Any]) -> RequestContext:
    headers = request.headers
    return RequestContext(
        request_id=request.scope["state"]["request_id"],
        endpoint=endpoint,
        body=body,
        headers=headers,
        client_ip=request.client.host if request.client else None,
    )


class ModelEndpoint:
    """One model-serving endpoint; an ASGI-style Starlette endpoint built once at start-up."""

    def __init__(self, gateway: Gateway, endpoint: Endpoint, validate: Validator) -> None:
        self.gateway = gateway
        self.endpoint = endpoint
        self.validate = validate
        self.key_header = gateway.config.general_settings.litellm_key_header_name

    async def handle(self, request: Request) -> Response:
        gateway = self.gateway
        ctx: RequestContext | None = None
        try:
            # authenticate before reading the body: an anonymous client cannot make us read 32 MB
            api_key = extract_api_key(request.headers, self.key_header)
            ctx = request_context(request, gateway, self.endpoint, {})
            ctx.api_key = api_key
            await pipeline.authenticate(gateway, ctx)
            ctx.body = parse_json_object(await read_body(request, gateway.max_body_bytes))
            ctx.requested_model = self.validate(ctx.body)
            ctx.stream = bool(ctx.body.get("stream")) and self.endpoint != "embeddings"
            response = await pipeline.run(gateway, ctx)
        except GatewayError as exc:
            if ctx is not None and ctx.principal is not None:
                pipeline.finish(gateway, ctx, exc)
            return error_response(exc, ctx.response_headers if ctx else None)
        except Exception as exc:
            rid = request.scope["state"]["request_id"]
            error = internal_error(exc, rid)
            if ctx is not None:
                pipeline.finish(gateway, ctx, error)
            return error_response(error)
        headers = self._headers(ctx, response)
        if isinstance(response, StreamResponseBody):
            return sse_response(self._stream(ctx, response), headers, None)
        ctx.status = response.status
        return Response(
            response.raw,
            status_code=response.status,
            headers=headers,
            media_type="application/json",
            background=BackgroundTask(self._finish, ctx),
        )

    def _headers(self, ctx: RequestContext, response: JSONResponseBody | StreamResponseBody) -> dict[str, str]:
        headers = dict(response.headers)
        deployment = ctx.deployment
        if deployment is not None:
            headers["x-litellm-model-id"] = deployment.id
            headers["x-litellm-model-group"] = deployment.model_group
            headers["x-gateway-provider"] = deployment.provider
        headers.update(ctx.response_headers)
        return headers

    async def _finish(self, ctx: RequestContext) -> None:
        pipeline.finish(self.gateway, ctx)

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
            error = ClientDisconnected("the client disconnected before the stream ended")
            raise
        finally:
            await _close_stream(response)
            pipeline.finish(self.gateway, ctx, error)


async def _close_stream(response: StreamResponseBody) -> None:
    aclose = getattr(response.chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing must not mask what ended the stream
            pass
    for callback in response._closers:
        result = callback()
        if hasattr(result, "__await__"):
            await result


def models_endpoint(gateway: Gateway) -> Callable[[Request], Any]:
    created = int(time.time())
    owners = {name: group[0].provider for name, group in gateway.router.groups.items()}
    key_header = gateway.config.general_settings.litellm_key_header_name

    async def list_models(request: Request) -> Response:
        try:
            ctx = request_context(request, gateway, "chat", {})
            ctx.api_key = extract_api_key(request.headers, key_header)
            principal = await pipeline.authenticate(gateway, ctx)
        except GatewayError as exc:
            return error_response(exc)
        data = [
            {"id": name, "object": "model", "created": created, "owned_by": owners.get(gateway.resolve_model(name, principal), "gateway")}
            for name in gateway.model_names_for(principal)
        ]
        return json_response({"object": "list", "data": data})

    return list_models


def openai_routes(gateway: Gateway) -> list[Route]:
    chat = ModelEndpoint(gateway, "chat", validate_chat)
    completions = ModelEndpoint(gateway, "completions", validate_completion)
    embeddings = ModelEndpoint(gateway, "embeddings", validate_embeddings)
    models = models_endpoint(gateway)
    routes = []
    for prefix in ("/v1", ""):
        routes += [
            Route(f"{prefix}/chat/completions", chat.handle, methods=["POST"]),
            Route(f"{prefix}/completions", completions.handle, methods=["POST"]),
            Route(f"{prefix}/embeddings", embeddings.handle, methods=["POST"]),
            Route(f"{prefix}/models", models, methods=["GET"]),
        ]
    return routes
