"""An incremental decoder for AWS event-stream framing (``application/vnd.amazon.eventstream``).

Each message (https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html, the same framing
ConverseStream uses):

    total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload | message CRC32 (4)

all big-endian; the prelude CRC covers the first 8 bytes, the message CRC everything before it.
A header is ``name length (1) | name | value type (1) | value``.  Bytes are fed as they arrive and a
message comes out as soon as its last byte is in, so the translation never waits for more than
the current message.  A bad CRC, an impossible length or a stream that ends inside a message is an
:class:`EventStreamError`.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

PRELUDE = struct.Struct(">III")
PRELUDE_LENGTH = 12
#: the smallest message: prelude + message CRC, no headers, no payload
MIN_MESSAGE = 16
#: limits from the format's reference implementations; a larger length is a corrupted stream
MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024
MAX_HEADERS = 128 * 1024


class EventStreamError(Exception):
    """The bytes are not a valid event stream."""


@dataclass(slots=True, frozen=True)
class EventMessage:
    headers: dict[str, Any]
    payload: bytes


class EventStreamDecoder:
    """Feed bytes with :meth:`feed`; get every complete message; call :meth:`close` at the end."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[EventMessage]:
        buffer = self._buffer
        buffer += data
        messages: list[EventMessage] = []
        start = 0
        while len(buffer) - start >= PRELUDE_LENGTH:
            total, headers_length, prelude_crc = PRELUDE.unpack_from(buffer, start)
            if zlib.crc32(buffer[start : start + 8]) != prelude_crc:
                raise EventStreamError("prelude checksum mismatch")
            if not MIN_MESSAGE <= total <= MAX_MESSAGE or headers_length > min(MAX_HEADERS, total - MIN_MESSAGE):
                raise EventStreamError(f"impossible lengths in prelude (total {total}, headers {headers_length})")
            if len(buffer) - start < total:
                break
            end = start + total
            (message_crc,) = struct.unpack_from(">I", buffer, end - 4)
            if zlib.crc32(buffer[start : end - 4]) != message_crc:
                raise EventStreamError("message checksum mismatch")
            headers_end = start + PRELUDE_LENGTH + headers_length
            messages.append(
                EventMessage(
                    parse_headers(bytes(buffer[start + PRELUDE_LENGTH : headers_end])),
                    bytes(buffer[headers_end : end - 4]),
                )
            )
            start = end
        del buffer[:start]
        return messages

    def close(self) -> None:
        """Check that the stream did not stop in the middle of a message."""
        if self._buffer:
            raise EventStreamError(f"the stream ended in the middle of a message ({len(self._buffer)} bytes left over)")


_FIXED = {
    2: struct.Struct(">b"),
    3: struct.Struct(">h"),
    4: struct.Struct(">i"),
    5: struct.Struct(">q"),
    8: struct.Struct(">q"),
}


def parse_headers(data: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    pos = 0
    try:
        while pos < len(data):
            name_length = data[pos]
            name = data[pos + 1 : pos + 1 + name_length].decode("utf-8")
            pos += 1 + name_length
            kind = data[pos]
            pos += 1
            value: Any
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                fixed = _FIXED[kind]
                (value,) = fixed.unpack_from(data, pos)
                pos += fixed.size
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", data, pos)
                raw = data[pos + 2 : pos + 2 + length]
                if len(raw) != length:
                    raise EventStreamError("a header value runs past the headers")
                value = raw.decode("utf-8") if kind == 7 else raw
                pos += 2 + length
            elif kind == 9:
                if pos + 16 > len(data):
                    raise EventStreamError("a header value runs past the headers")
                value = uuid.UUID(bytes=data[pos : pos + 16])
                pos += 16
            else:
                raise EventStreamError(f"unknown header value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed headers: {exc}") from None
    return headers
