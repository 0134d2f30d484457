"""``POST /v1/messages``: the Anthropic-format endpoint, served by any configured model.

The request is translated to an OpenAI chat body and goes through the same pipeline as
``/v1/chat/completions`` (auth, pre_call, route, call with retries and fallbacks, post_call, log);
the answer is translated back.  Errors use Anthropic's envelope
(https://docs.anthropic.com/en/api/errors) so the ``anthropic`` SDK raises its usual exceptions.

``ctx.endpoint`` is ``"chat"`` and ``ctx.body`` the translated OpenAI body, so every plugin that
understands chat requests (budgets, guardrails, pricing, routers) works unchanged; plugins can tell
these requests apart by ``ctx.state["anthropic"]["inbound"]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import pipeline
from gateway.errors import GatewayError
from gateway.http import json_response, parse_json_object, read_body
from gateway.http.requests import extract_api_key
from gateway.http.responses import sse_response
from gateway.types import JSONResponseBody, RequestContext, StreamResponseBody

from .extras import STATE_KEY
from .messages_request import openai_body_from_messages
from .messages_response import EventTranslator, error_event, message_from_completion
from .wire import anthropic_error_type, error_body

if TYPE_CHECKING:
    from gateway import Gateway


class ClientGone(GatewayError):
    """Recorded (never sent) when the client disconnects mid-stream."""

    status = 499
    type = "client_disconnected"


def anthropic_error_response(error: GatewayError, headers: dict[str, str] | None = None) -> Response:
    body = error_body(anthropic_error_type(error.status, error.type), error.message)
    return json_response(body, status=error.status, headers={**error.headers, **(headers or {})})


def _internal(exc: BaseException, request_id: str) -> GatewayError:
    import structlog

    structlog.get_logger("gateway.anthropic").error(
        "unhandled_error", route="/v1/messages", error=f"{type(exc).__name__}: {exc}", request_id=request_id, exc_info=exc
    )
    return GatewayError(f"internal error while serving request {request_id}; the gateway's log has the details")


async def close_stream(response: StreamResponseBody) -> None:
    """Stop reading upstream and run the callbacks registered with ``on_close``."""
    aclose = getattr(response.chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing must not mask what ended the stream
            pass
    for callback in getattr(response, "_closers", ()):
        result = callback()
        if hasattr(result, "__await__"):
            await result


class MessagesEndpoint:
    """The Starlette endpoint, built once per gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.key_header = gateway.config.general_settings.litellm_key_header_name

    async def handle(self, request: Request) -> Response:
        gateway = self.gateway
        request_id = request.scope["state"]["request_id"]
        ctx: RequestContext | None = None
        try:
            ctx = RequestContext(
                request_id=request_id, endpoint="chat", body={}, headers=request.headers,
                client_ip=request.client.host if request.client else None,
            )
            # authenticate before reading the body, as the OpenAI routes do
            ctx.api_key = extract_api_key(request.headers, self.key_header)
            await pipeline.authenticate(gateway, ctx)
            incoming = parse_json_object(await read_body(request, gateway.max_body_bytes))
            ctx.body, extras = openai_body_from_messages(
                incoming, drop_params=bool(gateway.drop_params), response_headers=ctx.response_headers
            )
            ctx.state[STATE_KEY] = {"inbound": True, "extras": extras}
            ctx.requested_model = ctx.body["model"]
            ctx.stream = bool(ctx.body.get("stream"))
            response = await pipeline.run(gateway, ctx)
        except GatewayError as exc:
            if ctx is not None and ctx.principal is not None:
                pipeline.finish(gateway, ctx, exc)
            return anthropic_error_response(exc, ctx.response_headers if ctx else None)
        except Exception as exc:
            error = _internal(exc, request_id)
            if ctx is not None:
                pipeline.finish(gateway, ctx, error)
            return anthropic_error_response(error)
        headers = self._headers(ctx, response)
        if isinstance(response, StreamResponseBody):
            return sse_response(self._events(ctx, response), headers, None)
        return self._json(ctx, response, headers)

    def _json(self, ctx: RequestContext, response: JSONResponseBody, headers: dict[str, str]) -> Response:
        background = BackgroundTask(self._finish, ctx)  # async: finish must run on the event loop, not a thread
        data = response.data
        if response.status != 200:
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            error = GatewayError(str(err.get("message") or "the upstream failed"), status=response.status,
                                 type=err.get("type") if isinstance(err.get("type"), str) else None)
            ctx.status = response.status
            body = error_body(anthropic_error_type(error.status, error.type), error.message)
            return json_response(body, status=response.status, headers=headers, background=background)
        return json_response(message_from_completion(data), headers=headers, background=background)

    async def _finish(self, ctx: RequestContext) -> None:
        pipeline.finish(self.gateway, ctx)

    def _headers(self, ctx: RequestContext, response: JSONResponseBody | StreamResponseBody) -> dict[str, str]:
        headers = dict(response.headers)
        deployment = ctx.deployment
        if deployment is not None:
            headers["x-litellm-model-id"] = deployment.id
            headers["x-litellm-model-group"] = deployment.model_group
            headers["x-gateway-provider"] = deployment.provider
        headers.update(ctx.response_headers)
        return headers

    async def _events(self, ctx: RequestContext, response: StreamResponseBody) -> AsyncIterator[bytes]:
        translator = EventTranslator(ctx.requested_model)
        error: GatewayError | None = None
        try:
            try:
                async for chunk in response.chunks:
                    for event in translator.feed(chunk):
                        yield event
                for event in translator.finish():
                    yield event
            except Exception as exc:  # upstream failure or a bug: end the stream with an error event
                error = exc if isinstance(exc, GatewayError) else _internal(exc, ctx.request_id)
                yield error_event(anthropic_error_type(error.status, error.type), error.message)
        except BaseException:  # the client went away (cancellation): stop reading upstream, record it
            error = ClientGone("the client disconnected before the stream ended")
            raise
        finally:
            await close_stream(response)
            pipeline.finish(self.gateway, ctx, error)


def messages_routes(gateway: Gateway) -> list[Any]:
    endpoint = MessagesEndpoint(gateway)
    return [Route("/v1/messages", endpoint.handle, methods=["POST"])]
