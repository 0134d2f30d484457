"""Token usage read from answers the gateway forwards without translating (pass-through routes).

The bytes go to the client unchanged; these readers only look.  A JSON answer is read once it is
complete; a stream is scanned line by line as it passes, and only ``data:`` lines that mention
usage are parsed, so a long stream costs a substring search per line.  What each vendor sends:

* Anthropic Messages: ``usage`` of the message (``input_tokens`` excludes cache reads and writes);
  streamed, ``message_start`` carries the input side and ``message_delta`` the output tokens so far
  (https://docs.anthropic.com/en/docs/build-with-claude/streaming).
* OpenAI: ``usage`` (chat, completions, embeddings: ``prompt_tokens``; Responses: ``input_tokens``);
  streamed, the last chunk of a chat stream (``stream_options.include_usage``) or the
  ``response.completed`` event's ``response.usage``.
* Gemini / Vertex AI: ``usageMetadata`` on the answer and on every streamed chunk (server-sent
  events with ``alt=sse``, else one JSON array), the last one final; ``candidatesTokenCount``
  excludes thinking tokens (``thoughtsTokenCount``).
* Bedrock Converse: ``usage`` with ``inputTokens`` / ``outputTokens``; ConverseStream is AWS
  event-stream framing (``application/vnd.amazon.eventstream``), whose ``metadata`` event carries it
  (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html).

Every reading is OpenAI's semantics (:class:`gateway.Usage`): the prompt counts cached and
cache-write tokens, the completion counts reasoning tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway._types import Usage

#: a streamed line longer than this is not scanned for usage (usage events are small; a Responses
#: ``response.completed`` repeats the whole answer, so allow for a long one)
MAX_LINE_BYTES = 4 * 1024 * 1024


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_from_anthropic(usage: Mapping[str, Any]) -> Usage:
    cache_read = _int(usage.get("cache_read_input_tokens"))
    cache_write = _int(usage.get("cache_creation_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + cache_read + cache_write
    completion = _int(usage.get("output_tokens"))
    return Usage(prompt, completion, prompt + completion, cache_read, cache_write)


def usage_from_openai(usage: Mapping[str, Any]) -> Usage:
    prompt = _int(usage.get("prompt_tokens")) or _int(usage.get("input_tokens"))
    completion = _int(usage.get("completion_tokens")) or _int(usage.get("output_tokens"))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    out = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    reasoning = _int(out.get("reasoning_tokens")) if isinstance(out, dict) else 0
    total = _int(usage.get("total_tokens")) or prompt + completion
    return Usage(prompt, completion, total, cached, 0, reasoning)


def usage_from_gemini(meta: Mapping[str, Any]) -> Usage:
    prompt = _int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount"))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    completion = _int(meta.get("candidatesTokenCount")) + thoughts
    cached = _int(meta.get("cachedContentTokenCount"))
    return Usage(prompt, completion, prompt + completion, cached, 0, thoughts)


def usage_from_bedrock(usage: Mapping[str, Any]) -> Usage:
    cache_read = _int(usage.get("cacheReadInputTokens"))
    cache_write = _int(usage.get("cacheWriteInputTokens"))
    prompt = _int(usage.get("inputTokens")) + cache_read + cache_write
    completion = _int(usage.get("outputTokens"))
    return Usage(prompt, completion, prompt + completion, cache_read, cache_write)


def usage_of_answer(data: Any) -> Usage | None:
    """The usage a complete JSON answer states, whichever of the vendors above sent it."""
    if isinstance(data, list):  # Gemini's streamGenerateContent without alt=sse: an array of chunks
        for item in reversed(data):
            found = usage_of_answer(item) if isinstance(item, dict) else None
            if found is not None:
                return found
        return None
    if not isinstance(data, dict):
        return None
    meta = data.get("usageMetadata")
    if isinstance(meta, dict):
        return usage_from_gemini(meta)
    usage = data.get("usage")
    if not isinstance(usage, dict):
        response = data.get("response")  # a Responses API event: response.completed
        usage = response.get("usage") if isinstance(response, dict) else None
        if not isinstance(usage, dict):
            return None
    if "prompt_tokens" in usage or "input_tokens_details" in usage or "output_tokens_details" in usage:
        return usage_from_openai(usage)
    if "inputTokens" in usage or "outputTokens" in usage:
        return usage_from_bedrock(usage)
    if "input_tokens" in usage or "output_tokens" in usage:
        kind = data.get("type")
        if data.get("object") == "response" or (isinstance(kind, str) and kind.startswith("response.")):
            return usage_from_openai(usage)
        return usage_from_anthropic(usage)
    return None


class StreamUsage:
    """Scans a server-sent event stream as it passes: ``feed`` every chunk, then read :attr:`usage`."""

    __slots__ = ("_pending", "_skipping", "usage", "_anthropic")

    def __init__(self) -> None:
        self._pending = b""
        #: inside a line longer than MAX_LINE_BYTES: dropped up to its end
        self._skipping = False
        self.usage: Usage | None = None
        #: Anthropic's usage so far (message_start, then message_delta's running counts)
        self._anthropic: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk if self._pending else chunk
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            else:
                self._line(data[start:end])
            start = end + 1
        rest = data[start:]
        if len(rest) > MAX_LINE_BYTES:
            rest, self._skipping = b"", True
        elif self._skipping:
            rest = b""
        self._pending = rest

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:") or b"sage" not in line:  # usage / usageMetadata
            return
        try:
            event = orjson.loads(line[5:])
        except orjson.JSONDecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self._anthropic = dict(usage)
                self.usage = usage_from_anthropic(self._anthropic)
            return
        if kind == "message_delta":
            usage = event.get("usage")
            if isinstance(usage, dict):
                # the counts are cumulative: the latest wins, the input side stays from message_start
                merged = {**(self._anthropic or {}), **{k: v for k, v in usage.items() if v is not None}}
                self._anthropic = merged
                self.usage = usage_from_anthropic(merged)
            return
        found = usage_of_answer(event)
        if found is not None:
            self.usage = found


class EventStreamUsage:
    """Scans AWS event-stream messages (Bedrock's ConverseStream) as they pass: each message is
    ``total length, headers length, prelude CRC`` (4 bytes each), headers, payload, message CRC; the
    payload of the ``metadata`` event holds the usage.  The CRCs are the client's to check."""

    __slots__ = ("_pending", "usage", "_broken")

    def __init__(self) -> None:
        self._pending = b""
        self.usage: Usage | None = None
        #: framing that makes no sense: stop reading (the bytes still pass to the client)
        self._broken = False

    def feed(self, chunk: bytes) -> None:
        if self._broken:
            return
        data = self._pending + chunk if self._pending else chunk
        start = 0
        while len(data) - start >= 12:
            total = int.from_bytes(data[start : start + 4], "big")
            headers = int.from_bytes(data[start + 4 : start + 8], "big")
            if total < 16 + headers or total > MAX_LINE_BYTES:
                self._broken, self._pending = True, b""
                return
            if len(data) - start < total:
                break
            payload = data[start + 12 + headers : start + total - 4]
            if b"sage" in payload:
                self._payload(payload)
            start += total
        self._pending = data[start:]

    def _payload(self, payload: bytes) -> None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        usage = event.get("usage") if isinstance(event, dict) else None
        if isinstance(usage, dict) and ("inputTokens" in usage or "outputTokens" in usage):
            self.usage = usage_from_bedrock(usage)
