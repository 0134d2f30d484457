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

import orjson
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway import pipeline
from gateway.errors import ClientDisconnectedError, GatewayError
from gateway.http import (
    ClientGone,
    error_headers,
    extract_api_key,
    model_request_context,
    parse_json_object,
    receive_body,
    response_headers,
    run_until_disconnect,
    send_bytes,
    sse_response,
)
from gateway.types import JSONResponseBody, RequestContext, StreamResponseBody

from .extras import STATE_KEY
from .messages_request import openai_body_from_messages
from .messages_response import EventTranslator, error_event, message_from_completion
from .wire import anthropic_error_type, error_body

if TYPE_CHECKING:
    from gateway import Gateway


async def send_error(send: Send, error: GatewayError, headers: dict[str, str] | None = None) -> None:
    """An error in Anthropic's envelope, with the error's own headers (``retry-after``; ``Connection:
    close`` on the gateway's own 500s)."""
    body = error_body(anthropic_error_type(error.status, error.type), error.message)
    await send_bytes(send, error.status, orjson.dumps(body), {**error_headers(error), **(headers or {})})


def _internal(exc: BaseException, request_id: str) -> GatewayError:
    import structlog

    structlog.get_logger("gateway.anthropic").error(
        "unhandled_error",
        route="/v1/messages",
        error=f"{type(exc).__name__}: {exc}",
        request_id=request_id,
        exc_info=exc,
    )
    return GatewayError(f"internal error while serving request {request_id}; the gateway's log has the details")


class MessagesEndpoint:
    """A raw ASGI endpoint (no Starlette request/response objects: the same fast path as core's model routes)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.key_header = gateway.config.general_settings.litellm_key_header_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        ctx = model_request_context(scope, "chat")
        headers = ctx.headers
        request_id = ctx.request_id
        try:
            # authenticate before reading the body, as the OpenAI routes do
            ctx.api_key = extract_api_key(headers, self.key_header)
            await pipeline.authenticate(gateway, ctx)
            incoming = parse_json_object(
                await receive_body(
                    receive, headers.get("content-length"), gateway.max_body_bytes, gateway.request_body_timeout
                )
            )
            ctx.body, extras = openai_body_from_messages(
                incoming, drop_params=bool(gateway.drop_params), response_headers=ctx.response_headers
            )
            ctx.state[STATE_KEY] = {"inbound": True, "extras": extras}
            ctx.requested_model = ctx.body["model"]
            ctx.stream = bool(ctx.body.get("stream"))
            response = await run_until_disconnect(gateway, ctx, receive)
        except GatewayError as exc:
            if ctx.principal is not None:
                pipeline.finish(gateway, ctx, exc)
            await send_error(send, exc, ctx.response_headers)
            return
        except ClientGone as gone:
            pipeline.finish(gateway, ctx, ClientDisconnectedError(str(gone)))
            return
        except Exception as exc:
            error = _internal(exc, request_id)
            pipeline.finish(gateway, ctx, error)
            await send_error(send, error)
            return
        out_headers = response_headers(ctx, response)
        if isinstance(response, StreamResponseBody):
            await sse_response(self._events(ctx, response), out_headers)(scope, receive, send)
            return
        try:
            await self._send_json(send, ctx, response, out_headers)
        finally:
            pipeline.finish(gateway, ctx)

    async def _send_json(
        self, send: Send, ctx: RequestContext, response: JSONResponseBody, headers: dict[str, str]
    ) -> None:
        data = response.data
        ctx.status = response.status
        if response.status != 200:
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            kind = err.get("type") if isinstance(err.get("type"), str) else None
            body = error_body(
                anthropic_error_type(response.status, kind), str(err.get("message") or "the upstream failed")
            )
            await send_bytes(send, response.status, orjson.dumps(body), headers)
            return
        await send_bytes(send, 200, orjson.dumps(message_from_completion(data)), headers)

    async def _events(self, ctx: RequestContext, response: StreamResponseBody) -> AsyncIterator[bytes]:
        translator = EventTranslator(ctx.requested_model)
        error: GatewayError | None = None
        try:
            try:
                async for chunk in response.chunks:
                    # the events one chunk produces leave together: one write each, never held back
                    events = b"".join(translator.feed(chunk))
                    if events:
                        yield events
                yield b"".join(translator.finish())
            except Exception as exc:  # upstream failure or a bug: end the stream with an error event
                error = exc if isinstance(exc, GatewayError) else _internal(exc, ctx.request_id)
                yield error_event(anthropic_error_type(error.status, error.type), error.message)
        except BaseException:  # the client went away (cancellation): stop reading upstream, record it
            error = ClientDisconnectedError("the client disconnected before the stream ended")
            raise
        finally:
            await response.aclose()
            pipeline.finish(self.gateway, ctx, error)


def messages_routes(gateway: Gateway) -> list[Any]:
    return [Route("/v1/messages", MessagesEndpoint(gateway), methods=["POST"])]
