"""Bedrock Converse answers and ConverseStream events -> OpenAI completions and chunks.

Shapes: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (response
syntax: ``output.message``, ``stopReason``, ``usage``), https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
and https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
(``messageStart``, ``contentBlockStart``, ``contentBlockDelta``, ``contentBlockStop``,
``messageStop``, ``metadata`` and the exception events).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from gateway import UpstreamError
from gateway.chat import (
    FINISH_CONTENT_FILTER,
    FINISH_LENGTH,
    FINISH_STOP,
    FINISH_TOOL_CALLS,
    ChunkBuilder,
    chat_completion,
    new_completion_id,
    openai_usage,
    tool_call,
)

from .errors import PROVIDER, exception_error, message_of
from .eventstream import EventMessage

STOP_REASONS = {
    "end_turn": FINISH_STOP,
    "stop_sequence": FINISH_STOP,
    "tool_use": FINISH_TOOL_CALLS,
    "max_tokens": FINISH_LENGTH,
    "model_context_window_exceeded": FINISH_LENGTH,
    "guardrail_intervened": FINISH_CONTENT_FILTER,
    "content_filtered": FINISH_CONTENT_FILTER,
}


def finish_reason(stop_reason: Any) -> str:
    return STOP_REASONS.get(str(stop_reason), FINISH_STOP)


def usage_from(usage: Any) -> dict[str, Any] | None:
    """OpenAI usage; Bedrock counts cache reads and writes apart from ``inputTokens``, OpenAI inside the prompt."""
    if not isinstance(usage, Mapping):
        return None
    read = int(usage.get("cacheReadInputTokens") or 0)
    write = int(usage.get("cacheWriteInputTokens") or 0)
    prompt = int(usage.get("inputTokens") or 0) + read + write
    return openai_usage(prompt, int(usage.get("outputTokens") or 0), cached_tokens=read, cache_creation_tokens=write)


def to_chat_completion(data: Mapping[str, Any], model: str) -> dict[str, Any]:
    output = data.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    blocks = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(blocks, list):
        raise UpstreamError(f"{PROVIDER} answered without output.message.content")
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            calls.append(tool_call(str(use.get("toolUseId", "")), str(use.get("name", "")), use.get("input") or {}))
        elif isinstance(block.get("reasoningContent"), Mapping):
            text = (block["reasoningContent"].get("reasoningText") or {}).get("text")
            if isinstance(text, str):
                reasoning.append(text)
    return chat_completion(
        completion_id=new_completion_id(),
        model=model,
        content="".join(texts) if texts or not calls else None,
        finish_reason=finish_reason(data.get("stopReason")),
        usage=usage_from(data.get("usage")),
        tool_calls=calls or None,
        reasoning_content="".join(reasoning) or None,
    )


class StreamTranslator:
    """ConverseStream messages -> OpenAI chunks, one event at a time."""

    def __init__(self, model: str) -> None:
        self.builder = ChunkBuilder(model)
        #: content block index -> OpenAI tool call index
        self.tool_blocks: dict[int, int] = {}
        self.stopped = False
        self.usage: dict[str, Any] | None = None

    def feed(self, message: EventMessage) -> Iterator[dict[str, Any]]:
        headers = message.headers
        kind = headers.get(":message-type")
        if kind == "exception":
            raise exception_error(str(headers.get(":exception-type", "")), message_of(message.payload))
        if kind == "error":
            raise UpstreamError(
                f"{PROVIDER} stream error {headers.get(':error-code')}: {headers.get(':error-message')}"
            )
        if kind != "event":
            raise UpstreamError(f"{PROVIDER} sent a stream message of unknown type {kind!r}")
        event = headers.get(":event-type")
        try:
            data = orjson.loads(message.payload) if message.payload else {}
        except orjson.JSONDecodeError:
            raise UpstreamError(f"{PROVIDER} sent a {event} event whose payload is not JSON") from None
        if not isinstance(data, dict):
            raise UpstreamError(f"{PROVIDER} sent a {event} event whose payload is not a JSON object")
        handler = self._handlers.get(str(event))
        if handler is None:
            raise UpstreamError(f"{PROVIDER} sent an unknown stream event type {event!r}")
        yield from handler(self, data)

    def _message_start(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return iter(())

    def _block_start(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        use = (data.get("start") or {}).get("toolUse")
        if isinstance(use, Mapping):
            index = len(self.tool_blocks)
            self.tool_blocks[int(data.get("contentBlockIndex", -1))] = index
            yield self.builder.delta(
                {"tool_calls": [tool_call(str(use.get("toolUseId", "")), str(use.get("name", "")), "", index)]}
            )

    def _block_delta(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        delta = data.get("delta") or {}
        if isinstance(delta.get("text"), str):
            if delta["text"]:
                yield self.builder.delta({"content": delta["text"]})
        elif isinstance(delta.get("toolUse"), Mapping):
            block = int(data.get("contentBlockIndex", -1))
            if block not in self.tool_blocks:
                raise UpstreamError(f"{PROVIDER} sent tool input for content block {block} before starting it")
            yield self.builder.delta(
                {
                    "tool_calls": [
                        {
                            "index": self.tool_blocks[block],
                            "function": {"arguments": str(delta["toolUse"].get("input", ""))},
                        }
                    ]
                }
            )
        elif isinstance(delta.get("reasoningContent"), Mapping):
            text = delta["reasoningContent"].get("text")
            if isinstance(text, str) and text:
                yield self.builder.delta({"reasoning_content": text})

    def _block_stop(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return iter(())

    def _message_stop(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        self.stopped = True
        yield self.builder.delta({}, finish_reason(data.get("stopReason")))

    def _metadata(self, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
        self.usage = usage_from(data.get("usage")) or self.usage
        return iter(())

    _handlers = {
        "messageStart": _message_start,
        "contentBlockStart": _block_start,
        "contentBlockDelta": _block_delta,
        "contentBlockStop": _block_stop,
        "messageStop": _message_stop,
        "metadata": _metadata,
    }

    def close(self) -> Iterator[dict[str, Any]]:
        if not self.stopped:
            raise UpstreamError(f"{PROVIDER} ended the stream before messageStop; the reply is incomplete")
        if self.usage is not None:
            yield self.builder.usage_chunk(self.usage)
