"""The event-stream decoder against botocore's own parser, byte by byte.

Framing: https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html (all ten header value
types: bool true/false, byte, short, int, long, byte array, string, timestamp, uuid).
"""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer
from gateway_bedrock.eventstream import EventStreamDecoder, EventStreamError


def frame(headers: bytes, payload: bytes) -> bytes:
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return head + struct.pack(">I", zlib.crc32(head))


def header(name: str, kind: int, value: bytes) -> bytes:
    return bytes([len(name)]) + name.encode() + bytes([kind]) + value


EVERY_TYPE = b"".join(
    [
        header("yes", 0, b""),
        header("no", 1, b""),
        header("byte", 2, struct.pack(">b", -5)),
        header("short", 3, struct.pack(">h", 300)),
        header("int", 4, struct.pack(">i", -70000)),
        header("long", 5, struct.pack(">q", 2**40)),
        header("bytes", 6, struct.pack(">H", 3) + b"\x00\x01\x02"),
        header(":event-type", 7, struct.pack(">H", 5) + b"hello"),
        header("time", 8, struct.pack(">q", 1_700_000_000_000)),
        header("id", 9, uuid.UUID("12345678-1234-5678-1234-567812345678").bytes),
    ]
)


def test_decodes_what_botocore_decodes_fed_one_byte_at_a_time() -> None:
    stream = frame(EVERY_TYPE, b'{"a": 1}') + frame(b"", b"") + frame(header("k", 7, b"\x00\x01v"), b"x" * 1000)
    reference = EventStreamBuffer()
    reference.add_data(stream)
    expected = [(m.headers, m.payload) for m in reference]
    decoder = EventStreamDecoder()
    got = [m for i in range(len(stream)) for m in decoder.feed(stream[i : i + 1])]
    decoder.close()
    assert len(got) == len(expected) == 3
    for message, (headers, payload) in zip(got, expected, strict=False):
        assert message.payload == payload
        assert {k: v for k, v in message.headers.items() if k not in ("time", "id")} == {
            k: v for k, v in headers.items() if k not in ("time", "id")
        }
    assert got[0].headers["id"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert got[0].headers["time"] == 1_700_000_000_000


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (frame(b"", b"abc")[:-1] + b"\x00", "message checksum mismatch"),
        (b"\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00", "prelude checksum mismatch"),
        (frame(header("k", 42, b""), b""), "unknown header value type 42"),
    ],
)
def test_corruption_is_an_error(data: bytes, says: str) -> None:
    with pytest.raises(EventStreamError, match=says):
        EventStreamDecoder().feed(data)


def test_a_stream_that_stops_inside_a_message_is_an_error() -> None:
    decoder = EventStreamDecoder()
    assert decoder.feed(frame(b"", b"payload")[:10]) == []
    with pytest.raises(EventStreamError, match="ended in the middle of a message"):
        decoder.close()
