"""Test helpers for the gateway and its plugins (a pytest plugin, entry point ``pytest11``).

* :func:`start_gateway` runs a real gateway (uvicorn, real sockets) in a background thread from a
  config dict and an explicit plugin list, so tests use the official ``openai`` SDK against it.
* :class:`FakeUpstream` is a local OpenAI-compatible server that records what it received and
  answers from a script (errors, hangs, broken streams), for provider behaviour.
* Fixtures: ``gateway_factory`` (start any number of gateways, all stopped at the end),
  ``fake_upstream``, ``log_events`` (collects ``gateway_log`` payloads).

Nothing here patches the gateway's own code: traffic goes over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import fake_openai


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Runs an ASGI app under uvicorn in a daemon thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None, *, graceful_timeout: int = 5) -> None:
        import uvicorn

        self.port = port or free_port()
        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", loop="asyncio",
            timeout_graceful_shutdown=graceful_timeout,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        try:
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self.server.serve())
        except BaseException as exc:  # surfaced by start()
            self.error = exc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.error is not None or not self.thread.is_alive():
                raise RuntimeError(f"server failed to start: {self.error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class RunningGateway:
    gateway: Any
    server: ServerThread
    master_key: str | None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1"

    def openai(self, api_key: str | None = None, **kwargs: Any) -> Any:
        import openai

        kwargs.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=self.base_url, api_key=api_key or self.master_key or "sk-none", **kwargs)

    def async_openai(self, api_key: str | None = None, **kwargs: Any) -> Any:
        import openai

        kwargs.setdefault("max_retries", 0)
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=api_key or self.master_key or "sk-none", **kwargs)

    def stop(self) -> None:
        self.server.stop()


def start_gateway(
    config: dict[str, Any] | str | None = None,
    *,
    plugins: tuple[Any, ...] | list[Any] = (),
    load_entrypoints: bool = True,
    **gateway_kwargs: Any,
) -> RunningGateway:
    """Build a :class:`gateway.Gateway` and serve it on a free port until ``.stop()``."""
    from .app import create_app
    from .gateway import Gateway

    gateway = Gateway(config, plugins=plugins, load_entrypoints=load_entrypoints, **gateway_kwargs)
    server = ServerThread(create_app(gateway)).start()
    return RunningGateway(gateway, server, gateway.config.general_settings.master_key)


# --------------------------------------------------------------------------- fake upstream


@dataclass
class Reply:
    """One scripted answer of :class:`FakeUpstream`."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: seconds to wait before answering
    delay: float = 0.0
    #: never answer (until the client gives up)
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


class FakeUpstream:
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
        self.server: ServerThread | None = None
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
                request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()}, body,
                dict(request.query_params),
            )
            self.requests.append(recorded)
            reply = self._next_reply(recorded) or self._default_reply(recorded)
            self.in_flight += 1
            try:
                if reply.hang:
                    await asyncio.sleep(3600)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
            finally:
                self.in_flight -= 1
            if reply.stream is not None:
                return StreamingResponse(self._events(reply), status_code=reply.status, headers=reply.headers,
                                         media_type="text/event-stream")
            payload = reply.body if reply.body is not None else orjson.dumps(reply.json)
            return Response(payload, status_code=reply.status, headers=reply.headers,
                            media_type=None if reply.body is not None else "application/json")

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
            prompt = data.get("prompt") if isinstance(data.get("prompt"), str) else ""
            return Reply(json=fake_openai.text_completion(model, self.content, prompt=fake_openai.count_tokens(prompt)))
        prompt = fake_openai.prompt_tokens(data.get("messages") or [])
        if data.get("stream"):
            opts = data.get("stream_options") or {}
            return Reply(stream=list(fake_openai.chat_chunks(model, self.content, prompt=prompt,
                                                             with_usage=bool(opts.get("include_usage")))))
        return Reply(json=fake_openai.chat_completion(model, self.content, prompt=prompt))

    def start(self) -> FakeUpstream:
        self.server = ServerThread(self.app(), graceful_timeout=1).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def url(self) -> str:
        assert self.server is not None, "start() the fake upstream first"
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.url + "/v1"


# --------------------------------------------------------------------------- pytest fixtures

try:
    import pytest
except ImportError:  # pragma: no cover - the helpers above work without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def fake_upstream() -> Iterator[FakeUpstream]:
        upstream = FakeUpstream().start()
        try:
            yield upstream
        finally:
            upstream.stop()

    @pytest.fixture
    def gateway_factory() -> Iterator[Callable[..., RunningGateway]]:
        running: list[RunningGateway] = []

        def factory(config: dict[str, Any] | str | None = None, **kwargs: Any) -> RunningGateway:
            gw = start_gateway(config, **kwargs)
            running.append(gw)
            return gw

        try:
            yield factory
        finally:
            for gw in running:
                gw.stop()


class LogCollector:
    """A plugin that keeps every ``gateway_log`` payload; register it in ``plugins=[...]``."""

    gateway_plugin_name = "log_collector"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._arrived = threading.Condition()

    from .hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def gateway_log(self, event: Any) -> None:
        with self._arrived:
            self.events.append(event.to_dict())
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Block until ``count`` events arrived (log delivery is asynchronous by design)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} log events, got {len(self.events)}")
                self._arrived.wait(left)
        return list(self.events)


__all__ = ["start_gateway", "RunningGateway", "FakeUpstream", "Reply", "RecordedRequest", "LogCollector", "free_port", "ServerThread"]
