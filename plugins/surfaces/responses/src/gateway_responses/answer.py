"""The Response object, from the gateway's answer (OpenAI chat format) and the request.

Output items, in the order the model produced them: ``reasoning`` (its text as a summary, a
signature as ``encrypted_content`` so it can be sent back), ``message`` (``output_text``), then one
``function_call`` per tool call.  Usage in the Responses names (``input_tokens``,
``output_tokens``, their details).  Shapes: the ``openai`` SDK's ``types.responses.Response``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from gateway.chat import JSON

from .decode import ResponsesRequest


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def reasoning_item(text: str, signature: str | None = None, item_id: str | None = None) -> JSON:
    item: JSON = {
        "id": item_id or new_id("rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    if signature:
        item["encrypted_content"] = signature
    return item


def message_item(
    text: str, item_id: str | None = None, *, refusal: str | None = None, status: str = "completed"
) -> JSON:
    content: list[JSON] = []
    if text or refusal is None:
        content.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if refusal is not None:
        content.append({"type": "refusal", "refusal": refusal})
    return {
        "id": item_id or new_id("msg"),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call_item(
    call_id: str, name: str, arguments: str, item_id: str | None = None, status: str = "completed"
) -> JSON:
    return {
        "id": item_id or new_id("fc"),
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def output_items(message: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> list[JSON]:
    """The output items of a chat completion's message (``namespaces``: see ``ResponsesRequest.namespaces``)."""
    items: list[JSON] = []
    blocks = message.get("thinking_blocks")
    if isinstance(blocks, list) and blocks:
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "redacted_thinking":
                items.append(reasoning_item("", block.get("data")))
            else:
                items.append(reasoning_item(str(block.get("thinking") or ""), block.get("signature")))
    elif isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
        items.append(reasoning_item(message["reasoning_content"]))
    content = message.get("content")
    text = content if isinstance(content, str) else _text_of(content)
    refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else None
    if text or refusal is not None:
        items.append(message_item(text, refusal=refusal))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        item = function_call_item(str(call.get("id") or new_id("call")), name, str(function.get("arguments") or ""))
        if namespaces and name in namespaces:
            item["namespace"] = namespaces[name]
        items.append(item)
    return items


def _text_of(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def usage(chat_usage: Mapping[str, Any] | None) -> JSON | None:
    """OpenAI chat usage in the Responses names."""
    if not chat_usage:
        return None
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    prompt_details = chat_usage.get("prompt_tokens_details") or {}
    completion_details = chat_usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
            # the gateway's OpenAI usage keeps cache writes in prompt_tokens_details (LiteLLM's place)
            "cache_write_tokens": int(
                prompt_details.get("cache_creation_tokens") or chat_usage.get("cache_creation_input_tokens") or 0
            ),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(completion_details.get("reasoning_tokens") or 0)},
        "total_tokens": int(chat_usage.get("total_tokens") or prompt + completion),
    }


#: chat finish reasons that leave a response incomplete, and the reason the Responses API gives
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def response_object(
    request: ResponsesRequest,
    response_id: str,
    model: str,
    output: list[JSON],
    *,
    status: str = "completed",
    finish_reason: str | None = None,
    chat_usage: Mapping[str, Any] | None = None,
    created_at: int | None = None,
    error: JSON | None = None,
) -> JSON:
    """The Response object; ``status`` ``in_progress`` for the stream's first events."""
    reason = INCOMPLETE.get(finish_reason or "")
    if status == "completed" and reason is not None:
        status = "incomplete"
    echo = request.echo
    created = created_at if created_at is not None else int(time.time())
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": echo.get("previous_response_id"),
        "reasoning": echo.get("reasoning") or {"effort": None, "summary": None},
        "store": echo.get("store", True),
        "temperature": echo.get("temperature"),
        "text": echo.get("text"),
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_p": echo.get("top_p"),
        "truncation": "disabled",
        "usage": usage(chat_usage) if status != "in_progress" else None,
        "user": echo.get("user"),
        "metadata": echo.get("metadata") or {},
    }


def from_completion(request: ResponsesRequest, response_id: str, data: Mapping[str, Any], created_at: int) -> JSON:
    """The Response for a complete chat answer."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    return response_object(
        request,
        response_id,
        str(data.get("model") or request.model),
        output_items(message, request.namespaces),
        finish_reason=choice.get("finish_reason"),
        chat_usage=data.get("usage"),
        created_at=created_at,
    )
