"""The JSON Schemas ``GET /openapi.json`` gives OpenAI's routes (chat completions, completions,
embeddings): the fields the gateway reads or passes on, and the answers' members clients rely on.

Open objects (``additionalProperties`` left out): a provider passes fields through that OpenAI adds
later, and a client may send them.  OpenAPI 3.0's dialect (``nullable``), for the bundled Swagger UI.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}
_INT = {"type": "integer"}
_NUMBER = {"type": "number"}
_STRINGS = {"type": "array", "items": _STRING}
_STOP = {"oneOf": [_STRING, {"type": "array", "items": _STRING, "maxItems": 4}], "nullable": True}

_CONTENT_PART: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "description": "text, image_url, input_audio, file"},
        "text": _STRING,
        "image_url": {"type": "object", "properties": {"url": _STRING, "detail": _STRING}},
    },
}
_TOOL_CALL: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "function"],
    "properties": {
        "id": _STRING,
        "type": {"type": "string", "enum": ["function"]},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "properties": {"name": _STRING, "arguments": {"type": "string", "description": "JSON text"}},
        },
    },
}
_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool", "function"]},
        "content": {"oneOf": [_STRING, {"type": "array", "items": _CONTENT_PART}], "nullable": True},
        "name": _STRING,
        "tool_calls": {"type": "array", "items": _TOOL_CALL},
        "tool_call_id": _STRING,
    },
}
_TOOL: dict[str, Any] = {
    "type": "object",
    "required": ["type", "function"],
    "properties": {
        "type": {"type": "string", "enum": ["function"]},
        "function": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": _STRING, "description": _STRING, "parameters": {"type": "object"}},
        },
    },
}
#: what the gateway itself reads besides OpenAI's fields (LiteLLM's)
_GATEWAY_FIELDS: dict[str, Any] = {
    "user": {"type": "string", "description": "the end user (a customer's budget applies to it)"},
    "metadata": {"type": "object", "description": "tags and trace fields, recorded with the request"},
    "fallbacks": {"type": "array", "items": _STRING, "description": "model groups to try when this one fails"},
}
_COMMON_SAMPLING: dict[str, Any] = {
    "model": {"type": "string", "description": "a model group the key may use (GET /v1/models lists them)"},
    "stream": {"type": "boolean", "description": "answer as server-sent events ending with data: [DONE]"},
    "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1},
    "n": {"type": "integer", "minimum": 1},
    "max_tokens": {"type": "integer", "minimum": 1},
    "stop": _STOP,
    "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2},
    "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
    "seed": _INT,
    **_GATEWAY_FIELDS,
}

CHAT_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        **_COMMON_SAMPLING,
        "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "tools": {"type": "array", "items": _TOOL},
        "tool_choice": {"oneOf": [_STRING, {"type": "object"}]},
        "parallel_tool_calls": {"type": "boolean"},
        "response_format": {"type": "object", "required": ["type"], "properties": {"type": _STRING}},
        "logprobs": {"type": "boolean"},
        "top_logprobs": {"type": "integer", "minimum": 0, "maximum": 20},
        "reasoning_effort": _STRING,
    },
}

_USAGE: dict[str, Any] = {
    "type": "object",
    "required": ["prompt_tokens", "total_tokens"],
    "properties": {"prompt_tokens": _INT, "completion_tokens": _INT, "total_tokens": _INT},
}
CHAT_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices"],
    "properties": {
        "id": _STRING,
        "object": {"type": "string", "enum": ["chat.completion"]},
        "created": _INT,
        "model": _STRING,
        "choices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "message"],
                "properties": {
                    "index": _INT,
                    "message": {
                        "type": "object",
                        "required": ["role"],
                        "properties": {
                            "role": _STRING,
                            "content": {"type": "string", "nullable": True},
                            "tool_calls": {"type": "array", "items": _TOOL_CALL, "nullable": True},
                        },
                    },
                    "finish_reason": {"type": "string", "nullable": True},
                },
            },
        },
        "usage": _USAGE,
    },
}

_PROMPT = {
    "oneOf": [
        _STRING,
        _STRINGS,
        {"type": "array", "items": _INT},
        {"type": "array", "items": {"type": "array", "items": _INT}},
    ]
}
COMPLETION_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "prompt"],
    "properties": {**_COMMON_SAMPLING, "prompt": _PROMPT, "suffix": _STRING, "echo": {"type": "boolean"}},
}
COMPLETION_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices"],
    "properties": {
        "id": _STRING,
        "object": {"type": "string", "enum": ["text_completion"]},
        "created": _INT,
        "model": _STRING,
        "choices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "text"],
                "properties": {"index": _INT, "text": _STRING, "finish_reason": {"type": "string", "nullable": True}},
            },
        },
        "usage": _USAGE,
    },
}

EMBEDDINGS_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": _COMMON_SAMPLING["model"],
        "input": _PROMPT,
        "encoding_format": {"type": "string", "enum": ["float", "base64"]},
        "dimensions": {"type": "integer", "minimum": 1},
        **_GATEWAY_FIELDS,
    },
}
EMBEDDINGS_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["object", "data", "model"],
    "properties": {
        "object": {"type": "string", "enum": ["list"]},
        "model": _STRING,
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "embedding"],
                "properties": {
                    "object": {"type": "string", "enum": ["embedding"]},
                    "index": _INT,
                    "embedding": {
                        "oneOf": [{"type": "array", "items": _NUMBER}, _STRING],
                        "description": "floats, or base64 with encoding_format base64",
                    },
                },
            },
        },
        "usage": _USAGE,
    },
}
