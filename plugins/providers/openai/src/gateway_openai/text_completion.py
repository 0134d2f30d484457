"""Chat requests to OpenAI's legacy completion models (``text-completion-openai/``), as LiteLLM
serves them: the messages' text becomes the ``prompt`` of a ``/v1/completions`` call, and the
answer (or each stream chunk) comes back in the chat shape, ``text`` as the assistant's content.

Tools have no form in a completions call: a request with them is refused naming the field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from gateway import BadRequestError

#: chat members a completions call has no place for (tools are refused, these are left out)
CHAT_ONLY = ("messages", "tool_choice", "parallel_tool_calls", "response_format", "modalities", "audio")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def prompt_body(chat: dict[str, Any], model: str) -> dict[str, Any]:
    """The completions body for a chat body: the messages' text, one per line, as the prompt."""
    for name in ("tools", "functions"):
        if chat.get(name):
            raise BadRequestError(
                f"{name}: the model {model!r} is a completion model (text-completion-openai), which takes no tools; "
                "use a chat model",
                param=name,
            )
    messages = chat.get("messages") or []
    body = {k: v for k, v in chat.items() if k not in CHAT_ONLY and k != "functions" and k != "tools"}
    body["prompt"] = "\n".join(_text(m.get("content")) for m in messages if isinstance(m, dict))
    return body


def chat_completion(data: dict[str, Any]) -> dict[str, Any]:
    """A ``text_completion`` answer in the ``chat.completion`` shape."""
    choices = [
        {
            "index": choice.get("index", i),
            "message": {"role": "assistant", "content": choice.get("text") or ""},
            "logprobs": choice.get("logprobs"),
            "finish_reason": choice.get("finish_reason"),
        }
        for i, choice in enumerate(data.get("choices") or [])
        if isinstance(choice, dict)
    ]
    return {**data, "object": "chat.completion", "choices": choices}


async def chat_chunks(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """A ``text_completion`` stream as ``chat.completion.chunk`` events (the usage chunk included)."""
    first = True
    async for chunk in chunks:
        choices = []
        for i, choice in enumerate(chunk.get("choices") or []):
            if not isinstance(choice, dict):
                continue
            delta: dict[str, Any] = {"content": choice.get("text") or ""}
            if first:
                delta["role"] = "assistant"
            choices.append(
                {"index": choice.get("index", i), "delta": delta, "finish_reason": choice.get("finish_reason")}
            )
        if choices:
            first = False
        yield {**chunk, "object": "chat.completion.chunk", "choices": choices}
