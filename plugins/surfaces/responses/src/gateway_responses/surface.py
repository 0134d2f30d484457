"""``POST /v1/responses``: OpenAI's Responses API, as a surface any configured model serves.

The request decodes into the typed chat request (:mod:`.decode`), so it runs through the one
lifecycle (keys, budgets, guardrails, routing, retries, the ledger) and every provider encodes it
with its own encoder.  The answer (OpenAI chat format inside the gateway) becomes a Response
object (:mod:`.answer`) or the Responses event stream (:mod:`.events`); from a deployment that
serves the Responses API itself (:mod:`.native`), the upstream's own bytes and events go out
unchanged while no hook changed them.  Errors use OpenAI's envelope, as the Responses API does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway import JSONResponseBody, RequestContext, StreamResponseBody
from gateway.chat import JSON
from gateway.surfaces import OnError, Surface, encode_event

from .answer import from_completion
from .decode import FORMAT, ResponsesRequest, decode_responses_request
from .events import EventTranslator
from .native import FINAL

NAME = "openai.responses"
#: where the post-call hook leaves the Response object it stored (``ctx.state``)
ANSWER = "responses.answer"


class ResponsesSurface(Surface):
    name = NAME
    format = "openai.responses"
    endpoint = "chat"
    paths = ("/v1/responses",)
    summary = "Responses (OpenAI's Responses API), for any provider"

    def __init__(self, saver: Any) -> None:
        #: ``await saver(ctx, response)`` keeps a finished response when the request asked to store it
        self.saver = saver

    def decode(self, body: JSON) -> ResponsesRequest:
        return decode_responses_request(body)

    def encode_answer(self, ctx: RequestContext, response: JSONResponseBody) -> bytes:
        if response.status != 200:
            return orjson.dumps(response.data)  # an upstream's error, in OpenAI's envelope
        native = response.native(FORMAT)
        if native is not None:  # a deployment that serves the Responses API: its bytes, as they came
            return native
        answer = ctx.state.get(ANSWER)
        if answer is None:
            request = ctx.request
            assert isinstance(request, ResponsesRequest)
            answer = from_completion(request, request.response_id, response.data, request.created_at)
        return orjson.dumps(answer)

    def encode_stream(
        self, ctx: RequestContext, response: StreamResponseBody, on_error: OnError
    ) -> AsyncIterator[bytes]:
        native = response.native_events(FORMAT)
        if native is not None:
            return self._native_events(ctx, response, native, on_error)
        return self._events(ctx, response, on_error)

    async def _native_events(
        self, ctx: RequestContext, response: StreamResponseBody, native: Any, on_error: OnError
    ) -> AsyncIterator[bytes]:
        """The upstream's own events; reading the chunks drives the call (and the usage recorded).
        The final Response is stored before the event that says it is complete goes out."""
        stored = False
        try:
            async for _ in response.chunks:
                final = ctx.state.get(FINAL)
                if final is not None and not stored:
                    stored = True
                    await self.saver(ctx, final)
                events = native.take()
                if events:
                    yield events
            yield native.take()
        except Exception as exc:  # the events before the failure went out; end with response.failed
            sent = native.take()
            error = on_error(exc)
            code = "rate_limit_exceeded" if error.status == 429 else "server_error"
            yield sent + encode_event("error", {"type": "error", "code": code, "message": error.message,
                                                 "param": None, "sequence_number": 0})  # fmt: skip

    async def _events(
        self, ctx: RequestContext, response: StreamResponseBody, on_error: OnError
    ) -> AsyncIterator[bytes]:
        request = ctx.request
        assert isinstance(request, ResponsesRequest)
        translator = EventTranslator(request, request.response_id, request.created_at)
        yield translator.start()
        try:
            async for chunk in response.chunks:
                # the events one chunk produces leave together: one write each, never held back
                events = b"".join(translator.feed(chunk))
                if events:
                    yield events
            done = b"".join(translator.finish())
            final = translator.response("completed")
            await self.saver(ctx, final)  # stored before the client hears it is complete
            yield done + translator.completed(final)
        except Exception as exc:  # the upstream failed mid-stream, or storing failed: end with response.failed
            error = on_error(exc)
            code = "rate_limit_exceeded" if error.status == 429 else "server_error"
            yield translator.failed(code, error.message)
