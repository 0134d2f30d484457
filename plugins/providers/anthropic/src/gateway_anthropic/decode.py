"""An Anthropic Messages request -> :class:`gateway.chat.ChatRequest` (the ``/v1/messages`` surface's decoder).

Everything the typed model covers becomes typed (text, images, documents, tool use and results,
thinking blocks with their signatures, ``cache_control`` wherever it stands); the rest (server
tools, ``context_management``, ``container`` ...) is kept verbatim, so an ``anthropic/``
deployment receives the client's request as sent.  Shapes: https://docs.anthropic.com/en/api/messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway import GATEWAY_ONLY_FIELDS, BadRequestError
from gateway.chat import (
    JSON,
    ChatRequest,
    ContentForm,
    File,
    Image,
    Message,
    Opaque,
    OpaqueTool,
    Part,
    Text,
    Thinking,
    Tool,
    ToolCall,
    ToolChoice,
    ToolResult,
)

FORMAT = "anthropic"
#: fields that steer the gateway and never reach an upstream (Anthropic's own ``metadata`` does)
ANTHROPIC_GATEWAY_FIELDS = GATEWAY_ONLY_FIELDS - {"metadata"}
#: request members held by typed fields (``metadata`` too when it holds only ``user_id``)
TYPED_MEMBERS = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
    }
)
_MAX_INT = 2**63 - 1


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def _rest(obj: Mapping[str, Any], *known: str) -> JSON:
    return {k: v for k, v in obj.items() if k not in known}


def _cache(block: Mapping[str, Any], where: str) -> JSON | None:
    value = block.get("cache_control")
    if value is not None and not isinstance(value, dict):
        raise _bad(f'{where}.cache_control must be an object like {{"type": "ephemeral"}}', f"{where}.cache_control")
    return value


_NUMBER = (int, float)
#: optional top-level fields and the JSON type each must have (Anthropic's API refuses the same)
FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "temperature": (_NUMBER, "a number from 0 to 1"),
    "top_p": (_NUMBER, "a number from 0 to 1"),
    "top_k": ((int,), "a positive integer"),
    "stream": ((bool,), "true or false"),
    "stop_sequences": ((list,), "a list of strings"),
    "metadata": ((dict,), 'an object like {"user_id": "..."}'),
    "thinking": ((dict,), 'an object like {"type": "enabled", "budget_tokens": 2048}'),
    "cache_control": ((dict,), 'an object like {"type": "ephemeral"}'),
    "service_tier": ((str,), "a string"),
    "tools": ((list,), "a list of tools"),
    "tool_choice": ((dict,), 'an object like {"type": "auto"}'),
    "output_config": ((dict,), "an object"),
}


def _check_field_types(body: Mapping[str, Any]) -> None:
    """Wrong JSON types are a 400 naming the field, before anything reads them."""
    for name, (types, expected) in FIELD_TYPES.items():
        value = body.get(name)
        if value is None:
            continue
        # bool is an int in Python; a number field given true/false is still wrong
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _bad(f"{name}: must be {expected}, got {type(value).__name__}", name)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
            raise _bad(f"{name}: must be at most {_MAX_INT}", name)
    stop = body.get("stop_sequences")
    if stop is not None and not all(isinstance(s, str) for s in stop):
        raise _bad("stop_sequences: must be a list of strings", "stop_sequences")


def decode_messages_request(body: JSON) -> ChatRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model: field required (a model name from GET /v1/models)", "model")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        raise _bad("max_tokens: field required, a non-negative integer", "max_tokens")
    if max_tokens > _MAX_INT:
        raise _bad(f"max_tokens: must be at most {_MAX_INT}", "max_tokens")
    _check_field_types(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: at least one message is required", "messages")
    metadata = body.get("metadata")
    # a metadata object that only names the end user is the typed ``user``; anything more stays as sent
    user_only = isinstance(metadata, dict) and set(metadata) <= {"user_id"}
    request = ChatRequest(FORMAT, body, model, TYPED_MEMBERS | {"metadata"} if user_only else TYPED_MEMBERS,
                          ANTHROPIC_GATEWAY_FIELDS)  # fmt: skip
    system = body.get("system")
    decoded: list[Message] = []
    if system is not None:
        decoded.append(_system(system, "system"))
    decoded += [_message(m, f"messages.{i}") for i, m in enumerate(messages)]
    request.messages = decoded
    request.max_tokens = max_tokens
    request.stream = body.get("stream") is True
    request.include_usage = request.stream  # Anthropic streams always end with usage
    request.temperature = body.get("temperature")
    request.top_p = body.get("top_p")
    request.top_k = body.get("top_k")
    stop = body.get("stop_sequences")
    request.stop = list(stop) if stop is not None else None
    if metadata is not None:
        user = metadata.get("user_id")
        if user is not None and not isinstance(user, str):
            raise _bad("metadata.user_id: must be a string", "metadata.user_id")
        request.user = user
    thinking = body.get("thinking")
    if thinking is not None and not isinstance(thinking.get("type"), str):
        raise _bad('thinking: must be {"type": "enabled", "budget_tokens": N} or {"type": "disabled"}', "thinking")
    request.thinking = thinking
    tools = body.get("tools")
    if tools is not None:
        request.tools = [_tool(t, f"tools.{i}") for i, t in enumerate(tools)]
    request.tool_choice, request.parallel_tool_calls = _tool_choice(body.get("tool_choice"))
    request.response_format = _response_format(body.get("output_config"))
    request.seal({"metadata_is_user": user_only})
    return request


def _system(system: Any, where: str) -> Message:
    if isinstance(system, str):
        return Message("system", [Text(system)], content_form="text")
    if not isinstance(system, list):
        raise _bad(f"{where}: must be a string or a list of text blocks", where)
    parts: list[Part] = []
    for j, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise _bad(f"{where}.{j}: must be a text block", f"{where}.{j}")
        parts.append(Text(block["text"], _cache(block, f"{where}.{j}"), _rest(block, "type", "text", "cache_control")))
    return Message("system", parts, content_form="parts")


def _message(message: Any, where: str) -> Message:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
        raise _bad(f"{where}.role must be 'user', 'assistant' or 'system'", f"{where}.role")
    role = message["role"]
    extra = _rest(message, "role", "content")
    if role == "system":
        decoded = _system(message.get("content"), f"{where}.content")
        decoded.extra = extra
        return decoded
    form, parts = _content(message, where)
    if role == "user" and not parts:
        raise _bad(f"{where}: user messages must have non-empty content", f"{where}.content")
    return Message(role, parts, content_form=form, extra=extra)


def _content(container: Mapping[str, Any], where: str) -> tuple[ContentForm, list[Part]]:
    if "content" not in container:
        return "absent", []
    content = container["content"]
    if content is None:
        return "null", []
    if isinstance(content, str):
        return "text", [Text(content)] if content else []
    if not isinstance(content, list):
        raise _bad(f"{where}.content must be a string or a list of content blocks", f"{where}.content")
    return "parts", [_block(b, f"{where}.content.{j}") for j, b in enumerate(content)]


def _block(block: Any, where: str) -> Part:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise _bad(f"{where} must be an object with a 'type'", where)
    kind = block["type"]
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise _bad(f"{where}.text must be a string", f"{where}.text")
        return Text(block["text"], _cache(block, where), _rest(block, "type", "text", "cache_control"))
    if kind == "image":
        return _image(block, where)
    if kind == "document":
        return _document(block, where)
    if kind == "tool_use":
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            raise _bad(f"{where} needs 'id' and 'name'", where)
        arguments = block.get("input")
        if arguments is not None and not isinstance(arguments, dict):
            raise _bad(f"{where}.input must be an object", f"{where}.input")
        return ToolCall(
            block["id"],
            block["name"],
            input=arguments if arguments is not None else {},
            cache_control=_cache(block, where),
            extra=_rest(block, "type", "id", "name", "input", "cache_control"),
            arguments_form="object" if "input" in block else "absent",
        )
    if kind == "tool_result":
        call_id = block.get("tool_use_id")
        if not isinstance(call_id, str) or not call_id:
            raise _bad(f"{where}.tool_use_id is required", f"{where}.tool_use_id")
        form, parts = _content(block, where)
        is_error = block.get("is_error")
        if is_error is not None and not isinstance(is_error, bool):
            raise _bad(f"{where}.is_error must be true or false", f"{where}.is_error")
        return ToolResult(
            call_id,
            parts,
            form,
            is_error,
            _cache(block, where),
            _rest(block, "type", "tool_use_id", "content", "is_error", "cache_control"),
        )
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        return Thinking(block["thinking"], block.get("signature"), extra=_rest(block, "type", "thinking", "signature"))
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return Thinking(redacted=block["data"], extra=_rest(block, "type", "data"))
    return Opaque(FORMAT, block)


def _image(block: Mapping[str, Any], where: str) -> Part:
    source = block.get("source")
    common: dict[str, Any] = {
        "cache_control": _cache(block, where),
        "extra": _rest(block, "type", "source", "cache_control"),
    }
    if isinstance(source, dict) and source.get("type") == "base64":
        media_type, data = source.get("media_type"), source.get("data")
        if not isinstance(media_type, str) or not isinstance(data, str) or not data:
            raise _bad(f"{where}.source needs media_type and base64 data", f"{where}.source")
        return Image(
            media_type=media_type, data=data, source_extra=_rest(source, "type", "media_type", "data"), **common
        )
    if isinstance(source, dict) and source.get("type") == "url" and isinstance(source.get("url"), str):
        return Image(url=source["url"], source_extra=_rest(source, "type", "url"), **common)
    if isinstance(source, dict) and isinstance(source.get("type"), str):
        return Opaque(FORMAT, dict(block))  # a file id, or a source type added after this code
    raise _bad(f"{where}.source.type must be 'base64' or 'url'", f"{where}.source")


def _document(block: Mapping[str, Any], where: str) -> Part:
    source = block.get("source")
    common: dict[str, Any] = {
        "cache_control": _cache(block, where),
        "extra": _rest(block, "type", "source", "cache_control"),
    }
    if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type")
        return File(
            data=source["data"],
            media_type=media_type if isinstance(media_type, str) else None,
            source_extra=_rest(source, "type", "media_type", "data"),
            **common,
        )
    if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("data"), str):
        return File(text=source["data"], source_extra=_rest(source, "type", "data"), **common)
    if isinstance(source, dict) and source.get("type") == "url" and isinstance(source.get("url"), str):
        return File(url=source["url"], source_extra=_rest(source, "type", "url"), **common)
    return Opaque(FORMAT, dict(block))


def _tool(tool: Any, where: str) -> Tool | OpaqueTool:
    if not isinstance(tool, dict):
        raise _bad(f"{where} must be an object with a name", where)
    if tool.get("type") not in (None, "custom"):
        return OpaqueTool(FORMAT, tool)  # a server tool (web search, code execution ...)
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise _bad(f"{where} must be an object with a name", f"{where}.name")
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise _bad(f"{where}.input_schema must be a JSON schema object", f"{where}.input_schema")
    description = tool.get("description")
    if description is not None and not isinstance(description, str):
        raise _bad(f"{where}.description must be a string", f"{where}.description")
    strict = tool.get("strict")
    return Tool(
        tool["name"],
        description,
        schema,
        strict if isinstance(strict, bool) else None,
        _cache(tool, where),
        extra=_rest(
            tool,
            "name",
            "description",
            "input_schema",
            "cache_control",
            *(("strict",) if isinstance(strict, bool) else ()),
        ),
    )


def _tool_choice(choice: Any) -> tuple[ToolChoice | None, bool | None]:
    if choice is None:
        return None, None
    if not isinstance(choice, dict):
        raise _bad('tool_choice must be an object like {"type": "auto"}', "tool_choice")
    kind = choice.get("type")
    disable = choice.get("disable_parallel_tool_use")
    parallel = None if disable is None else not bool(disable)
    known = {"type", "name", "disable_parallel_tool_use"}
    if set(choice) - known:
        return ToolChoice("raw", raw=choice), None
    if kind == "auto":
        return ToolChoice("auto"), parallel
    if kind == "any":
        return ToolChoice("required"), parallel
    if kind == "none":
        return ToolChoice("none"), parallel
    if kind == "tool" and isinstance(choice.get("name"), str):
        return ToolChoice("tool", choice["name"]), parallel
    raise _bad("tool_choice.type must be 'auto', 'any', 'tool' (with a name) or 'none'", "tool_choice")


def _response_format(config: Any) -> JSON | None:
    """Structured output (``output_config.format``) in OpenAI's ``response_format`` shape."""
    if config is None:
        return None
    if not isinstance(config, dict):
        raise _bad("output_config must be an object", "output_config")
    fmt = config.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        raise _bad('output_config.format must be {"type": "json_schema", "schema": {...}}', "output_config.format")
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"]}}
