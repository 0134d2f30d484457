"""Anthropic Messages answers and errors -> OpenAI chat completions and gateway errors.

Response shape: https://docs.anthropic.com/en/api/messages (``content`` blocks, ``stop_reason``,
``usage``); cache figures: https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
(``input_tokens`` excludes ``cache_read_input_tokens`` and ``cache_creation_input_tokens``);
errors: https://docs.anthropic.com/en/api/errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway import UpstreamError
from gateway.chat import FINISH_STOP, chat_completion, openai_usage, tool_call
from gateway.upstream import upstream_status_error

from .wire import FINISH_FROM_STOP_REASON, PROVIDER, STATUS_FOR_ERROR_TYPE


def usage_from_anthropic(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """OpenAI ``usage``: the prompt counts every input token, cached or not (as OpenAI does)."""
    usage = usage or {}
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    cache_creation = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cache_read + cache_creation
    return openai_usage(
        prompt, int(usage.get("output_tokens") or 0), cached_tokens=cache_read, cache_creation_tokens=cache_creation
    )


def finish_reason(stop_reason: str | None, json_tool: str | None) -> str | None:
    if stop_reason is None:
        return None
    if json_tool is not None and stop_reason == "tool_use":
        return FINISH_STOP  # the forced JSON tool is the answer, not a call for the client to make
    return FINISH_FROM_STOP_REASON.get(stop_reason, FINISH_STOP)


def completion_from_message(message: Mapping[str, Any], json_tool: str | None) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` for a (non-streamed) Anthropic message."""
    if message.get("type") != "message" or not isinstance(message.get("content"), list):
        raise UpstreamError(f"{PROVIDER} answered with a body that is not a message (type {message.get('type')!r})")
    texts: list[str] = []
    reasoning: list[str] = []
    thinking_blocks: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in message["content"]:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            if json_tool is not None and block.get("name") == json_tool:
                texts.append(orjson.dumps(block.get("input") or {}).decode())
            else:
                calls.append(tool_call(str(block.get("id")), str(block.get("name")), block.get("input") or {}))
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
            thinking_blocks.append(block)
        elif kind == "redacted_thinking":
            thinking_blocks.append(block)
        else:
            # server tools (web search ...) are not requested by this provider; anything else would be lost silently
            raise UpstreamError(f"{PROVIDER} answered with a content block of unknown type {kind!r}")
    extra: dict[str, Any] = {}
    if thinking_blocks:
        extra["thinking_blocks"] = thinking_blocks
    if message.get("stop_reason") == "stop_sequence" and message.get("stop_sequence"):
        extra["provider_specific_fields"] = {"stop_sequence": message["stop_sequence"]}
    return chat_completion(
        completion_id=str(message.get("id") or ""),
        model=str(message.get("model") or ""),
        content="".join(texts) if texts or not calls else None,
        finish_reason=finish_reason(message.get("stop_reason"), json_tool) or FINISH_STOP,
        usage=usage_from_anthropic(message.get("usage")),
        tool_calls=calls or None,
        reasoning_content="".join(reasoning) or None,
        extra_message=extra or None,
    )


def map_upstream_error(exc: UpstreamError) -> UpstreamError:
    """Anthropic's statuses in OpenAI terms: 529 overloaded becomes a retryable 503."""
    if exc.upstream_status == 529:
        return UpstreamError(
            f"{exc.message} (the API is overloaded; retry later or add a fallback deployment)",
            status=503,
            type="service_unavailable",
            upstream_status=529,
            headers=exc.headers,
        )
    return exc


def stream_error(payload: Mapping[str, Any]) -> UpstreamError:
    """An ``error`` event in the middle of a stream, as the error the client gets."""
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    kind = str(error.get("type") or "api_error")
    message = str(error.get("message") or kind)
    status = STATUS_FOR_ERROR_TYPE.get(kind, 500)
    mapped = upstream_status_error(PROVIDER, status, f"{message} ({kind}, during the stream)")
    return map_upstream_error(mapped)
