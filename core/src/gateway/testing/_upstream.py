"""FakeUpstream: a scripted OpenAI-compatible server that records what it received."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway import fake_openai
from gateway.testing._servers import LocalServer


@dataclass
class Reply:
    """One scripted answer of :class:`FakeUpstream`."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: seconds to wait before answering
    delay: float = 0.0
    #: never answer: wait until the client gives up (closes the connection), then record the
    #: request in ``FakeUpstream.abandoned``
    hang: bool = False
    #: SSE events to stream: dicts (sent as ``data: <json>``) or raw bytes
    stream: list[Any] | None = None
    #: seconds between streamed events
    chunk_delay: float = 0.0
    #: stop after this many events and drop the connection (a broken stream)
    break_after: int | None = None
    #: append ``data: [DONE]`` after the events
    done: bool = True


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]

    @property
    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class FakeUpstream(LocalServer):
    """An OpenAI-compatible server on a free port that records requests and follows a script.

    With an empty script it answers like a tiny deterministic model (``gateway.fake_openai``):
    chat (streaming or not, usage included when asked), completions and embeddings.
    """

    def __init__(self, content: str = "Hello from the fake upstream.") -> None:
        self.content = content
        self.requests: list[RecordedRequest] = []
        self.script: list[Reply] = []
        self.default: Reply | Callable[[RecordedRequest], Reply] | None = None
        self.in_flight = 0
        #: requests of ``hang`` replies whose client closed the connection (a cancelled upstream call)
        self.abandoned: list[RecordedRequest] = []
        self._lock = threading.Lock()

    # ---- scripting
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def _next_reply(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        if callable(self.default):
            return self.default(request)
        return self.default

    # ---- serving
    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response, StreamingResponse
        from starlette.routing import Route

        async def handle(request: Request) -> Response:
            body = await request.body()
            recorded = RecordedRequest(
                request.method,
                request.url.path,
                {k.lower(): v for k, v in request.headers.items()},
                body,
                dict(request.query_params),
            )
            self.requests.append(recorded)
            reply = self._next_reply(recorded) or self._default_reply(recorded)
            self.in_flight += 1
            try:
                if reply.hang:
                    # the body is read: the next message is the client's disconnect
                    while (await request.receive())["type"] != "http.disconnect":
                        pass
                    with self._lock:
                        self.abandoned.append(recorded)
                    return Response(status_code=499)  # nobody reads it
                if reply.delay:
                    await asyncio.sleep(reply.delay)
            finally:
                self.in_flight -= 1
            if reply.stream is not None:
                return StreamingResponse(
                    self._events(reply), status_code=reply.status, headers=reply.headers, media_type="text/event-stream"
                )
            payload = reply.body if reply.body is not None else orjson.dumps(reply.json)
            return Response(
                payload,
                status_code=reply.status,
                headers=reply.headers,
                media_type=None if reply.body is not None else "application/json",
            )

        return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "DELETE"])])

    async def _events(self, reply: Reply) -> AsyncIterator[bytes]:
        for i, event in enumerate(reply.stream or []):
            if reply.break_after is not None and i >= reply.break_after:
                raise ConnectionAbortedError("fake upstream breaks the stream on purpose")
            if i and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield event if isinstance(event, bytes) else b"data: " + orjson.dumps(event) + b"\n\n"
        if reply.done:
            yield b"data: [DONE]\n\n"

    def _default_reply(self, request: RecordedRequest) -> Reply:
        data = request.json if request.body else {}
        data = data if isinstance(data, dict) else {}
        model = str(data.get("model", "fake-model"))
        if request.path.endswith("/embeddings"):
            inputs = data.get("input")
            inputs = [inputs] if isinstance(inputs, str) else [str(i) for i in inputs or []]
            return Reply(json=fake_openai.embeddings(model, inputs))
        if request.path.endswith("/completions") and "chat" not in request.path:
            text = raw_prompt if isinstance(raw_prompt := data.get("prompt"), str) else ""
            return Reply(json=fake_openai.text_completion(model, self.content, prompt=fake_openai.count_tokens(text)))
        prompt = fake_openai.prompt_tokens(data.get("messages") or [])
        if data.get("stream"):
            opts = data.get("stream_options") or {}
            return Reply(
                stream=list(
                    fake_openai.chat_chunks(
                        model, self.content, prompt=prompt, with_usage=bool(opts.get("include_usage"))
                    )
                )
            )
        return Reply(json=fake_openai.chat_completion(model, self.content, prompt=prompt))

    @property
    def base_url(self) -> str:
        return self.url + "/v1"


# --------------------------------------------------------------------------- log events
