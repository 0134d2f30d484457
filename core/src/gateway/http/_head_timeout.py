"""uvicorn's httptools protocol with a deadline for the request head (nginx's ``client_header_timeout``).

uvicorn has no such deadline: a client that connects and sends half a request line, or a few
header bytes now and then, holds its connection (a file descriptor and a protocol object) for as
long as it likes, and a few hundred of them starve a worker.  Here the head (request line and
headers) must be complete within ``general_settings.request_header_timeout`` seconds of its first
byte (or of connecting, for the first request); otherwise the connection is closed.  The body has
its own deadline, enforced where it is read (``gateway.http.receive_body``: HTTP 408).

The timer is armed only when a read ends in the middle of a head: a head that arrives in one piece,
the usual case, costs no timer at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: when the app carries no gateway (this protocol serving something else)
DEFAULT_HEAD_TIMEOUT = 10.0
_CACHE_ATTR = "_gateway_request_header_timeout"


def head_timeout_of(config: Any) -> float:
    """``request_header_timeout`` of the gateway the uvicorn ``config`` serves (found once, then
    kept on the config: the protocol is built per connection)."""
    cached = getattr(config, _CACHE_ATTR, None)
    if cached is not None:
        return float(cached)
    app, seconds = config.loaded_app, DEFAULT_HEAD_TIMEOUT
    for _ in range(8):  # uvicorn wraps the app in its own middleware (proxy headers, logging)
        gateway = getattr(app, "gateway", None)
        if gateway is not None:
            seconds = gateway.config.general_settings.request_header_timeout
            break
        app = getattr(app, "app", None)
        if app is None:
            break
    setattr(config, _CACHE_ATTR, seconds)
    return seconds


class HeadTimeoutProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.run(..., http=HeadTimeoutProtocol)`` (``gateway._server`` does)."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_timeout = head_timeout_of(config)
        self.in_head = False
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a client that connects and sends nothing gets no longer than one that sends half

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_head and self.head_timer is None:
            self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined head behind a request still being answered: let that answer finish first
            self._arm()
            return
        self.transport.close()
