"""Deterministic OpenAI-format answers, for the mock provider and for test upstreams.

Token counts are a fixed function of the text (about four characters a token) so that tests and
the embedded default can compute the exact usage, and so the cost, of any request.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

from gateway.chat import ChatRequest, Message, Text, ToolResult


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: ceil(len / 4), at least 1 for non-empty text."""
    return (len(text) + 3) // 4 if text else 0


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(count_tokens(message_text(m)) + 3 for m in messages if isinstance(m, dict))


def typed_message_text(message: Message) -> str:
    """:func:`message_text` of a typed message: its texts, tool results' included, joined by spaces."""
    texts: list[str] = []
    for part in message.parts:
        if isinstance(part, Text):
            texts.append(part.text)
        elif isinstance(part, ToolResult):
            texts.extend(inner.text for inner in part.parts if isinstance(inner, Text))
    return " ".join(texts)


def request_prompt_tokens(request: ChatRequest) -> int:
    """:func:`prompt_tokens` of a typed chat request, whatever format its client spoke (an Anthropic
    top-level ``system`` is a message too).  A request in OpenAI format that no hook looked into is
    counted from the client's own list, without decoding it."""
    if request.format == "openai" and not request.messages_decoded:
        return prompt_tokens(request.raw_messages())
    return sum(count_tokens(typed_message_text(m)) + 3 for m in request.messages)


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_id(seed: str) -> str:
    return "chatcmpl-" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def chat_completion(
    model: str, content: str, *, prompt: int, finish_reason: str = "stop", seed: str = ""
) -> dict[str, Any]:
    return {
        "id": completion_id(seed or content),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": usage(prompt, count_tokens(content)),
    }


def split_words(content: str, pieces: int) -> list[str]:
    """Split ``content`` into about ``pieces`` parts whose concatenation is exactly ``content``."""
    if pieces <= 1 or len(content) < 2:
        return [content]
    step = max(1, len(content) // pieces)
    return [content[i : i + step] for i in range(0, len(content), step)]


def chat_chunks(
    model: str, content: str, *, prompt: int, pieces: int = 5, with_usage: bool = True, seed: str = ""
) -> Iterator[dict[str, Any]]:
    cid = completion_id(seed or content)
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""}, None)
    for piece in split_words(content, pieces):
        yield chunk({"content": piece}, None)
    yield chunk({}, "stop")
    if with_usage:
        yield {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage(prompt, count_tokens(content)),
        }


def text_completion(model: str, text: str, *, prompt: int) -> dict[str, Any]:
    return {
        "id": "cmpl-" + hashlib.sha256(text.encode()).hexdigest()[:24],
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
        "usage": usage(prompt, count_tokens(text)),
    }


def embedding_vector(text: str, dims: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128, 6) for i in range(dims)]


def embeddings(model: str, inputs: list[str], dims: int = 8) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": embedding_vector(text, dims)}
            for i, text in enumerate(inputs)
        ],
        "model": model,
        "usage": {
            "prompt_tokens": sum(count_tokens(t) for t in inputs),
            "total_tokens": sum(count_tokens(t) for t in inputs),
        },
    }
