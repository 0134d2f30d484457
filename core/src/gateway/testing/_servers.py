"""Real gateways and ASGI apps on free ports, or in process, for tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Runs an ASGI app under uvicorn in a daemon thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None, *, graceful_timeout: int = 5, http: Any = "auto") -> None:
        import uvicorn

        self.port = port or free_port()
        self.config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            loop="asyncio",
            timeout_graceful_shutdown=graceful_timeout,
            http=http,
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
        if self.thread.is_alive():  # a shutdown that hangs is a bug a user would meet: fail the test
            raise RuntimeError(f"the server on port {self.port} did not stop within 30 s of being asked to")


class LocalServer:
    """Base for scripted test servers (fake upstreams, fake vendor APIs): a subclass defines
    ``app()``; :meth:`start` serves it on a free port of 127.0.0.1 until :meth:`stop`."""

    server: ServerThread | None = None

    def app(self) -> Any:
        raise NotImplementedError

    def start(self) -> Any:
        self.server = ServerThread(self.app(), graceful_timeout=1).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def url(self) -> str:
        assert self.server is not None, "start() the server first"
        return self.server.url

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
    from gateway._app import create_app
    from gateway._gateway import Gateway
    from gateway.http._head_timeout import HeadTimeoutProtocol

    gateway = Gateway(config, plugins=plugins, load_entrypoints=load_entrypoints, **gateway_kwargs)
    # served as `gateway serve` serves it: httptools with the request-head deadline
    server = ServerThread(create_app(gateway), http=HeadTimeoutProtocol).start()
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

    from gateway._app import create_app
    from gateway._gateway import Gateway

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
