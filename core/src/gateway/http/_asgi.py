"""Raw ASGI helpers for model endpoints, the gateway's hot path (public API for plugins).

Core's model endpoints, and plugin endpoints that serve models in another format (Anthropic's
``/v1/messages``), bypass Starlette's request/response objects and middleware stack: measured on
the benchmark, that stack cost more than the gateway's whole pipeline.  Such an endpoint is
registered through ``gateway_register_routes`` as a Starlette ``Route`` whose endpoint is an ASGI
callable; it builds its context with :func:`model_request_context`, reads with :func:`receive_body`,
runs the pipeline with :func:`run_until_disconnect` and answers with :func:`send_bytes` (or a
Starlette ``StreamingResponse`` for streams).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from gateway import _pipeline
from gateway._errors import BadRequestError
from gateway._logs import bind_request_id
from gateway._types import Endpoint, RequestContext, ResponseBody
from gateway.http._requests import DEFAULT_BODY_TIMEOUT, BodyDeadline, _too_large, client_request_id, new_request_id

if TYPE_CHECKING:
    from gateway._gateway import Gateway


class ClientGone(Exception):
    """The client disconnected before its answer was ready (while sending its request, or while
    the gateway was preparing the answer); the message says which, for the request's record."""


def header_dict(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI headers as a dict (names are already lower-case in ASGI); a repeated header keeps its last value."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}


def model_request_context(scope: Scope, endpoint: Endpoint) -> RequestContext:
    """The context of a model request served by a raw ASGI endpoint: its headers (decoded once),
    its request id, bound to every log line from here on (the one ``RequestIdMiddleware`` gave a
    Starlette route, else a new one; never the client's), the client's own sane ``x-request-id``
    and the client's address.  The body is read after authentication (:func:`receive_body`)."""
    headers = header_dict(scope["headers"])
    state = scope.get("state")
    request_id = state.get("request_id") if state else None
    if request_id is None:
        request_id = new_request_id()
        client_id = client_request_id(headers.get("x-request-id"))
    else:
        client_id = state.get("client_request_id")  # type: ignore[union-attr]
    bind_request_id(request_id)
    client = scope.get("client")
    return RequestContext(request_id, endpoint, {}, headers, client[0] if client else None, client_id)


def id_headers(ctx: RequestContext) -> dict[str, str]:
    """The ids a model answer carries: ``x-request-id`` echoes the client's own id when it sent one
    (else ours), ``x-litellm-call-id`` (LiteLLM's name) is always ours."""
    return {"x-request-id": ctx.client_request_id or ctx.request_id, "x-litellm-call-id": ctx.request_id}


async def receive_body(
    receive: Receive, declared_length: str | None, limit: int, timeout: float = DEFAULT_BODY_TIMEOUT
) -> bytes:
    """Read the request body, refusing (413) anything over ``limit`` bytes as soon as it is known,
    and (408) a body of which nothing arrived for ``timeout`` seconds
    (``gateway.request_body_timeout``: pass it)."""
    if declared_length is not None:
        try:
            if int(declared_length) > limit:
                raise _too_large(limit)
        except ValueError:
            raise BadRequestError("the Content-Length header is not a number") from None
    deadline = BodyDeadline(timeout)
    body: bytes = b""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone("the client disconnected while sending its request")
            body += message.get("body", b"")
            if len(body) > limit:
                raise _too_large(limit)
            if not message.get("more_body", False):
                return body
            deadline.progressed()
    except asyncio.CancelledError:
        if deadline.expired:
            raise deadline.error() from None
        raise
    finally:
        deadline.close()


#: seconds a model request runs before a task starts watching for the client's disconnect.  A
#: watcher task per request cost ~5 µs, and most requests to a fast upstream end sooner; a client
#: that left earlier is noticed the moment the watcher starts (the disconnect is remembered).
WATCH_DISCONNECT_AFTER = 0.5


class DisconnectWatch:
    """Cancels the request's task when the client disconnects (see :func:`run_until_disconnect`).

    Used as a (synchronous: no coroutine of its own) context manager around what the client waits
    for: on leaving it stops the watch, and turns the cancellation it caused into :class:`ClientGone`
    saying ``gone``; any other cancellation goes on as it was."""

    __slots__ = ("task", "receive", "watcher", "client_gone", "gone", "timer")

    def __init__(
        self,
        task: asyncio.Task[Any],
        receive: Receive,
        gone: str = "the client disconnected before its answer was ready",
    ) -> None:
        self.task = task
        self.receive = receive
        self.watcher: asyncio.Task[None] | None = None
        self.client_gone = False
        self.gone = gone
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Watch from now on (once: a pending :meth:`start_after` is dropped)."""
        if self.timer is not None:
            self.timer.cancel()
        if self.watcher is None:
            self.watcher = asyncio.get_running_loop().create_task(self._watch())

    def start_after(self, seconds: float) -> None:
        self.timer = asyncio.get_running_loop().call_later(seconds, self.start)

    async def _watch(self) -> None:
        # the body was read: the next message the server has for us is the disconnect
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self.client_gone = True
        self.task.cancel()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.watcher is not None:
            self.watcher.cancel()

    def __enter__(self) -> DisconnectWatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if kind is not None and issubclass(kind, asyncio.CancelledError) and self.client_gone:
            self.task.uncancel()
            raise ClientGone(self.gone) from None


async def run_until_disconnect(gateway: Gateway, ctx: RequestContext, receive: Receive) -> ResponseBody:
    """``_pipeline.run``, cancelled when the client disconnects before the answer is ready (then
    :class:`ClientGone` is raised): an abandoned request must not keep an upstream generating, and
    billing, an answer nobody will read.  Call it after the body was read; a stream is watched by
    the server from the moment it is returned."""
    task = asyncio.current_task()
    assert task is not None
    watch = DisconnectWatch(task, receive)
    watch.start_after(WATCH_DISCONNECT_AFTER)
    with watch:
        return await _pipeline.run(gateway, ctx)


async def send_bytes(
    send: Send, status: int, body: bytes, headers: Mapping[str, str], content_type: bytes = b"application/json"
) -> None:
    raw_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
