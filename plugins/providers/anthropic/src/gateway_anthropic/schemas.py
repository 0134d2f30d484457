"""The JSON Schemas ``GET /openapi.json`` gives ``POST /v1/messages``: Anthropic's Messages request,
its answer and its error envelope (OpenAPI 3.0's dialect, open objects: Anthropic adds fields)."""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}
_INT = {"type": "integer"}

_BLOCK: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "description": "text, image, document, tool_use, tool_result, thinking"},
        "text": _STRING,
    },
}
#: a request's content: text, or blocks (text, image, document, tool_use, tool_result, thinking); never empty
_REQUEST_BLOCK: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "enum": ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"],
        },
        "text": {"type": "string", "minLength": 1},
        "source": {"type": "object", "description": "image and document blocks: base64 or url"},
        "id": _STRING,
        "name": _STRING,
        "input": {"type": "object"},
        "tool_use_id": _STRING,
        "content": {"oneOf": [_STRING, {"type": "array", "items": _BLOCK}]},
        "cache_control": {"type": "object"},
    },
}
_CONTENT = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "minItems": 1, "items": _REQUEST_BLOCK}]}

MESSAGES_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages", "max_tokens"],
    "properties": {
        "model": {"type": "string", "description": "a model group the key may use, whatever its provider"},
        "max_tokens": {"type": "integer", "minimum": 1},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {"role": {"type": "string", "enum": ["user", "assistant"]}, "content": _CONTENT},
            },
        },
        "system": _CONTENT,
        "stream": {"type": "boolean", "description": "answer as Anthropic's server-sent events"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "top_k": {"type": "integer", "minimum": 0},
        "stop_sequences": {"type": "array", "items": _STRING},
        "tools": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": _STRING, "description": _STRING, "input_schema": {"type": "object"}},
            },
        },
        "tool_choice": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["auto", "any", "tool", "none"]},
                "name": {"type": "string", "description": "with type tool: the tool to call"},
            },
        },
        "metadata": {"type": "object", "properties": {"user_id": _STRING}},
        "thinking": {"type": "object"},
    },
}

MESSAGES_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "role", "content", "model", "usage"],
    "properties": {
        "id": _STRING,
        "type": {"type": "string", "enum": ["message"]},
        "role": {"type": "string", "enum": ["assistant"]},
        "model": _STRING,
        "content": {"type": "array", "items": _BLOCK},
        "stop_reason": {"type": "string", "nullable": True},
        "stop_sequence": {"type": "string", "nullable": True},
        "usage": {
            "type": "object",
            "required": ["input_tokens", "output_tokens"],
            "properties": {"input_tokens": _INT, "output_tokens": _INT},
        },
    },
}

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": _STRING, "message": _STRING},
        },
    },
}
