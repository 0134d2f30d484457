"""A minimal pipelining Redis client: what the two scripts per request need, and nothing else.

Every caller writes its command to one shared connection at once and waits for its reply; Redis
answers in order, so replies are matched first-in first-out.  There is no pool, lock or per-command
bookkeeping: a round trip costs little more than the bytes on the socket, which matters when it
happens twice per request.  (redis-py's asyncio client spends more time in its pool than on the
wire here: see the plugin README's benchmark.)  A reply that does not arrive in time closes the
connection; the next command reconnects.

Redis Cluster: give the URL of any node.  A command for a slot that node does not serve gets
``-MOVED <slot> <host>:<port>``; the client then talks to that node from the next command on
(every key of the spend plugin shares one hash tag, so one node serves them all) and sends the
command again.  ``-ASK`` (a slot being migrated) is followed for that one command only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

#: redirections followed for one command before giving up (a cluster being resharded again and again)
MAX_REDIRECTS = 5


class RedisReplyError(Exception):
    """Redis answered with an error (``-ERR ...``, ``-NOSCRIPT ...``)."""


class _Incomplete(Exception):
    pass


def encode(args: tuple[Any, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse(buffer: bytearray, pos: int) -> tuple[Any, int]:
    """One RESP2 reply from ``buffer[pos:]``; raises ``_Incomplete`` when more bytes are needed."""
    end = buffer.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line = buffer[pos : pos + 1], bytes(buffer[pos + 1 : end])
    pos = end + 2
    if kind == b":":
        return int(line), pos
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, pos
        if len(buffer) < pos + size + 2:
            raise _Incomplete
        return bytes(buffer[pos : pos + size]), pos + size + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = parse(buffer, pos)
            items.append(item)
        return items, pos
    if kind == b"+":
        return line.decode(), pos
    if kind == b"-":
        return RedisReplyError(line.decode(errors="replace")), pos
    raise RedisReplyError(f"unexpected reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.buffer = bytearray()
        self.closed = False
        #: replaced after a MOVED: closed once the replies still owed on it have arrived
        self.retiring = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        pos = 0
        while pos < len(self.buffer):
            try:
                reply, pos_after = parse(self.buffer, pos)
            except _Incomplete:
                break
            pos = pos_after
            if self.waiting:
                waiter = self.waiting.popleft()
                if not waiter.done():
                    waiter.set_result(reply)
        del self.buffer[:pos]
        if self.retiring and not self.waiting and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = ConnectionError(f"Redis connection lost: {exc}" if exc else "Redis closed the connection")
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)


def _expire(waiter: asyncio.Future[Any], protocol: _Protocol) -> None:
    """No reply in time: fail the caller and drop the connection (the next command reconnects)."""
    if not waiter.done():
        waiter.set_exception(TimeoutError("Redis did not answer in time"))
        if protocol.transport is not None:
            protocol.transport.close()


class RespClient:
    """``redis://[user:password@]host[:port][/db]`` (or ``rediss://``), one pipelined connection."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"redis URL must start with redis:// or rediss://, not {parts.scheme}://")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.db = int(parts.path.strip("/") or 0)
        self.ssl = ssl.create_default_context() if parts.scheme == "rediss" else None
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and not protocol.closed:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and not self._protocol.closed:
                return self._protocol
            loop = asyncio.get_running_loop()
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, self.host, self.port, ssl=self.ssl), self.timeout
            )
            self._protocol = protocol
            if self.password is not None:
                await self._send(
                    protocol, ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
                )
            if self.db:
                await self._send(protocol, ("SELECT", self.db))
            return protocol

    async def _send(self, protocol: _Protocol, args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        protocol.waiting.append(waiter)
        assert protocol.transport is not None
        protocol.transport.write(encode(args))
        # a timer instead of asyncio.wait_for: no wrapper task per command
        timer = loop.call_later(self.timeout, _expire, waiter, protocol)
        try:
            reply = await waiter
        finally:
            timer.cancel()
        # a cancelled caller leaves its (cancelled) waiter queued, so later replies stay matched
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (bytes, int, list, str or None)."""
        for _ in range(MAX_REDIRECTS):
            try:
                return await self._send(await self._connection(), args)
            except RedisReplyError as exc:
                kind, _, rest = str(exc).partition(" ")
                if kind not in ("MOVED", "ASK"):
                    raise
                host, _, port = rest.rpartition(" ")[2].rpartition(":")
                if kind == "ASK":
                    return await self._ask(host, int(port), args)
                self._moved(host, int(port))
        raise RedisReplyError(f"Redis Cluster redirected the command more than {MAX_REDIRECTS} times")

    def _moved(self, host: str, port: int) -> None:
        """The slot lives on ``host:port`` now: the next commands go there."""
        if (self.host, self.port) == (host, port):
            return  # another caller already followed the same redirection
        self.host, self.port = host, port
        old, self._protocol = self._protocol, None
        if old is not None:
            old.retiring = True
            if not old.waiting and old.transport is not None:
                old.transport.close()

    async def _ask(self, host: str, port: int, args: tuple[Any, ...]) -> Any:
        """A slot in migration: ``ASKING`` then the command, on a connection of its own (rare)."""
        other = RespClient(self._url_for(host, port), timeout=self.timeout)
        other.username, other.password = self.username, self.password
        try:
            await other.execute("ASKING")
            return await other._send(await other._connection(), args)
        finally:
            await other.close()

    def _url_for(self, host: str, port: int) -> str:
        scheme = "rediss" if self.ssl is not None else "redis"
        return f"{scheme}://{host}:{port}"

    async def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
