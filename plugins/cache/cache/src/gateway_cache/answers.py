"""Cached answers: one format-neutral form (OpenAI's complete answer), from and to streams.

An entry holds the answer as OpenAI's ``chat.completion`` (or the embeddings / text completion
object), whatever the client or the upstream spoke: each surface encodes it for its own client, as
it does any answer.  A stream is assembled into that form once it is complete; a hit for a stream
request is replayed as chunks, with the usage chunk (the surface hides it from a client that did
not ask for usage).  A delta member this module does not know is never guessed at: such a stream
is not stored.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

ENTRY_VERSION = 1
#: delta members a stream may carry that assemble into the answer's message
TEXT_MEMBERS = ("content", "reasoning_content", "refusal")


class Uncacheable(Exception):
    """This answer cannot be stored faithfully (the reason is its message)."""


def encode_entry(kind: str, data: dict[str, Any], stored_at: float | None = None) -> bytes:
    return orjson.dumps({"v": ENTRY_VERSION, "k": kind, "t": stored_at or time.time(), "d": data})


def decode_entry(raw: bytes | None, kind: str) -> tuple[dict[str, Any], float] | None:
    """(answer, stored at), or None for anything that is not this plugin's entry of this kind:
    a corrupt or foreign value is a miss, never an error."""
    if not raw:
        return None
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION or entry.get("k") != kind:
        return None
    data, stored_at = entry.get("d"), entry.get("t")
    if not isinstance(data, dict) or not isinstance(stored_at, int | float):
        return None
    if kind == "chat" and not _valid_chat(data):
        return None
    return data, float(stored_at)


def _valid_chat(data: dict[str, Any]) -> bool:
    choices = data.get("choices")
    return (
        isinstance(choices, list)
        and bool(choices)
        and all(isinstance(c, dict) and isinstance(c.get("message"), dict) for c in choices)
    )


def check_chat_answer(data: dict[str, Any]) -> None:
    """A complete chat answer worth storing: every choice finished."""
    if not _valid_chat(data):
        raise Uncacheable("the answer has no choices")
    for choice in data["choices"]:
        if choice.get("finish_reason") is None:
            raise Uncacheable("a choice did not finish")


# --------------------------------------------------------------------------- stream -> answer


class StreamAssembler:
    """Collects a stream's chunks into one ``chat.completion``."""

    __slots__ = ("head", "choices", "usage", "extra")

    def __init__(self) -> None:
        self.head: dict[str, Any] | None = None
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: Any = None
        #: top-level chunk members kept on the answer (``system_fingerprint`` ...)
        self.extra: dict[str, Any] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        if self.head is None:
            self.head = chunk
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for name, value in chunk.items():
            if name not in ("id", "object", "created", "model", "choices", "usage") and value is not None:
                self.extra[name] = value
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                raise Uncacheable("a chunk's choice is not an object")
            self._choice(choice)

    def _choice(self, choice: dict[str, Any]) -> None:
        index = choice.get("index", 0)
        if not isinstance(index, int):
            raise Uncacheable("a choice's index is not a number")
        state = self.choices.setdefault(index, {"message": {"role": "assistant"}, "finish_reason": None, "tools": {}})
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise Uncacheable("a delta is not an object")
        message = state["message"]
        for name, value in delta.items():
            if value is None or name == "role":
                continue
            if name in TEXT_MEMBERS and isinstance(value, str):
                message[name] = message.get(name, "") + value
            elif name == "tool_calls" and isinstance(value, list):
                self._tool_calls(state["tools"], value)
            else:
                raise Uncacheable(f"the stream carries {name!r}, which a cached answer cannot replay faithfully")
        if choice.get("finish_reason") is not None:
            state["finish_reason"] = choice["finish_reason"]
        if choice.get("logprobs") is not None:
            raise Uncacheable("the stream carries logprobs")

    @staticmethod
    def _tool_calls(tools: dict[int, dict[str, Any]], calls: list[Any]) -> None:
        for call in calls:
            if not isinstance(call, dict) or not isinstance(call.get("index", 0), int):
                raise Uncacheable("a tool call delta is malformed")
            slot = tools.setdefault(call.get("index", 0), {"id": None, "type": "function", "name": "", "arguments": ""})
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function") or {}
            if isinstance(function, dict):
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""

    def answer(self) -> dict[str, Any]:
        if self.head is None or not self.choices:
            raise Uncacheable("the stream carried no choices")
        choices = []
        for index in sorted(self.choices):
            state = self.choices[index]
            message = state["message"]
            message.setdefault("content", None)
            if state["tools"]:
                message["tool_calls"] = [
                    {"id": t["id"], "type": "function", "function": {"name": t["name"], "arguments": t["arguments"]}}
                    for _, t in sorted(state["tools"].items())
                ]
            choices.append({"index": index, "message": message, "finish_reason": state["finish_reason"]})
        data: dict[str, Any] = {
            "id": self.head.get("id"),
            "object": "chat.completion",
            "created": self.head.get("created") or int(time.time()),
            "model": self.head.get("model"),
            "choices": choices,
            **self.extra,
        }
        if self.usage is not None:
            data["usage"] = self.usage
        check_chat_answer(data)
        return data


# --------------------------------------------------------------------------- answer -> stream / answer


def fresh_id(data: dict[str, Any]) -> str:
    """A new answer id in the answer's own style: every answer has its own (the ledger finds it)."""
    old = data.get("id")
    if isinstance(old, str):
        for separator in ("-", "_"):  # chatcmpl-..., cmpl-..., msg_... (an Anthropic upstream's)
            head, found, _ = old.partition(separator)
            if found and head.isalnum():
                return f"{head}{separator}{os.urandom(12).hex()}"
    return f"chatcmpl-{os.urandom(12).hex()}"


def served_answer(data: dict[str, Any]) -> dict[str, Any]:
    """The cached answer as sent for one hit (its own id)."""
    if "id" not in data:  # embeddings carry no id
        return data
    return {**data, "id": fresh_id(data)}


async def replay(data: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """A cached ``chat.completion`` as the chunks of a stream, usage chunk last."""
    head = {
        "id": fresh_id(data),
        "object": "chat.completion.chunk",
        "created": data.get("created") or int(time.time()),
        "model": data.get("model"),
    }
    for name, value in data.items():
        if name not in ("id", "object", "created", "model", "choices", "usage"):
            head[name] = value
    for choice in data.get("choices") or ():
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        delta: dict[str, Any] = {"role": "assistant"}
        for name in TEXT_MEMBERS:
            if message.get(name) is not None:
                delta[name] = message[name]
        if "content" not in delta:
            delta["content"] = None if message.get("tool_calls") else ""
        yield {**head, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}
        calls = message.get("tool_calls") or []
        if calls:
            deltas = [{"index": i, **call} for i, call in enumerate(calls)]
            yield {**head, "choices": [{"index": index, "delta": {"tool_calls": deltas}, "finish_reason": None}]}
        yield {**head, "choices": [{"index": index, "delta": {}, "finish_reason": choice.get("finish_reason")}]}
    if data.get("usage"):
        yield {**head, "choices": [], "usage": data["usage"]}


def replayable(data: dict[str, Any]) -> bool:
    """Whether :func:`replay` carries everything of this answer (else a stream request misses)."""
    for choice in data.get("choices") or ():
        if choice.get("logprobs"):
            return False
        for name, value in (choice.get("message") or {}).items():
            if name in ("role", "tool_calls", *TEXT_MEMBERS) or value in (None, [], {}, ""):
                continue
            return False
    return True
