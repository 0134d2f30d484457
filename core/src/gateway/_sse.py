"""Server-sent events: an incremental decoder for upstream streams and the encoder for clients.

Providers feed the decoder raw bytes as they arrive and get complete events out, so nothing is
buffered beyond the current, unfinished event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
#: the longest event we accept from an upstream before calling the stream broken
MAX_EVENT_BYTES = 16 * 1024 * 1024


class SSEProtocolError(Exception):
    """The upstream's event stream is not valid SSE (or an event is too large)."""


@dataclass(slots=True)
class ServerSentEvent:
    event: str | None
    data: str
    id: str | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEDecoder:
    """Feed bytes with :meth:`feed`; it yields each event as soon as its blank line arrives."""

    __slots__ = ("_buffer", "_event", "_data", "_id")

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        buffer = self._buffer + chunk if self._buffer else chunk
        start = 0
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                break
            line = buffer[start:newline]
            start = newline + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            event = self._line(line)
            if event is not None:
                yield event
        self._buffer = buffer[start:]
        if len(self._buffer) > MAX_EVENT_BYTES:
            raise SSEProtocolError(f"an event is larger than {MAX_EVENT_BYTES} bytes")

    def _line(self, line: bytes) -> ServerSentEvent | None:
        if not line:
            if not self._data and self._event is None:
                return None
            event = ServerSentEvent(self._event, "\n".join(self._data), self._id)
            self._event, self._data = None, []
            return event
        if line.startswith(b":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", errors="replace")
        if name == b"data":
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id":
            self._id = text
        return None

    def flush(self) -> ServerSentEvent | None:
        """The last event when the stream ended without its closing blank line."""
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r"))
            self._buffer = b""
        return self._line(b"")


async def iter_sse(chunks: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    last = decoder.flush()
    if last is not None:
        yield last


def encode_data(payload: Any) -> bytes:
    """One ``data:`` event for an OpenAI-format chunk."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def encode_event(event: str, payload: Any) -> bytes:
    """One named event (Anthropic format needs ``event:`` lines)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
