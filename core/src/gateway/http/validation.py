"""Checking OpenAI request bodies before anything else happens, with messages that say the fix."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequestError

_NUMBER = (int, float)
VALID_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

#: common optional fields and the JSON types they must have
_OPTIONAL_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "stream": ((bool,), "true or false"),
    "temperature": (_NUMBER, "a number"),
    "top_p": (_NUMBER, "a number"),
    "n": ((int,), "an integer"),
    "max_tokens": ((int,), "an integer"),
    "max_completion_tokens": ((int,), "an integer"),
    "presence_penalty": (_NUMBER, "a number"),
    "frequency_penalty": (_NUMBER, "a number"),
    "stop": ((str, list), "a string or a list of strings"),
    "tools": ((list,), "a list"),
    "user": ((str,), "a string"),
    "metadata": ((dict,), "an object"),
    "stream_options": ((dict,), "an object"),
    "response_format": ((dict,), "an object"),
    "seed": ((int,), "an integer"),
    "logit_bias": ((dict,), "an object"),
    "fallbacks": ((list,), "a list of model names"),
    "guardrails": ((list, dict), "a list of guardrail names"),
}


#: fields that must be at least 1 when given
_AT_LEAST_ONE = frozenset({"max_tokens", "max_completion_tokens", "n"})


def _check_optional(body: dict[str, Any]) -> None:
    for name, value in body.items():  # bodies have a handful of keys, the table twenty
        spec = _OPTIONAL_TYPES.get(name)
        if spec is None or value is None:
            continue
        types, expected = spec
        # bool is an int in Python; a number field given true/false is still wrong
        if not isinstance(value, types) or ((value is True or value is False) and bool not in types):
            raise BadRequestError(f"'{name}' must be {expected}, got {type(value).__name__}", param=name)
        if name in _AT_LEAST_ONE and value < 1:
            raise BadRequestError(f"'{name}' must be at least 1, got {value}", param=name)


def _check_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise BadRequestError("'model' is required: name one of the models from GET /v1/models", param="model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequestError("'model' must be a non-empty string naming a model from GET /v1/models", param="model")
    return model


def validate_chat(body: dict[str, Any]) -> str:
    model = _check_model(body)
    messages = body.get("messages")
    if messages is None:
        raise BadRequestError("'messages' is required: a list like [{\"role\": \"user\", \"content\": \"Hello\"}]", param="messages")
    if not isinstance(messages, list):
        raise BadRequestError(f"'messages' must be a list of message objects, got {type(messages).__name__}", param="messages")
    if not messages:
        raise BadRequestError("'messages' is empty; send at least one message", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequestError(f"messages[{i}] must be an object with 'role' and 'content'", param=f"messages[{i}]")
        role = message.get("role")
        if not isinstance(role, str) or role not in VALID_ROLES:
            raise BadRequestError(
                f"messages[{i}].role must be one of {', '.join(sorted(VALID_ROLES))}, got {role!r}",
                param=f"messages[{i}].role",
            )
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise BadRequestError(
                f"messages[{i}].content must be a string or a list of content parts", param=f"messages[{i}].content"
            )
    _check_optional(body)
    return model


def validate_completion(body: dict[str, Any]) -> str:
    model = _check_model(body)
    prompt = body.get("prompt")
    if prompt is None:
        raise BadRequestError("'prompt' is required for /v1/completions", param="prompt")
    if not isinstance(prompt, (str, list)):
        raise BadRequestError("'prompt' must be a string or a list of strings", param="prompt")
    _check_optional(body)
    return model


def validate_embeddings(body: dict[str, Any]) -> str:
    model = _check_model(body)
    value = body.get("input")
    if value is None:
        raise BadRequestError("'input' is required: a string or a list of strings to embed", param="input")
    if not isinstance(value, (str, list)) or (isinstance(value, list) and not value):
        raise BadRequestError("'input' must be a non-empty string or list", param="input")
    return model
