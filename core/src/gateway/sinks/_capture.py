"""Keeping what a streamed answer said, for sinks, within a fixed memory budget.

Streams pass through unchanged; the capture appends each choice's content deltas (and tool-call
fragments) up to ``limit`` characters per choice, remembers the finish reasons, and notes when the
last chunk arrived (the end of the upstream call).  ``as_response()`` gives the same shape as a
non-streaming chat completion, so sinks handle both alike.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

#: at most this many choices are captured (``n`` is client-controlled)
MAX_CHOICES = 8
#: at most this many tool calls per choice
MAX_TOOL_CALLS = 32


class StreamCapture:
    """The assembled content of one streamed chat or text completion."""

    __slots__ = (
        "limit",
        "id",
        "model",
        "created",
        "texts",
        "sizes",
        "finish",
        "tools",
        "dropped_chars",
        "last_chunk_at",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.texts: dict[int, list[str]] = {}
        self.sizes: dict[int, int] = {}
        self.finish: dict[int, str] = {}
        self.tools: dict[int, dict[int, dict[str, Any]]] = {}
        self.dropped_chars = 0
        self.last_chunk_at: float | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        self.last_chunk_at = time.perf_counter()
        if self.id is None:
            self.id = chunk.get("id") if isinstance(chunk.get("id"), str) else None
            self.model = chunk.get("model") if isinstance(chunk.get("model"), str) else None
            self.created = chunk.get("created") if isinstance(chunk.get("created"), int) else None
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = raw_index if isinstance(raw_index := choice.get("index"), int) else 0
            if index >= MAX_CHOICES:
                continue
            delta = raw_delta if isinstance(raw_delta := choice.get("delta"), dict) else choice
            text = delta.get("content") if "delta" in choice else choice.get("text")
            if isinstance(text, str) and text:
                self._append(index, text)
            if isinstance(delta.get("tool_calls"), list):
                self._tool_calls(index, delta["tool_calls"])
            if isinstance(choice.get("finish_reason"), str):
                self.finish[index] = choice["finish_reason"]

    def _append(self, index: int, text: str) -> None:
        used = self.sizes.get(index, 0)
        room = self.limit - used
        if room <= 0:
            self.dropped_chars += len(text)
            return
        if len(text) > room:
            self.dropped_chars += len(text) - room
            text = text[:room]
        self.texts.setdefault(index, []).append(text)
        self.sizes[index] = used + len(text)

    def _tool_calls(self, index: int, calls: list[Any]) -> None:
        slots = self.tools.setdefault(index, {})
        for call in calls:
            if not isinstance(call, dict):
                continue
            position = raw_position if isinstance(raw_position := call.get("index"), int) else 0
            if position >= MAX_TOOL_CALLS:
                continue
            slot = slots.setdefault(
                position, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
            if isinstance(call.get("id"), str):
                slot["id"] = call["id"]
            function = raw_function if isinstance(raw_function := call.get("function"), dict) else {}
            if isinstance(function.get("name"), str):
                slot["function"]["name"] += function["name"]
            if isinstance(function.get("arguments"), str):
                args = slot["function"]["arguments"]
                room = self.limit - len(args)
                piece = function["arguments"][: max(room, 0)]
                self.dropped_chars += len(function["arguments"]) - len(piece)
                slot["function"]["arguments"] = args + piece

    def as_response(self) -> dict[str, Any]:
        indexes = sorted(set(self.texts) | set(self.finish) | set(self.tools))
        choices = []
        for index in indexes:
            message: dict[str, Any] = {"role": "assistant", "content": "".join(self.texts.get(index, ()))}
            if index in self.tools:
                message["tool_calls"] = [self.tools[index][p] for p in sorted(self.tools[index])]
            choices.append({"index": index, "message": message, "finish_reason": self.finish.get(index)})
        response: dict[str, Any] = {"id": self.id, "object": "chat.completion", "model": self.model, "choices": choices}
        if self.created is not None:
            response["created"] = self.created
        if self.dropped_chars:
            response["truncated_chars"] = self.dropped_chars
        return response


async def capture_stream(
    chunks: AsyncIterator[dict[str, Any]], capture: StreamCapture
) -> AsyncIterator[dict[str, Any]]:
    """Pass ``chunks`` through unchanged while ``capture`` records them."""
    async for chunk in chunks:
        try:
            capture.add(chunk)
        except Exception:
            pass
        yield chunk
