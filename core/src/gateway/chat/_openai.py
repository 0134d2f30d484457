"""OpenAI chat completions <-> :class:`ChatRequest`: the OpenAI surface's decoder and the encoder of
every OpenAI-format provider.

Decoding validates as it goes (every refusal names the field as ``messages[2].content[0].text``)
and keeps what no type covers verbatim; encoding an OpenAI-sourced request gives back the same
JSON members (see :mod:`gateway.chat._model`).  Shapes:
https://platform.openai.com/docs/api-reference/chat/create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import BadRequestError
from ..providers import GATEWAY_ONLY_FIELDS
from ._model import (
    JSON,
    TOP_FIELDS,
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

FORMAT = "openai"
VALID_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_NUMBER = (int, float)
#: the typed top-level fields: their JSON types, and how the refusal says it
_SCALARS: dict[str, tuple[tuple[type, ...], str]] = {
    "stream": ((bool,), "true or false"),
    "temperature": (_NUMBER, "a number"),
    "top_p": (_NUMBER, "a number"),
    "top_k": ((int,), "an integer"),
    "n": ((int,), "an integer"),
    "max_tokens": ((int,), "an integer"),
    "max_completion_tokens": ((int,), "an integer"),
    "seed": ((int,), "an integer"),
    "user": ((str,), "a string"),
    "parallel_tool_calls": ((bool,), "true or false"),
    "reasoning_effort": ((str,), "a string"),
}
#: untyped fields whose JSON type is still checked at the edge
_CHECKED_EXTRAS: dict[str, tuple[tuple[type, ...], str]] = {
    "presence_penalty": (_NUMBER, "a number"),
    "frequency_penalty": (_NUMBER, "a number"),
    "stream_options": ((dict,), "an object"),
    "logit_bias": ((dict,), "an object"),
    "metadata": ((dict,), "an object"),
    "fallbacks": ((list,), "a list of model names"),
    "guardrails": ((list, dict), "a list of guardrail names"),
}
_AT_LEAST_ONE = frozenset({"max_tokens", "max_completion_tokens", "n"})
#: the largest integer any upstream takes (a signed 64-bit column, a Go int64 ...)
MAX_INT = 2**63 - 1
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "cache_control", "thinking_blocks"})
_TYPED_TOP = frozenset(
    {
        "model",
        "messages",
        "stream",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "n",
        "seed",
        "stop",
        "user",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "thinking",
    }
)


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_type(name: str, value: Any, spec: tuple[tuple[type, ...], str]) -> None:
    types, expected = spec
    # bool is an int in Python; a number field given true/false is still wrong
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _bad(f"'{name}' must be {expected}, got {type(value).__name__}", name)
    if isinstance(value, int) and not isinstance(value, bool):
        if name in _AT_LEAST_ONE and value < 1:
            raise _bad(f"'{name}' must be at least 1, got {value}", name)
        if abs(value) > MAX_INT:
            raise _bad(f"'{name}' must be at most {MAX_INT}, got a larger number", name)


# --------------------------------------------------------------------------- decoding


def check_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise _bad("'model' is required: name one of the models from GET /v1/models", "model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("'model' must be a non-empty string naming a model from GET /v1/models", "model")
    return model


def decode_chat(body: JSON) -> ChatRequest:
    """An OpenAI chat completions body as a :class:`ChatRequest` (400 for anything malformed)."""
    model = check_model(body)
    messages = body.get("messages")
    if messages is None:
        raise _bad('\'messages\' is required: a list like [{"role": "user", "content": "Hello"}]', "messages")
    if not isinstance(messages, list):
        raise _bad(f"'messages' must be a list of message objects, got {type(messages).__name__}", "messages")
    if not messages:
        raise _bad("'messages' is empty; send at least one message", "messages")
    request = ChatRequest(FORMAT, body, model)
    extra = request.extra
    gateway = request.gateway
    for name, value in body.items():
        if name in _TYPED_TOP:
            continue
        if name in GATEWAY_ONLY_FIELDS:
            gateway[name] = value
        else:
            extra[name] = value
        spec = _CHECKED_EXTRAS.get(name)
        if spec is not None and value is not None:
            _check_type(name, value, spec)
    for name, spec in _SCALARS.items():
        value = body.get(name)
        if value is not None:
            _check_type(name, value, spec)
    request.messages = [decode_message(m, f"messages[{i}]") for i, m in enumerate(messages)]
    get = body.get
    request.stream = get("stream") is True
    options = get("stream_options")
    request.include_usage = isinstance(options, dict) and options.get("include_usage") is True
    max_name = "max_completion_tokens" if get("max_completion_tokens") is not None else "max_tokens"
    request.max_tokens = get(max_name)
    if max_name == "max_completion_tokens" and "max_tokens" in body:
        extra["max_tokens"] = body["max_tokens"]  # both sent: the newer name wins, the other passes as sent
    request.temperature = get("temperature")
    request.top_p = get("top_p")
    request.top_k = get("top_k")
    request.n = get("n")
    request.seed = get("seed")
    request.user = get("user")
    request.stop = _decode_stop(get("stop"))
    request.parallel_tool_calls = get("parallel_tool_calls")
    request.reasoning_effort = get("reasoning_effort")
    thinking = get("thinking")
    if thinking is not None and not isinstance(thinking, dict):
        raise _bad('\'thinking\' must be an object like {"type": "enabled", "budget_tokens": 2048}', "thinking")
    request.thinking = thinking
    response_format = get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise _bad(f"'response_format' must be an object, got {type(response_format).__name__}", "response_format")
    request.response_format = response_format
    tools = get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad(f"'tools' must be a list, got {type(tools).__name__}", "tools")
        request.tools = [decode_tool(t, f"tools[{i}]") for i, t in enumerate(tools)]
    request.tool_choice = decode_tool_choice(get("tool_choice"))
    request.seal(max_tokens_name=max_name)
    return request


def _decode_stop(stop: Any) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise _bad("'stop' must be a string or a list of strings", "stop")


def decode_message(message: Any, where: str) -> Message:
    if not isinstance(message, dict):
        raise _bad(f"{where} must be an object with 'role' and 'content'", where)
    role = message.get("role")
    if not isinstance(role, str) or role not in VALID_ROLES:
        raise _bad(f"{where}.role must be one of {', '.join(sorted(VALID_ROLES))}, got {role!r}", f"{where}.role")
    extra = {k: v for k, v in message.items() if k not in _MESSAGE_KEYS}
    name = message.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad(f"{where}.name must be a string", f"{where}.name")
    cache_control = _cache_control(message, where)
    form, parts = decode_content(message, where)
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise _bad(
                f"{where}.tool_call_id is required: the id of the tool call this message answers",
                f"{where}.tool_call_id",
            )
        result = ToolResult(call_id, parts, form)
        return Message(role, [result], name, form, cache_control, extra)
    if "tool_call_id" in message:
        extra["tool_call_id"] = message["tool_call_id"]
    if role == "assistant":
        thinking = message.get("thinking_blocks")
        if isinstance(thinking, list) and thinking:
            parts = [_decode_thinking(b, f"{where}.thinking_blocks[{k}]") for k, b in enumerate(thinking)] + parts
        elif "thinking_blocks" in message:
            extra["thinking_blocks"] = thinking
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            parts += [_decode_tool_call(c, f"{where}.tool_calls[{k}]") for k, c in enumerate(calls)]
        elif calls is not None and not isinstance(calls, list):
            raise _bad(f"{where}.tool_calls must be a list", f"{where}.tool_calls")
        elif "tool_calls" in message:
            extra["tool_calls"] = calls
    else:
        for key in ("thinking_blocks", "tool_calls"):
            if key in message:
                extra[key] = message[key]
    return Message(role, parts, name, form, cache_control, extra)


def _cache_control(obj: Mapping[str, Any], where: str) -> JSON | None:
    value = obj.get("cache_control")
    if value is not None and not isinstance(value, dict):
        raise _bad(f'{where}.cache_control must be an object like {{"type": "ephemeral"}}', f"{where}.cache_control")
    return value


def decode_content(message: Mapping[str, Any], where: str) -> tuple[ContentForm, list[Part]]:
    if "content" not in message:
        return "absent", []
    content = message["content"]
    if content is None:
        return "null", []
    if isinstance(content, str):
        return "text", [Text(content)]
    if not isinstance(content, list):
        raise _bad(f"{where}.content must be a string or a list of content parts", f"{where}.content")
    return "parts", [decode_part(p, f"{where}.content[{j}]") for j, p in enumerate(content)]


def decode_part(part: Any, where: str) -> Part:
    if isinstance(part, str):  # tolerated by OpenAI's API and LiteLLM
        return Text(part, bare=True)
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise _bad(f"{where} must be an object with a 'type' (text, image_url ...)", where)
    kind = part["type"]
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            raise _bad(f"{where}.text must be a string, got {type(text).__name__}", f"{where}.text")
        return Text(text, _cache_control(part, where), _rest(part, "type", "text", "cache_control"))
    if kind == "image_url":
        spec = part.get("image_url")
        bare = isinstance(spec, str)
        inner: Mapping[str, Any] = {"url": spec} if bare else (spec if isinstance(spec, dict) else {})
        url = inner.get("url")
        if not isinstance(url, str) or not url:
            raise _bad(f"{where}.image_url.url must be an http(s) URL or a data URL", f"{where}.image_url")
        detail = inner.get("detail")
        if detail is not None and not isinstance(detail, str):
            raise _bad(f"{where}.image_url.detail must be 'auto', 'low' or 'high'", f"{where}.image_url.detail")
        return Image(
            url=url,
            detail=detail,
            cache_control=_cache_control(part, where),
            extra=_rest(part, "type", "image_url", "cache_control"),
            source_extra=_rest(inner, "url", "detail"),
            bare=bare,
        )
    if kind == "file":
        spec = part.get("file")
        if not isinstance(spec, dict):
            raise _bad(f"{where}.file must be an object with file_id or file_data", f"{where}.file")
        values = {k: spec.get(k) for k in ("file_data", "file_id", "filename")}
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise _bad(f"{where}.file.{key} must be a string", f"{where}.file.{key}")
        return File(
            url=values["file_data"],
            file_id=values["file_id"],
            filename=values["filename"],
            cache_control=_cache_control(part, where),
            extra=_rest(part, "type", "file", "cache_control"),
            source_extra=_rest(spec, "file_data", "file_id", "filename"),
        )
    return Opaque(FORMAT, part)


def _rest(obj: Mapping[str, Any], *known: str) -> JSON:
    if len(obj) <= len(known) and all(k in known for k in obj):
        return {}
    return {k: v for k, v in obj.items() if k not in known}


def _decode_tool_call(call: Any, where: str) -> ToolCall:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not isinstance(call.get("id"), str):
        raise _bad(f'{where} must be {{"id": ..., "type": "function", "function": {{"name", "arguments"}}}}', where)
    arguments = fn.get("arguments")
    extra, function_extra = _rest(call, "id", "function"), _rest(fn, "name", "arguments")
    if isinstance(arguments, dict):  # some clients send an object; kept as such
        return ToolCall(
            call["id"], fn["name"], input=arguments, extra=extra, function_extra=function_extra, arguments_form="object"
        )
    if arguments is not None and not isinstance(arguments, str):
        raise _bad(f"{where}.function.arguments must be a JSON string", f"{where}.function.arguments")
    return ToolCall(
        call["id"],
        fn["name"],
        arguments=arguments if arguments is not None else "",
        extra=extra,
        function_extra=function_extra,
        arguments_form="string" if "arguments" in fn else "absent",
    )


def _decode_thinking(block: Any, where: str) -> Thinking | Opaque:
    if not isinstance(block, dict):
        raise _bad(f"{where} must be a thinking block object", where)
    kind = block.get("type")
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        return Thinking(block["thinking"], block.get("signature"), extra=_rest(block, "type", "thinking", "signature"))
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return Thinking(redacted=block["data"], extra=_rest(block, "type", "data"))
    return Opaque(FORMAT, block, slot="thinking_blocks")


def decode_tool(tool: Any, where: str) -> Tool | OpaqueTool:
    fn = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict):
        raise _bad(f'{where} must be an object like {{"type": "function", "function": {{...}}}}', where)
    if tool.get("type", "function") != "function" or not isinstance(fn, dict):
        return OpaqueTool(FORMAT, tool)
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(f"{where}.function.name is required (letters, digits, _ and -)", f"{where}.function.name")
    description = fn.get("description")
    if description is not None and not isinstance(description, str):
        raise _bad(f"{where}.function.description must be a string", f"{where}.function.description")
    parameters = fn.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise _bad(f"{where}.function.parameters must be a JSON schema object", f"{where}.function.parameters")
    strict = fn.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _bad(f"{where}.function.strict must be true or false", f"{where}.function.strict")
    # "type" is required by OpenAI's API and always written back as "function"
    return Tool(
        name,
        description,
        parameters if parameters is not None else {"type": "object", "properties": {}},
        strict,
        _cache_control(tool, where),
        extra=_rest(fn, "name", "description", "parameters", "strict"),
        outer_extra=_rest(tool, "type", "function", "cache_control"),
        parameters_absent=parameters is None,
    )


def decode_tool_choice(choice: Any) -> ToolChoice | None:
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return ToolChoice(choice)
    if isinstance(choice, dict) and choice.get("type") == "function" and set(choice) <= {"type", "function"}:
        fn = choice.get("function")
        if isinstance(fn, dict) and set(fn) == {"name"} and isinstance(fn["name"], str):
            return ToolChoice("tool", fn["name"])
    if isinstance(choice, (str, dict)):
        return ToolChoice("raw", raw=choice)
    raise _bad("'tool_choice' must be a string or an object", "tool_choice")


# --------------------------------------------------------------------------- encoding


#: typed fields an OpenAI-format upstream has no member for (left out of translated requests)
NOT_OPENAI = ("top_k", "thinking")


def encode_chat(request: ChatRequest, model: str, dropped: list[str] | None = None) -> JSON:
    """The OpenAI chat body for ``request``, with the upstream's ``model`` name.

    For an OpenAI-sourced request the client's members come back as sent (the fields no hook
    changed keep their spelling).  A request from another format is translated; its members with
    no OpenAI form (``extra``, ``top_k``, ``thinking``) are left out and their names added to
    ``dropped``, for the provider to report (``x-gateway-dropped-params``).
    """
    same = request.format == FORMAT
    if same:
        # the members no type covers (a hook may change them), then the typed ones as the client spelled them
        out = dict(request.extra)
        body = request.body
        out.update((k, body[k]) for k in _TYPED_TOP if k in body)
        changed = request.changed_fields()
    else:
        out = {}
        changed = [name for name in TOP_FIELDS if name not in NOT_OPENAI]
        if dropped is not None:
            dropped += sorted(request.extra) + [name for name in NOT_OPENAI if getattr(request, name) is not None]
    out["model"] = model
    out["messages"] = encode_messages(request.messages, same)
    for name in changed:
        _ENCODE_TOP[name](request, out)
    if request.tools is not None:
        out["tools"] = [encode_tool(t, same) for t in request.tools]
    elif same:
        out.pop("tools", None)
    return out


def _set(out: JSON, name: str, value: Any) -> None:
    if value is None:
        out.pop(name, None)
    else:
        out[name] = value


def _top_max_tokens(request: ChatRequest, out: JSON) -> None:
    name = request.hint("max_tokens_name", "max_tokens") if request.format == FORMAT else "max_tokens"
    _set(out, name, request.max_tokens)


def _top_stop(request: ChatRequest, out: JSON) -> None:
    stop = request.stop
    _set(out, "stop", stop[0] if stop and len(stop) == 1 and isinstance(request.body.get("stop"), str) else stop)


def _top_stream(request: ChatRequest, out: JSON) -> None:
    if request.stream:
        out["stream"] = True
    elif request.format != FORMAT or "stream" in out:
        out.pop("stream", None)


def _top_tool_choice(request: ChatRequest, out: JSON) -> None:
    _set(out, "tool_choice", encode_tool_choice(request.tool_choice))


def _plain(name: str) -> Any:
    def encode(request: ChatRequest, out: JSON) -> None:
        _set(out, name, getattr(request, name))

    return encode


_ENCODE_TOP = {
    "model": lambda request, out: None,
    "stream": _top_stream,
    "max_tokens": _top_max_tokens,
    "stop": _top_stop,
    "tool_choice": _top_tool_choice,
    **{
        name: _plain(name)
        for name in (
            "temperature",
            "top_p",
            "top_k",
            "n",
            "seed",
            "user",
            "parallel_tool_calls",
            "response_format",
            "reasoning_effort",
            "thinking",
        )
    },
}


def encode_tool_choice(choice: ToolChoice | None) -> Any:
    if choice is None:
        return None
    if choice.mode == "raw":
        return choice.raw
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def encode_tool(tool: Tool | OpaqueTool, same: bool = True) -> JSON:
    if isinstance(tool, OpaqueTool):
        if tool.format != FORMAT:
            raise _bad(
                f"tool {tool.type!r} is a built-in tool of the {tool.format} API; OpenAI-format models cannot run it",
                "tools",
            )
        return tool.data
    fn: JSON = {"name": tool.name}
    if tool.description is not None:
        fn["description"] = tool.description
    if not tool.parameters_absent:
        fn["parameters"] = tool.parameters
    if tool.strict is not None:
        fn["strict"] = tool.strict
    if same:
        fn.update(tool.extra)
    out: JSON = {"type": "function", "function": fn}
    if same:
        out.update(tool.outer_extra)
        if tool.cache_control is not None:
            out["cache_control"] = tool.cache_control
    return out


def encode_messages(messages: list[Message], same: bool = True) -> list[JSON]:
    out: list[JSON] = []
    for message in messages:
        if same:
            out.append(_encode_message(message))
        else:
            out.extend(_encode_foreign_message(message))
    return out


def _encode_message(message: Message) -> JSON:
    """An OpenAI-sourced message back in its own shape (extras included)."""
    out: JSON = {"role": message.role}
    parts = message.parts
    if message.role == "tool" and len(parts) == 1 and isinstance(parts[0], ToolResult):
        result = parts[0]
        out["tool_call_id"] = result.call_id
        _put_content(out, result.content_form, result.parts)
    else:
        thinking = [
            p for p in parts if isinstance(p, Thinking) or (isinstance(p, Opaque) and p.slot == "thinking_blocks")
        ]
        calls = [p for p in parts if isinstance(p, ToolCall)]
        content = [
            p
            for p in parts
            if not isinstance(p, (Thinking, ToolCall)) and not (isinstance(p, Opaque) and p.slot == "thinking_blocks")
        ]
        _put_content(out, message.content_form, content)
        if thinking:
            out["thinking_blocks"] = [_encode_thinking(t) for t in thinking]
        if calls:
            out["tool_calls"] = [encode_tool_call(c) for c in calls]
    if message.name is not None:
        out["name"] = message.name
    if message.cache_control is not None:
        out["cache_control"] = message.cache_control
    out.update(message.extra)
    return out


def _put_content(out: JSON, form: ContentForm, parts: list[Part]) -> None:
    if form == "absent" and not parts:
        return
    if form == "null" and not parts:
        out["content"] = None
        return
    if form == "text" and len(parts) == 1 and isinstance(parts[0], Text) and _plain_text(parts[0]):
        out["content"] = parts[0].text
        return
    out["content"] = [encode_part(p) for p in parts]


def _plain_text(part: Text) -> bool:
    return part.cache_control is None and not part.extra


def encode_part(part: Part) -> Any:
    if isinstance(part, Text):
        if part.bare and _plain_text(part):
            return part.text
        out: JSON = {"type": "text", "text": part.text}
    elif isinstance(part, Image):
        url = part.url
        if url is None:
            media_type, data = part.inline() or ("application/octet-stream", "")
            url = f"data:{media_type};base64,{data}"
        if part.bare and part.detail is None and not part.source_extra:
            out = {"type": "image_url", "image_url": url}
        else:
            spec: JSON = {"url": url}
            if part.detail is not None:
                spec["detail"] = part.detail
            spec.update(part.source_extra)
            out = {"type": "image_url", "image_url": spec}
    elif isinstance(part, File):
        file: JSON = {}
        if part.url is not None:
            file["file_data"] = part.url
        elif part.data is not None:
            file["file_data"] = f"data:{part.media_type or 'application/pdf'};base64,{part.data}"
        elif part.text is not None:
            return {"type": "text", "text": part.text}
        if part.file_id is not None:
            file["file_id"] = part.file_id
        if part.filename is not None:
            file["filename"] = part.filename
        file.update(part.source_extra)
        out = {"type": "file", "file": file}
    elif isinstance(part, Opaque):
        return part.data
    else:
        raise TypeError(f"a {type(part).__name__} cannot stand in a message's content")
    if part.cache_control is not None:
        out["cache_control"] = part.cache_control
    out.update(part.extra)
    return out


def encode_tool_call(call: ToolCall) -> JSON:
    fn: JSON = {"name": call.name}
    if call.arguments_form == "object" and call.arguments is None:
        fn["arguments"] = call.input
    elif not (call.arguments_form == "absent" and call.arguments == ""):
        fn["arguments"] = call.arguments_json()
    fn.update(call.function_extra)
    out: JSON = {"id": call.id, "type": "function", "function": fn}
    out.update(call.extra)
    return out


def _encode_thinking(part: Thinking | Opaque) -> JSON:
    if isinstance(part, Opaque):
        return part.data
    if part.redacted is not None:
        return {"type": "redacted_thinking", "data": part.redacted, **part.extra}
    block: JSON = {"type": "thinking", "thinking": part.text or ""}
    if part.signature is not None:
        block["signature"] = part.signature
    block.update(part.extra)
    return block


# --------------------------------------------------------------------------- from another format


def _foreign_part(part: Part) -> JSON | None:
    """A part decoded from another format, as OpenAI content (None: it has no OpenAI form)."""
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, Image):
        inline = part.inline()
        url = f"data:{inline[0]};base64,{inline[1]}" if inline else part.url
        spec: JSON = {"url": url}
        if part.detail is not None:
            spec["detail"] = part.detail
        return {"type": "image_url", "image_url": spec}
    if isinstance(part, File):
        if part.text is not None:
            return {"type": "text", "text": part.text}
        inline = part.inline()
        if inline is not None:
            return {"type": "file", "file": {"file_data": f"data:{inline[0]};base64,{inline[1]}"}}
        if part.file_id is not None:
            return {"type": "file", "file": {"file_id": part.file_id}}
        raise _bad(
            "a document given by URL cannot be sent to an OpenAI-format model; send it inline (base64)", "messages"
        )
    if isinstance(part, Opaque):
        raise _bad(
            f"content of type {part.type!r} ({part.format} format) cannot be sent to an OpenAI-format model", "messages"
        )
    return None


def _foreign_content(parts: list[Part]) -> str | list[JSON]:
    out = [p for p in (_foreign_part(part) for part in parts) if p is not None]
    if all(p["type"] == "text" for p in out):
        return "".join(p["text"] for p in out)
    return out


def _encode_foreign_message(message: Message) -> list[JSON]:
    """A message decoded from another format (Anthropic ...): tool results become ``tool``
    messages, images inside them follow as user content, thinking is left out (OpenAI-format
    upstreams have no place for it)."""
    out: list[JSON] = []
    if message.role in ("system", "developer"):
        return [{"role": message.role, "content": _foreign_content(message.parts)}]
    if message.role == "assistant":
        calls = message.tool_calls()
        text = _foreign_content([p for p in message.parts if isinstance(p, Text)])
        answer: JSON = {"role": "assistant", "content": text if text or not calls else None}
        if calls:
            answer["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json()}}
                for c in calls
            ]
        return [answer]
    carried: list[Part] = []
    others: list[Part] = []
    for part in message.parts:
        if isinstance(part, ToolResult):
            texts = [p for p in part.parts if isinstance(p, Text)]
            carried += [p for p in part.parts if not isinstance(p, Text)]
            content = _foreign_content(texts)
            out.append({"role": "tool", "tool_call_id": part.call_id, "content": content})
        else:
            others.append(part)
    rest = carried + others
    if rest or not out:
        out.append({"role": message.role if message.role != "tool" else "user", "content": _foreign_content(rest)})
    return out
