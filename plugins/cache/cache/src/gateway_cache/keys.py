"""The cache key: a hash of the normalised typed request.

Built from what decides the answer: the model group, the messages (typed parts, whatever format
the client wrote them in), the tools, the sampling parameters and the response format.  Left out:
``user`` (OpenAI) / ``metadata.user_id`` (Anthropic), the gateway's own fields (``metadata``,
``tags``, ``cache`` ...), ``stream`` and ``stream_options`` (a stream and a plain answer share an
entry).  So the same conversation asked through ``/v1/chat/completions`` or ``/v1/messages``
shares its key; members of one format no type covers (``extra``) are part of the key tagged with
their format, so such requests only share a key with the same format.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from gateway import BadRequestError
from gateway.chat import (
    ChatRequest,
    File,
    Image,
    Message,
    ModelRequest,
    Opaque,
    OpaqueTool,
    Part,
    Text,
    Thinking,
    Tool,
    ToolCall,
    ToolResult,
)

#: request members that never change the answer (a stream and a plain answer share an entry)
NEUTRAL_EXTRA = frozenset({"stream_options"})
#: endpoints whose requests are chat requests: one key space for both surfaces
CHAT_ENDPOINTS = frozenset({"chat", "messages"})


def _extra(format: str, extra: dict[str, Any]) -> Any:
    return [format, extra] if extra else None


def _part(format: str, part: Part) -> Any:
    if isinstance(part, Text):
        return ["t", part.text, _extra(format, part.extra)]
    if isinstance(part, Image):
        return ["i", part.url, part.media_type, part.data, part.detail, _extra(format, part.extra)]
    if isinstance(part, File):
        return ["f", part.data, part.media_type, part.url, part.file_id, part.filename, part.text]
    if isinstance(part, ToolCall):
        try:
            arguments: Any = part.input_object()
        except BadRequestError:  # not a JSON object: the client's own string decides
            arguments = part.arguments
        return ["c", part.id, part.name, arguments]
    if isinstance(part, ToolResult):
        return ["r", part.call_id, [_part(format, p) for p in part.parts], part.is_error]
    if isinstance(part, Thinking):
        return ["k", part.text, part.signature, part.redacted]
    if isinstance(part, Opaque):
        return ["o", part.format, part.data]
    return ["?", repr(part)]  # pragma: no cover - every Part type is listed above


def _message(format: str, message: Message) -> Any:
    return [message.role, message.name, [_part(format, p) for p in message.parts], _extra(format, message.extra)]


def _tool(format: str, tool: Tool | OpaqueTool) -> Any:
    if isinstance(tool, OpaqueTool):
        return ["o", tool.format, tool.data]
    return ["f", tool.name, tool.description, tool.parameters, tool.strict, _extra(format, tool.extra)]


def _chat(request: ChatRequest, messages: Any = None) -> list[Any]:
    fmt = request.format
    choice = request.tool_choice
    return [
        [_message(fmt, m) for m in request.messages] if messages is None else messages,
        [_tool(fmt, t) for t in request.tools] if request.tools else None,
        [choice.mode, choice.name, choice.raw] if choice is not None else None,
        request.temperature,
        request.top_p,
        request.top_k,
        request.seed,
        request.stop,
        request.parallel_tool_calls,
        request.response_format,
        request.reasoning_effort,
        request.thinking,
    ]


def request_material(endpoint: str, model_group: str, request: ModelRequest) -> bytes:
    """The normalised request as bytes (what the key hashes)."""
    extra = {k: v for k, v in request.extra.items() if k not in NEUTRAL_EXTRA}
    if endpoint in CHAT_ENDPOINTS and isinstance(request, ChatRequest):
        kind = "chat"
        body: Any = _chat(request)
    else:
        # completions and embeddings: the typed fields are few; the rest of the body is ``extra``
        kind = endpoint
        body = None
    material = [kind, model_group, request.max_tokens, request.n, body, _extra(request.format, extra)]
    return orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=repr)


def request_hash(endpoint: str, model_group: str, request: ModelRequest) -> str:
    return hashlib.blake2b(request_material(endpoint, model_group, request), digest_size=16).hexdigest()


#: what stands for the embedded text in a semantic context
EMBEDDED = "\x00embedded"


def semantic_material(
    endpoint: str, model_group: str, request: ModelRequest, whole_prompt: bool
) -> tuple[str, str] | None:
    """(context digest, text to embed) for the semantic cache, or None when the request has no such form.

    The text is the last user turn (or, with ``whole_prompt``, every turn, role by role); the context
    is everything else the exact key hashes, so two requests are compared only when all of it matches
    exactly: model group, system prompt and earlier turns, tools, sampling parameters, response format.
    A last turn that is not the user's, or that carries anything but text (images, files, tool
    results), has no semantic form: such requests use the exact cache only.
    """
    if endpoint not in CHAT_ENDPOINTS or not isinstance(request, ChatRequest) or not request.messages:
        return None
    fmt = request.format
    last = request.messages[-1]
    if last.role != "user" or not last.parts or not all(isinstance(p, Text) for p in last.parts):
        return None
    if whole_prompt:
        texts = []
        for message in request.messages:
            if not all(isinstance(p, Text) for p in message.parts):
                return None
            texts.append(f"{message.role}: " + "\n".join(p.text for p in message.parts))  # type: ignore[union-attr]
        text = "\n".join(texts)
        messages: Any = EMBEDDED
    else:
        text = "\n".join(p.text for p in last.parts)  # type: ignore[union-attr]
        messages = [
            *(_message(fmt, m) for m in request.messages[:-1]),
            [last.role, last.name, EMBEDDED, _extra(fmt, last.extra)],
        ]
    if not text.strip():
        return None
    extra = {k: v for k, v in request.extra.items() if k not in NEUTRAL_EXTRA}
    material = ["semantic", model_group, request.max_tokens, request.n, _chat(request, messages), _extra(fmt, extra)]
    raw = orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=repr)
    return hashlib.blake2b(raw, digest_size=16).hexdigest(), text
