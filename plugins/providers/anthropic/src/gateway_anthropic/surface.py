"""``POST /v1/messages``: the Anthropic Messages format, as a surface any configured model serves.

The request decodes into the typed chat request (:mod:`.decode`), so it runs through the same
lifecycle as every other (keys, budgets, guardrails, routing, retries, the ledger).  Answers:

* from an ``anthropic/`` deployment, the upstream's own bytes and events, unchanged unless a hook
  changed the answer (nothing is translated twice);
* from any other deployment, translated from OpenAI's format (:mod:`.messages_response`).

Errors use Anthropic's envelope (https://docs.anthropic.com/en/api/errors), so the ``anthropic``
SDK raises its usual exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway import GatewayError, JSONResponseBody, RequestContext, StreamResponseBody
from gateway.chat import JSON, ChatRequest
from gateway.surfaces import OnError, Surface

from . import schemas
from .decode import FORMAT, decode_messages_request
from .messages_response import EventTranslator, error_event, message_from_completion
from .wire import anthropic_error_type, error_body


class MessagesSurface(Surface):
    name = "anthropic.messages"
    format = FORMAT
    endpoint = "chat"
    paths = ("/v1/messages",)
    user_field = "metadata.user_id"
    summary = "Messages (Anthropic's format), for any provider"
    request_schema = schemas.MESSAGES_REQUEST
    response_schema = schemas.MESSAGES_RESPONSE
    error_schema = schemas.ERROR

    def decode(self, body: JSON) -> ChatRequest:
        return decode_messages_request(body)

    def encode_answer(self, ctx: RequestContext, response: JSONResponseBody) -> bytes:
        native = response.native(FORMAT)
        if native is not None:
            return native
        data = response.data
        if response.status != 200:
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            kind = err.get("type") if isinstance(err.get("type"), str) else None
            message = str(err.get("message") or "the upstream failed")
            return orjson.dumps(error_body(anthropic_error_type(response.status, kind), message))
        return orjson.dumps(message_from_completion(data))

    def encode_stream(
        self, ctx: RequestContext, response: StreamResponseBody, on_error: OnError
    ) -> AsyncIterator[bytes]:
        native = response.native_events(FORMAT)
        if native is not None:
            return _native_events(response, native, on_error)
        return _translated_events(ctx, response, on_error)

    def encode_error(self, error: GatewayError) -> bytes:
        return orjson.dumps(error_body(anthropic_error_type(error.status, error.type), error.message))


async def _native_events(response: StreamResponseBody, native: Any, on_error: OnError) -> AsyncIterator[bytes]:
    """The upstream's own events; reading the chunks drives the provider (and the usage the
    gateway records), and each chunk releases the events it came from."""
    try:
        async for _ in response.chunks:
            events = native.take()
            if events:
                yield events
        yield native.take()
    except Exception as exc:  # the events before the failure went out; end with an error event
        sent = native.take()
        error = on_error(exc)
        yield sent + error_event(anthropic_error_type(error.status, error.type), error.message)


async def _translated_events(
    ctx: RequestContext, response: StreamResponseBody, on_error: OnError
) -> AsyncIterator[bytes]:
    translator = EventTranslator(ctx.requested_model)
    try:
        async for chunk in response.chunks:
            # the events one chunk produces leave together: one write each, never held back
            events = b"".join(translator.feed(chunk))
            if events:
                yield events
        yield b"".join(translator.finish())
    except Exception as exc:  # upstream failure or a bug: end the stream with an error event
        error = on_error(exc)
        yield error_event(anthropic_error_type(error.status, error.type), error.message)
