"""Anthropic streaming events -> OpenAI ``chat.completion.chunk`` dicts, one event at a time.

Event flow (https://docs.anthropic.com/en/docs/build-with-claude/streaming): ``message_start``,
then per content block ``content_block_start`` / ``content_block_delta``\\* /
``content_block_stop``, then ``message_delta`` (``stop_reason``, cumulative ``usage``) and
``message_stop``; ``ping`` and ``error`` may come at any time.  Each event is translated as soon as
it is decoded: nothing waits for the rest of the stream.

A stream that ends before ``message_stop``, an event type the API does not document, or a block
or delta type this translator does not know ends the client's stream with an error (and a log line
naming the provider) rather than a silently incomplete answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import structlog

from gateway import NativeEvents, UpstreamError
from gateway.chat import ChunkBuilder
from gateway.upstream import SSEDecoder, SSEProtocolError

from .response import finish_reason, stream_error, usage_from_anthropic
from .wire import PROVIDER, STREAM_EVENTS

log = structlog.get_logger("gateway.anthropic")


class StreamTranslator:
    """State of one stream: which Anthropic block is which OpenAI delta, and the usage so far."""

    __slots__ = ("builder", "json_tool", "blocks", "tool_index", "usage", "finished", "stopped")

    def __init__(self, model: str, json_tool: str | None) -> None:
        self.builder = ChunkBuilder(model)
        self.json_tool = json_tool
        #: Anthropic block index -> ("text" | "tool" | "json" | "thinking", OpenAI tool_calls index)
        self.blocks: dict[int, tuple[str, int]] = {}
        self.tool_index = 0
        self.usage: dict[str, Any] = {}
        self.finished = False
        self.stopped = False

    def feed(self, kind: str, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The OpenAI chunks for one Anthropic event (often one, sometimes none)."""
        chunk = self.builder.chunk
        if kind == "content_block_delta":  # by far the most frequent event: first
            delta = data.get("delta") or {}
            found = self.blocks.get(data.get("index"))  # type: ignore[arg-type]
            if found is None:
                raise self.violation(f"a content_block_delta for block {data.get('index')!r}, which was never started")
            block, index = found
            dtype = delta.get("type")
            if dtype == "text_delta":
                yield chunk({"content": delta.get("text", "")})
            elif dtype == "input_json_delta":
                partial = delta.get("partial_json", "")
                if block == "json":
                    yield chunk({"content": partial})
                else:
                    yield chunk({"tool_calls": [{"index": index, "function": {"arguments": partial}}]})
            elif dtype == "thinking_delta":
                yield chunk({"reasoning_content": delta.get("thinking", "")})
            elif dtype == "signature_delta":
                yield chunk(
                    {"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": delta.get("signature", "")}]}
                )
            elif dtype == "citations_delta":
                return  # citations have no OpenAI field; the cited text itself arrives as text_delta
            else:
                raise self.violation(f"a content_block_delta of unknown type {dtype!r}")
        elif kind == "message_start":
            message = data.get("message") or {}
            if message.get("id"):
                self.builder.id = message["id"]
            if message.get("model"):
                self.builder.model = message["model"]
            self.usage = dict(message.get("usage") or {})
            yield chunk({"role": "assistant", "content": ""})
        elif kind == "content_block_start":
            yield from self._block_start(data.get("index"), data.get("content_block") or {})
        elif kind == "message_delta":
            usage = data.get("usage")
            if isinstance(usage, dict):
                # cumulative counts; input figures appear here only on some API versions
                self.usage.update({k: v for k, v in usage.items() if v is not None})
            delta = data.get("delta") or {}
            stop_reason = delta.get("stop_reason")
            if stop_reason is not None and not self.finished:
                self.finished = True
                sequence = delta.get("stop_sequence")
                extra = (
                    {"provider_specific_fields": {"stop_sequence": sequence}}
                    if stop_reason == "stop_sequence" and sequence
                    else {}
                )
                yield chunk(extra, finish_reason(stop_reason, self.json_tool))
        elif kind == "message_stop":
            self.stopped = True
            if not self.finished:
                self.finished = True
                yield chunk({}, "stop")
            yield self.builder.usage_chunk(usage_from_anthropic(self.usage))
        elif kind == "error":
            raise stream_error(data)
        elif kind not in ("content_block_stop", "ping"):
            raise self.violation(f"an event of unknown type {kind!r}")

    def _block_start(self, index: Any, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
        btype = block.get("type")
        chunk = self.builder.chunk
        if btype == "text":
            self.blocks[index] = ("text", 0)
            if block.get("text"):
                yield chunk({"content": block["text"]})
        elif btype == "tool_use":
            if self.json_tool is not None and block.get("name") == self.json_tool:
                self.blocks[index] = ("json", 0)
                return
            self.blocks[index] = ("tool", self.tool_index)
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": self.tool_index,
                            "id": block.get("id"),
                            "type": "function",
                            "function": {"name": block.get("name"), "arguments": ""},
                        }
                    ]
                }
            )
            self.tool_index += 1
        elif btype == "thinking":
            self.blocks[index] = ("thinking", 0)
            if block.get("thinking"):
                yield chunk({"reasoning_content": block["thinking"]})
        elif btype == "redacted_thinking":
            self.blocks[index] = ("thinking", 0)
            yield chunk({"thinking_blocks": [block]})
        else:
            raise self.violation(f"a content block of unknown type {btype!r}")

    def violation(self, what: str) -> UpstreamError:
        return UpstreamError(f"{PROVIDER} sent {what}; the gateway cannot translate it, so the stream was ended")


def _frame(name: str | None, data: str) -> bytes:
    """An SSE event as bytes again (the event name, each data line, the blank line)."""
    head = f"event: {name}\n" if name else ""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"{head}{lines}\n".encode()


async def translate_stream(
    body: AsyncIterator[bytes],
    translator: StreamTranslator,
    *,
    deployment_id: str,
    request_id: str,
    native: NativeEvents | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Decode the SSE byte stream incrementally and yield OpenAI chunks as events complete.

    Each event also goes to ``native`` as it came (re-framed), for an Anthropic client.  Event
    types this code does not know are passed on there and otherwise ignored, as Anthropic's
    versioning policy asks of clients.
    """
    decoder = SSEDecoder()
    try:
        async for raw in body:
            try:
                events = list(decoder.feed(raw))
            except SSEProtocolError as exc:
                raise translator.violation(f"a broken event stream ({exc})") from None
            for event in events:
                try:
                    data = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise translator.violation(f"an event whose data is not JSON: {event.data[:80]!r}") from None
                if not isinstance(data, dict):
                    raise translator.violation("an event whose data is not a JSON object")
                kind = data.get("type") or event.event
                if native is not None:
                    native.add(_frame(event.event, event.data))
                if kind not in STREAM_EVENTS:
                    continue  # an event type added after this code: its data is not ours to translate
                for chunk in translator.feed(kind, data):
                    yield chunk
                if translator.stopped:
                    return
        raise UpstreamError(f"{PROVIDER} ended the stream before message_stop: the answer is incomplete")
    except UpstreamError as exc:
        log.warning(
            "upstream_stream_failed",
            provider=PROVIDER,
            deployment_id=deployment_id,
            request_id=request_id,
            error=exc.message,
        )
        raise
