"""``POST /v1/messages``: OpenAI answers -> Anthropic messages and streaming events.

Message shape: https://docs.anthropic.com/en/api/messages.  Event flow (each event with its
``event:`` line, which the SDKs need): https://docs.anthropic.com/en/docs/build-with-claude/streaming.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from gateway.surfaces import encode_event

from .wire import STOP_REASON_FROM_FINISH


def _message_id(raw: Any) -> str:
    text = str(raw or "")
    return text if text.startswith("msg_") else "msg_" + (text or "gateway")


def anthropic_usage(usage: Mapping[str, Any] | None) -> dict[str, int]:
    """Anthropic ``usage``: ``input_tokens`` counts only uncached input (cache figures are separate)."""
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    created = int(details.get("cache_creation_tokens") or 0)
    prompt = int(usage.get("prompt_tokens") or 0)
    return {
        "input_tokens": max(prompt - cached - created, 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": cached,
    }


def _stop(finish: Any, message: Mapping[str, Any]) -> tuple[str, str | None]:
    specific = message.get("provider_specific_fields")
    sequence = specific.get("stop_sequence") if isinstance(specific, dict) else None
    if finish == "stop" and isinstance(sequence, str):
        return "stop_sequence", sequence
    return STOP_REASON_FROM_FINISH.get(finish, "end_turn"), None


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {"_raw_arguments": raw}  # keep what the model produced rather than failing the answer
    return value if isinstance(value, dict) else {"value": value}


def message_from_completion(data: Mapping[str, Any]) -> dict[str, Any]:
    """An Anthropic ``message`` for an OpenAI ``chat.completion``."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    blocks = message.get("thinking_blocks")
    if isinstance(blocks, list) and blocks:
        content += [dict(b) for b in blocks if isinstance(b, dict)]
    elif message.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": message["reasoning_content"], "signature": ""})
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        content.append(
            {"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": _arguments(fn.get("arguments"))}
        )
    stop_reason, stop_sequence = _stop(choice.get("finish_reason"), message)
    return {
        "id": _message_id(data.get("id")),
        "type": "message",
        "role": "assistant",
        "model": data.get("model") or "",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": anthropic_usage(data.get("usage")),
    }


class EventTranslator:
    """OpenAI chunks -> Anthropic SSE events (bytes), block by block, as they arrive."""

    __slots__ = ("model", "started", "index", "block", "tool_blocks", "stop_reason", "stop_sequence", "usage")

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.index = -1
        #: the open block: "text", "thinking", ("tool", openai index) or None
        self.block: Any = None
        self.tool_blocks: dict[int, int] = {}
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.usage: dict[str, Any] | None = None

    def _start(self, chunk: Mapping[str, Any]) -> bytes:
        self.started = True
        message = {
            "id": _message_id(chunk.get("id")),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model") or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return encode_event("message_start", {"type": "message_start", "message": message})

    def _close(self) -> Iterator[bytes]:
        if self.block is not None:
            yield encode_event("content_block_stop", {"type": "content_block_stop", "index": self.index})
            self.block = None

    def _open(self, kind: Any, block: dict[str, Any]) -> Iterator[bytes]:
        yield from self._close()
        self.index += 1
        self.block = kind
        yield encode_event(
            "content_block_start", {"type": "content_block_start", "index": self.index, "content_block": block}
        )

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        return encode_event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def feed(self, chunk: Mapping[str, Any]) -> Iterator[bytes]:
        if not self.started:
            yield self._start(chunk)
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content")
            if reasoning:
                if self.block != "thinking":
                    yield from self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                yield self._delta(self.index, {"type": "thinking_delta", "thinking": reasoning})
            for block in delta.get("thinking_blocks") or ():
                if block.get("type") == "redacted_thinking":
                    yield from self._open("redacted", dict(block))
                elif block.get("signature"):
                    if self.block != "thinking":
                        yield from self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                    yield self._delta(self.index, {"type": "signature_delta", "signature": block["signature"]})
            text = delta.get("content")
            if text:
                if self.block != "text":
                    yield from self._open("text", {"type": "text", "text": ""})
                yield self._delta(self.index, {"type": "text_delta", "text": text})
            for call in delta.get("tool_calls") or ():
                yield from self._tool_delta(call)
            finish = choice.get("finish_reason")
            if finish:
                self.stop_reason, self.stop_sequence = _stop(finish, delta)

    def _tool_delta(self, call: Mapping[str, Any]) -> Iterator[bytes]:
        position = call.get("index", 0)
        fn = call.get("function") or {}
        if call.get("id") and position not in self.tool_blocks:
            block = {"type": "tool_use", "id": call["id"], "name": fn.get("name") or "", "input": {}}
            yield from self._open(("tool", position), block)
            self.tool_blocks[position] = self.index
        arguments = fn.get("arguments")
        if arguments and position in self.tool_blocks:
            yield self._delta(self.tool_blocks[position], {"type": "input_json_delta", "partial_json": arguments})

    def finish(self) -> Iterator[bytes]:
        """The closing events, once the OpenAI stream ended normally."""
        if not self.started:
            yield self._start({})
        yield from self._close()
        usage = anthropic_usage(self.usage)
        yield encode_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason or "end_turn", "stop_sequence": self.stop_sequence},
                "usage": usage,
            },
        )
        yield encode_event("message_stop", {"type": "message_stop"})


def error_event(error_type: str, message: str) -> bytes:
    return encode_event("error", {"type": "error", "error": {"type": error_type, "message": message}})
