"""Reading upstream answers and building OpenAI ones (completions, chunks, usage, finish reasons).

Inside the gateway an answer is OpenAI's format; a translating provider builds it with these.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import orjson

from gateway._errors import UpstreamError

#: the ``finish_reason`` values OpenAI clients know
FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_TOOL_CALLS = "tool_calls"
FINISH_CONTENT_FILTER = "content_filter"
FINISH_REASONS = frozenset({FINISH_STOP, FINISH_LENGTH, FINISH_TOOL_CALLS, FINISH_CONTENT_FILTER, "function_call"})

# --------------------------------------------------------------------------- reading upstream answers


def upstream_json_object(provider: str, raw: bytes) -> dict[str, Any]:
    """Parse an upstream's JSON answer; an answer that is not a JSON object is the upstream's fault (502)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{provider} answered with a body that is not JSON ({raw[:80]!r}...)") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"{provider} answered with JSON that is not an object")
    return data


# --------------------------------------------------------------------------- building OpenAI answers


def new_completion_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def openai_usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
    cache_creation_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> dict[str, Any]:
    """An OpenAI ``usage`` object; cache figures go in ``prompt_tokens_details`` (as LiteLLM does).

    ``prompt_tokens`` must already include cached and cache-creation tokens (OpenAI counts cached
    tokens as part of the prompt), so ``total_tokens`` is the tokens billed in some way.
    """
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    details: dict[str, int] = {"cached_tokens": cached_tokens}
    if cache_creation_tokens:
        details["cache_creation_tokens"] = cache_creation_tokens
    usage["prompt_tokens_details"] = details
    if reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return usage


def tool_call(call_id: str, name: str, arguments: str | Mapping[str, Any], index: int | None = None) -> dict[str, Any]:
    """One OpenAI ``tool_calls`` entry (``index`` is only used in stream deltas)."""
    args = arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()
    call: dict[str, Any] = {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
    if index is not None:
        call = {"index": index, **call}
    return call


def chat_completion(
    *,
    completion_id: str,
    model: str,
    content: str | None,
    finish_reason: str | None,
    usage: dict[str, Any] | None,
    tool_calls: list[dict[str, Any]] | None = None,
    reasoning_content: str | None = None,
    created: int | None = None,
    extra_message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning_content:
        message["reasoning_content"] = reasoning_content
    if extra_message:
        message.update(extra_message)
    data: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


class ChunkBuilder:
    """Builds the ``chat.completion.chunk`` dicts of one stream (same id, model and created)."""

    __slots__ = ("id", "model", "created", "sent_role")

    def __init__(self, model: str, completion_id: str | None = None, created: int | None = None) -> None:
        self.id = completion_id or new_completion_id()
        self.model = model
        self.created = created if created is not None else int(time.time())
        #: whether a chunk carrying ``role: assistant`` went out (OpenAI streams say it once, first)
        self.sent_role = False

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """A chunk whose delta carries ``role: assistant`` if no chunk has said it yet."""
        if not self.sent_role:
            self.sent_role = True
            delta = {"role": "assistant", **delta}
        return self.chunk(delta, finish_reason)

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The final chunk with ``choices: []`` (hidden from clients that did not ask for usage)."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }
