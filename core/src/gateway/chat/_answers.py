"""Reading upstream answers and building OpenAI ones (completions, chunks, usage, finish reasons).

Inside the gateway an answer is OpenAI's format; a translating provider builds it with these.
"""

from __future__ import annotations

import json
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


def loads_replacing(raw: bytes | str) -> Any:
    """JSON from an upstream, with text that is not valid Unicode replaced by U+FFFD.

    A model can emit half a UTF-8 sequence (a token boundary inside a character): some servers
    send the raw bytes, others a lone surrogate escape (``"\\ud83d"``).  orjson refuses both, and
    no string holding them could be sent on; so, only when orjson refuses, the body is read again
    with the bad bytes replaced and lone surrogates turned into U+FFFD.  Raises
    ``orjson.JSONDecodeError`` when it is not JSON at all.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _loads_replacing(raw, exc)


def _loads_replacing(raw: bytes | str, error: orjson.JSONDecodeError) -> Any:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        return _replace_surrogates(json.loads(text))
    except ValueError:
        raise error from None


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        # a valid pair becomes its character, a lone half becomes U+FFFD
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def upstream_json_object(provider: str, raw: bytes) -> dict[str, Any]:
    """Parse an upstream's JSON answer; an answer that is not a JSON object is the upstream's fault (502).
    Text that is not valid Unicode is replaced (:func:`loads_replacing`)."""
    try:
        data = loads_replacing(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{provider} answered with a body that is not JSON ({raw[:80]!r}...)") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"{provider} answered with JSON that is not an object")
    return data


def upstream_json_answer(provider: str, raw: bytes) -> tuple[dict[str, Any], bool]:
    """:func:`upstream_json_object`, and whether text in it had to be replaced (then ``raw`` must not
    be sent on as it is: see :func:`loads_replacing`)."""
    replaced = False
    try:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            data, replaced = _loads_replacing(raw, exc), True
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{provider} answered with a body that is not JSON ({raw[:80]!r}...)") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"{provider} answered with JSON that is not an object")
    return data, replaced


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
