"""``POST /v1/messages``: an Anthropic Messages request -> an OpenAI chat body (+ Anthropic extras).

The translated body runs through the gateway's normal pipeline, so any deployment can serve an
Anthropic-SDK client.  What OpenAI's format cannot carry goes into :class:`AnthropicExtras`
(see :mod:`.extras`).  Request shapes: https://docs.anthropic.com/en/api/messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway.errors import BadRequestError
from gateway.translation import drop_or_refuse

from .extras import AnthropicExtras

#: Anthropic request fields this endpoint translates
KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "tools",
        "tool_choice",
        "output_config",
    }
)
#: Anthropic-only settings kept for ``anthropic/`` deployments (OpenAI-format upstreams have no such fields)
ANTHROPIC_ONLY_FIELDS = frozenset({"top_k", "thinking", "cache_control", "service_tier", "speed", "inference_geo"})
#: account-level and diagnostic fields with no meaning behind a gateway
IGNORED_FIELDS = frozenset({"diagnostics", "user_profile_id", "workspace_id"})
ENDPOINT_NAME = "the gateway's /v1/messages endpoint"


#: the largest integer any upstream takes (a signed 64-bit value)
MAX_INT = 2**63 - 1
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
}


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def _check_field_types(request: Mapping[str, Any]) -> None:
    """Wrong JSON types are a 400 naming the field, before any translation reads them."""
    for name, (types, expected) in FIELD_TYPES.items():
        value = request.get(name)
        if value is None:
            continue
        # bool is an int in Python; a number field given true/false is still wrong
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _bad(f"{name}: must be {expected}, got {type(value).__name__}", name)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise _bad(f"{name}: must be at most {MAX_INT}", name)
    stop = request.get("stop_sequences")
    if stop is not None and not all(isinstance(s, str) for s in stop):
        raise _bad("stop_sequences: must be a list of strings", "stop_sequences")


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise _bad(f"{where}.content must be a string or a list of content blocks", f"{where}.content")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _bad(f"{where}.content.{j} must be an object with a 'type'", f"{where}.content.{j}")
    return content


def _image_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64":
        media_type, data = source.get("media_type"), source.get("data")
        if not isinstance(media_type, str) or not isinstance(data, str) or not data:
            raise _bad(f"{where}.source needs media_type and base64 data", f"{where}.source")
        return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}
    if isinstance(source, dict) and source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise _bad(f"{where}.source.type must be 'base64' or 'url'", f"{where}.source")


def _document_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type") or "application/pdf"
        return {"type": "file", "file": {"file_data": f"data:{media_type};base64,{source['data']}"}}
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    raise _bad(f"{where}: documents must have a base64 or text source here", f"{where}.source")


class MessagesTranslator:
    """Builds the OpenAI messages and records the extras by OpenAI position."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.extras = AnthropicExtras(message_count=0)

    def _cache(self, block: Mapping[str, Any], part_index: int) -> None:
        cache = block.get("cache_control")
        if isinstance(cache, dict):
            self.extras.part_cache[(len(self.messages), part_index)] = cache

    def system(self, system: Any, where: str = "system") -> None:
        if system is None or system == "" or system == []:
            return
        if isinstance(system, str):
            self.messages.append({"role": "system", "content": system})
            return
        if not isinstance(system, list):
            raise _bad(f"{where} must be a string or a list of text blocks", where)
        parts = []
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise _bad(f"{where}.{j} must be a text block", f"{where}.{j}")
            self._cache(block, len(parts))
            parts.append({"type": "text", "text": block["text"]})
        self.messages.append({"role": "system", "content": parts})

    def user(self, blocks: list[dict[str, Any]], where: str) -> None:
        carried: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
        others: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
        for j, block in enumerate(blocks):
            bw = f"{where}.content.{j}"
            kind = block["type"]
            if kind == "tool_result":
                carried += self._tool_result(block, bw)
            elif kind == "text":
                if not isinstance(block.get("text"), str):
                    raise _bad(f"{bw}.text must be a string", f"{bw}.text")
                others.append(({"type": "text", "text": block["text"]}, block))
            elif kind == "image":
                others.append((_image_part(block, bw), block))
            elif kind == "document":
                others.append((_document_part(block, bw), block))
            else:
                raise _bad(f"{bw}: content blocks of type {kind!r} are not supported by {ENDPOINT_NAME}", f"{bw}.type")
        # images inside tool results have no place in OpenAI tool messages: they follow as user content
        parts = carried + others
        if parts:
            for k, (_, block) in enumerate(parts):
                self._cache(block, k)
            self.messages.append({"role": "user", "content": [part for part, _ in parts]})

    def _tool_result(self, block: Mapping[str, Any], where: str) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
        call_id = block.get("tool_use_id")
        if not isinstance(call_id, str) or not call_id:
            raise _bad(f"{where}.tool_use_id is required", f"{where}.tool_use_id")
        content = block.get("content")
        images: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
        if content is None or isinstance(content, str):
            text: Any = content or ""
        elif isinstance(content, list):
            texts = []
            for k, inner in enumerate(content):
                kind = inner.get("type") if isinstance(inner, dict) else None
                if kind == "text" and isinstance(inner.get("text"), str):
                    texts.append({"type": "text", "text": inner["text"]})
                elif kind == "image":
                    images.append((_image_part(inner, f"{where}.content.{k}"), inner))
                else:
                    raise _bad(f"{where}.content.{k} must be a text or image block", f"{where}.content.{k}")
            text = texts if texts else ""
        else:
            raise _bad(f"{where}.content must be a string or a list of blocks", f"{where}.content")
        index = len(self.messages)
        if block.get("is_error") is True:
            self.extras.tool_errors.add(index)
        if isinstance(block.get("cache_control"), dict):
            self.extras.message_cache[index] = block["cache_control"]
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        return images

    def assistant(self, blocks: list[dict[str, Any]], where: str) -> None:
        index = len(self.messages)
        parts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        thinking: list[dict[str, Any]] = []
        for j, block in enumerate(blocks):
            bw = f"{where}.content.{j}"
            kind = block["type"]
            if kind == "text":
                if not isinstance(block.get("text"), str):
                    raise _bad(f"{bw}.text must be a string", f"{bw}.text")
                self._cache(block, len(parts))
                parts.append({"type": "text", "text": block["text"]})
            elif kind == "tool_use":
                if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                    raise _bad(f"{bw} needs 'id' and 'name'", bw)
                arguments = orjson.dumps(block.get("input") if isinstance(block.get("input"), dict) else {}).decode()
                calls.append(
                    {"id": block["id"], "type": "function", "function": {"name": block["name"], "arguments": arguments}}
                )
            elif kind in ("thinking", "redacted_thinking"):
                thinking.append(dict(block))
            else:
                raise _bad(f"{bw}: content blocks of type {kind!r} are not supported by {ENDPOINT_NAME}", f"{bw}.type")
        message: dict[str, Any] = {"role": "assistant", "content": parts if parts else (None if calls else "")}
        if calls:
            message["tool_calls"] = calls
        if thinking:
            self.extras.thinking[index] = thinking
        self.messages.append(message)


def _tools(tools: Any, extras: AnthropicExtras) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise _bad("tools must be a list", "tools")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise _bad(f"tools.{i} must be an object with a name", f"tools.{i}")
        if tool.get("type") not in (None, "custom"):
            raise _bad(
                f"tools.{i}: server tool {tool.get('type')!r} cannot be served through {ENDPOINT_NAME}; only custom tools "
                "(name, description, input_schema) are translated",
                f"tools.{i}.type",
            )
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise _bad(f"tools.{i}.input_schema must be a JSON schema object", f"tools.{i}.input_schema")
        function: dict[str, Any] = {"name": tool["name"], "parameters": schema}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        if tool.get("strict") is True:
            function["strict"] = True
        if isinstance(tool.get("cache_control"), dict):
            extras.tool_cache[i] = tool["cache_control"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any) -> tuple[Any, bool | None]:
    if not isinstance(choice, dict):
        raise _bad('tool_choice must be an object like {"type": "auto"}', "tool_choice")
    kind = choice.get("type")
    parallel = False if choice.get("disable_parallel_tool_use") is True else None
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", None
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}, parallel
    raise _bad("tool_choice.type must be 'auto', 'any', 'tool' (with a name) or 'none'", "tool_choice")


def _output_config(config: Any, body: dict[str, Any], extras: AnthropicExtras) -> None:
    """Structured output becomes ``response_format``; ``effort`` stays Anthropic-only."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise _bad("output_config must be an object", "output_config")
    fmt = config.get("format")
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise _bad('output_config.format must be {"type": "json_schema", "schema": {...}}', "output_config.format")
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"]}}
    rest = {k: v for k, v in config.items() if k != "format" and v is not None}
    if rest:
        extras.params["output_config"] = rest


def openai_body_from_messages(
    request: Mapping[str, Any], *, drop_params: bool, response_headers: dict[str, str]
) -> tuple[dict[str, Any], AnthropicExtras]:
    """The OpenAI chat body for an Anthropic Messages request, and the extras it carries."""
    unknown = sorted(k for k in request if k not in KNOWN_FIELDS | ANTHROPIC_ONLY_FIELDS | IGNORED_FIELDS)
    drop_or_refuse(unknown, provider=ENDPOINT_NAME, drop=drop_params, response_headers=response_headers)
    model = request.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model: field required (a model name from GET /v1/models)", "model")
    max_tokens = request.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        raise _bad("max_tokens: field required, a non-negative integer", "max_tokens")
    if max_tokens > MAX_INT:
        raise _bad(f"max_tokens: must be at most {MAX_INT}", "max_tokens")
    _check_field_types(request)
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages: at least one message is required", "messages")

    translator = MessagesTranslator()
    translator.system(request.get("system"))
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise _bad(f"{where}.role must be 'user', 'assistant' or 'system'", f"{where}.role")
        if message["role"] == "system":
            translator.system(message.get("content"), f"{where}.content")
            continue
        blocks = _blocks(message.get("content"), where)
        if message["role"] == "user":
            if not blocks:
                raise _bad(f"{where}: user messages must have non-empty content", f"{where}.content")
            translator.user(blocks, where)
        else:
            translator.assistant(blocks, where)

    extras = translator.extras
    body: dict[str, Any] = {"model": model, "messages": translator.messages, "max_tokens": max_tokens}
    if request.get("tools"):
        body["tools"] = _tools(request["tools"], extras)
    if request.get("tool_choice") is not None and body.get("tools"):
        body["tool_choice"], parallel = _tool_choice(request["tool_choice"])
        if parallel is not None:
            body["parallel_tool_calls"] = parallel
    for name in ("temperature", "top_p"):
        if request.get(name) is not None:
            body[name] = request[name]
    if request.get("stop_sequences"):
        body["stop"] = request["stop_sequences"]
    metadata = request.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        body["user"] = metadata["user_id"]
    for name in ANTHROPIC_ONLY_FIELDS:
        if request.get(name) is not None:
            extras.params[name] = request[name]
    _output_config(request.get("output_config"), body, extras)
    if request.get("stream") is True:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    extras.message_count = len(translator.messages)
    return body, extras
