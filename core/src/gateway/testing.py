"""Test helpers for the gateway and its plugins (a pytest plugin, entry point ``pytest11``).

* :func:`start_gateway` runs a real gateway (uvicorn, real sockets) in a background thread from a
  config dict and an explicit plugin list, so tests use the official ``openai`` SDK against it.
* :class:`FakeUpstream` is a local OpenAI-compatible server that records what it received and
  answers from a script (errors, hangs, broken streams), for provider behaviour.
* :func:`in_process_client` builds a gateway and an ``httpx.AsyncClient`` that calls its ASGI app
  in-process (lifespan included: plugins' ``gateway_lifespan`` runs, the log queue drains at the
  end), for fast tests that need no socket on the gateway's side.
* Fixtures: ``gateway_factory`` (start any number of gateways, all stopped at the end),
  ``gateway_client`` (:func:`in_process_client`), ``fake_upstream``, ``log_collector`` (collects
  ``gateway_log`` payloads) and ``server_logs`` (the gateway's own structured log lines).

Installed with the ``gateway`` distribution (entry point ``pytest11``), so a plugin's tests use
these fixtures without any import or ``conftest.py``.  Nothing here patches the gateway's own
code: traffic goes over real HTTP or through the real ASGI app.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import fake_openai


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
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


@asynccontextmanager
async def asgi_lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (startup on enter, shutdown on exit), as a server would."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, from_app.put))

    async def expect(step: str) -> None:
        getter = asyncio.ensure_future(from_app.get())
        done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            task.result()  # re-raise what the app raised
            raise RuntimeError(f"the app ended its lifespan before {step}")
        message = getter.result()
        if message["type"] != f"lifespan.{step}.complete":
            raise RuntimeError(f"lifespan {step} failed: {message.get('message', message)}")

    await to_app.put({"type": "lifespan.startup"})
    await expect("startup")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await expect("shutdown")
        await task


@asynccontextmanager
async def in_process_client(
    config: dict[str, Any] | str | None = None,
    *,
    plugins: tuple[Any, ...] | list[Any] = (),
    load_entrypoints: bool = False,
    api_key: str | None = None,
    **gateway_kwargs: Any,
) -> AsyncIterator[Any]:
    """An ``httpx.AsyncClient`` wired to a fresh gateway's ASGI app, lifespan included.

    Only the plugins in ``plugins`` are loaded unless ``load_entrypoints`` is true.  Requests carry
    ``Authorization: Bearer <api_key>`` (default: the config's master key).  The gateway object is
    ``client.gateway``.  On exit the lifespan ends: queued log events are delivered first.
    """
    import httpx

    from .app import create_app
    from .gateway import Gateway

    gateway = Gateway(config, plugins=plugins, load_entrypoints=load_entrypoints, **gateway_kwargs)
    app = create_app(gateway)
    key = api_key or gateway.config.general_settings.master_key
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with asgi_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", headers=headers) as client:
            client.gateway = gateway  # type: ignore[attr-defined]
            yield client


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


# --------------------------------------------------------------------------- log events


class LogCollector:
    """A plugin that keeps every ``gateway_log`` payload; register it in ``plugins=[...]``.

    The payloads are :meth:`gateway.LogEvent.to_dict` dicts, the same shape sinks export.
    """

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

    def matching(self, **fields: Any) -> list[dict[str, Any]]:
        """The events whose top-level fields equal ``fields`` (``status=400, model_group="gpt-4o"``)."""
        return [e for e in list(self.events) if all(e.get(k) == v for k, v in fields.items())]

    def assert_logged(self, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Wait for an event with these field values and return it; fail listing what arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self.matching(**fields)
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [{k: e.get(k) for k in fields} for e in self.events]
                    raise AssertionError(f"no log event with {fields}; events seen: {seen}")
                self._arrived.wait(left)


class ServerLogs:
    """The gateway's own structured log lines (``structlog``) captured during a test, as dicts.

    The list fills while the test runs (the gateway may log from its server thread).
    """

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self.lines = lines

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.lines))

    def __len__(self) -> int:
        return len(self.lines)

    def named(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """Lines whose ``event`` is ``event`` and whose fields equal ``fields``."""
        return [r for r in self if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())]

    def wait_for(self, event: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Wait until a line ``event`` with these fields was logged, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.named(event, **fields)
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line {event!r} with {fields}; got {[r.get('event') for r in self]}")
            time.sleep(0.01)


# --------------------------------------------------------------------------- pytest fixtures

try:
    import pytest
except ImportError:  # pragma: no cover - the helpers above work without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def fake_upstream() -> Iterator[FakeUpstream]:
        """A started :class:`FakeUpstream` (``.base_url`` for ``api_base``), stopped after the test."""
        upstream = FakeUpstream().start()
        try:
            yield upstream
        finally:
            upstream.stop()

    @pytest.fixture
    def gateway_factory() -> Iterator[Callable[..., RunningGateway]]:
        """``gateway_factory(config, plugins=[...], load_entrypoints=...)`` -> a served gateway."""
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

    @pytest.fixture
    def gateway_client() -> Callable[..., Any]:
        """:func:`in_process_client`: ``async with gateway_client(config, plugins=[...]) as client``."""
        return in_process_client

    @pytest.fixture
    def log_collector() -> LogCollector:
        """A fresh :class:`LogCollector`; pass it in ``plugins=[...]`` and assert on its events."""
        return LogCollector()

    @pytest.fixture
    def server_logs() -> Iterator[ServerLogs]:
        """Every structlog line the gateway logs during the test (``plugin_failed``, ``log_hook_failed`` ...)."""
        import structlog

        from .logs import access_log

        with structlog.testing.capture_logs() as captured:
            access_log.listeners.append(captured.append)
            try:
                yield ServerLogs(captured)
            finally:
                access_log.listeners.remove(captured.append)


__all__ = [
    "start_gateway",
    "in_process_client",
    "RunningGateway",
    "FakeUpstream",
    "Reply",
    "RecordedRequest",
    "LogCollector",
    "ServerLogs",
    "free_port",
    "ServerThread",
]
