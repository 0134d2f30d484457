"""Gemini ``GenerateContentResponse`` -> OpenAI ``chat.completion`` and stream chunks.

Shape: https://ai.google.dev/api/generate-content#generatecontentresponse (candidates, parts,
``finishReason``, ``promptFeedback``, ``usageMetadata``).  A stream
(``streamGenerateContent?alt=sse``) is a sequence of the same objects, each carrying the new parts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

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
from gateway.upstream import upstream_status_error

from .encode import PROVIDER, SIGNATURE_MARK

#: Gemini ``finishReason`` -> OpenAI ``finish_reason``; anything else (OTHER, MALFORMED_FUNCTION_CALL ...) is "stop"
FINISH_REASONS = {
    "STOP": FINISH_STOP,
    "MAX_TOKENS": FINISH_LENGTH,
    "SAFETY": FINISH_CONTENT_FILTER,
    "RECITATION": FINISH_CONTENT_FILTER,
    "LANGUAGE": FINISH_CONTENT_FILTER,
    "BLOCKLIST": FINISH_CONTENT_FILTER,
    "PROHIBITED_CONTENT": FINISH_CONTENT_FILTER,
    "SPII": FINISH_CONTENT_FILTER,
    "IMAGE_SAFETY": FINISH_CONTENT_FILTER,
}


def finish_reason(gemini_reason: str | None, called_tools: bool) -> str:
    mapped = FINISH_REASONS.get(gemini_reason or "", FINISH_STOP)
    return FINISH_TOOL_CALLS if called_tools and mapped == FINISH_STOP else mapped


def usage_from(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI usage from ``usageMetadata``: thinking counts as completion (reasoning) tokens, as OpenAI does."""
    if not isinstance(metadata, Mapping):
        return None
    prompt = int(metadata.get("promptTokenCount") or 0) + int(metadata.get("toolUsePromptTokenCount") or 0)
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    completion = int(metadata.get("candidatesTokenCount") or 0) + thoughts
    return openai_usage(
        prompt, completion, cached_tokens=int(metadata.get("cachedContentTokenCount") or 0), reasoning_tokens=thoughts
    )


def call_id(part: Mapping[str, Any]) -> str:
    """A tool call id; Gemini's ``thoughtSignature`` rides along so the next turn can send it back."""
    base = "call_" + os.urandom(12).hex()
    signature = part.get("thoughtSignature")
    return f"{base}{SIGNATURE_MARK}{signature}" if isinstance(signature, str) and signature else base


def first_candidate(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = data.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], Mapping):
        return candidates[0]
    return None


def parts_of(candidate: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    content = candidate.get("content") if candidate else None
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []


def to_chat_completion(data: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The OpenAI answer for a complete Gemini answer (a blocked prompt becomes ``content_filter``)."""
    candidate = first_candidate(data)
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts_of(candidate):
        if isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
        elif isinstance(part.get("functionCall"), Mapping):
            fn = part["functionCall"]
            calls.append(tool_call(call_id(part), str(fn.get("name", "")), fn.get("args") or {}))
    if candidate is None:
        reason = FINISH_CONTENT_FILTER if _prompt_blocked(data) else FINISH_STOP
    else:
        reason = finish_reason(candidate.get("finishReason"), bool(calls))
    return chat_completion(
        completion_id=str(data.get("responseId") or new_completion_id()),
        model=str(data.get("modelVersion") or model),
        content="".join(texts) if texts or not calls else None,
        finish_reason=reason,
        usage=usage_from(data.get("usageMetadata")),
        tool_calls=calls or None,
        reasoning_content="".join(thoughts) or None,
    )


def _prompt_blocked(data: Mapping[str, Any]) -> bool:
    feedback = data.get("promptFeedback")
    return isinstance(feedback, Mapping) and bool(feedback.get("blockReason"))


class StreamTranslator:
    """Turns each streamed ``GenerateContentResponse`` into OpenAI chunks as soon as it arrives."""

    def __init__(self, model: str) -> None:
        self.builder = ChunkBuilder(model)
        self.tool_calls = 0
        self.finished = False
        self.usage: dict[str, Any] | None = None

    def feed(self, data: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(data, Mapping):
            raise UpstreamError(f"{PROVIDER} sent a stream event that is not a JSON object")
        if "error" in data:
            raise stream_error(data["error"])
        if data.get("usageMetadata") is not None:
            self.usage = usage_from(data["usageMetadata"])
        candidate = first_candidate(data)
        for part in parts_of(candidate):
            if isinstance(part.get("text"), str) and part["text"]:
                yield self.builder.delta({"reasoning_content" if part.get("thought") else "content": part["text"]})
            elif isinstance(part.get("functionCall"), Mapping):
                fn = part["functionCall"]
                index, self.tool_calls = self.tool_calls, self.tool_calls + 1
                yield self.builder.delta(
                    {"tool_calls": [tool_call(call_id(part), str(fn.get("name", "")), fn.get("args") or {}, index)]}
                )
        reason = candidate.get("finishReason") if candidate else None
        if reason:
            self.finished = True
            yield self.builder.delta({}, finish_reason(reason, self.tool_calls > 0))
        elif candidate is None and _prompt_blocked(data):
            self.finished = True
            yield self.builder.chunk({"role": "assistant", "content": ""}, FINISH_CONTENT_FILTER)

    def close(self) -> Iterator[dict[str, Any]]:
        """At the end of the upstream body: the usage chunk, or an error if the answer was cut short."""
        if not self.finished:
            raise UpstreamError(
                f"{PROVIDER} ended the stream before the answer was finished (no finishReason); the reply is incomplete"
            )
        if self.usage is not None:
            yield self.builder.usage_chunk(self.usage)


def stream_error(error: Any) -> UpstreamError:
    """An ``{"error": {...}}`` event in the middle of a stream."""
    if isinstance(error, Mapping):
        code = error.get("code")
        status = code if isinstance(code, int) and 400 <= code <= 599 else 500
        return upstream_status_error(PROVIDER, status, f"{error.get('status', '')} {error.get('message', '')}".strip())
    return UpstreamError(f"{PROVIDER} reported an error mid-stream: {error}")
