"""OpenAI chat completions <-> :class:`ChatRequest`: the OpenAI surface's decoder and the encoder of
every OpenAI-format provider.

Decoding validates as it goes (every refusal names the field as ``messages[2].content[0].text``)
and keeps what no type covers verbatim; encoding an OpenAI-sourced request gives back the same
JSON members (see :mod:`gateway.chat._model`).  Shapes:
https://platform.openai.com/docs/api-reference/chat/create.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from gateway._errors import BadRequestError
from gateway.chat._model import (
    JSON,
    TOP_FIELDS,
    ChatRequest,
    ContentForm,
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
    ToolChoice,
    ToolResult,
)
from gateway.chat._openai_checks import validate_chat, validate_completion, validate_embeddings
from gateway.chat._params import GATEWAY_ONLY_FIELDS

FORMAT = "openai"
#: the request members typed fields hold (the rest are ``extra``, or the gateway's own fields)
TYPED_MEMBERS = frozenset(
    {"model", "messages", "stream", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "n", "seed",
     "stop", "user", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "thinking"}
)  # fmt: skip
#: the same for completions and embeddings, whose other members pass as they are
PROMPT_MEMBERS = frozenset({"model", "stream", "max_tokens", "n", "user"})
_MAX_COMPLETION_TOKENS = {"max_tokens_name": "max_completion_tokens"}
#: chat members whose typed field holds the client's value unchanged (the field has the member's name)
_PLAIN_FIELDS = frozenset(
    {"temperature", "top_p", "top_k", "n", "seed", "user", "parallel_tool_calls", "reasoning_effort", "thinking",
     "response_format"}
)  # fmt: skip
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "cache_control", "thinking_blocks"})


# --------------------------------------------------------------------------- decoding


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def decode_chat(body: JSON) -> ChatRequest:
    """An OpenAI chat completions body as a :class:`ChatRequest`; a 400 naming the field for
    anything malformed.  The body is checked whole here (:mod:`._openai_checks`); messages and
    tools become typed objects only when a plugin or a translating provider looks at them."""
    model = validate_chat(body)
    get = body.get
    request = ChatRequest(
        FORMAT,
        body,
        model,
        TYPED_MEMBERS,
        GATEWAY_ONLY_FIELDS,
        lazy=(body["messages"], get("tools"), decode_messages, decode_tools),
    )
    request.stream = get("stream") is True
    options = get("stream_options")
    request.include_usage = isinstance(options, dict) and options.get("include_usage") is True
    max_name = "max_completion_tokens" if get("max_completion_tokens") is not None else "max_tokens"
    request.max_tokens = get(max_name)
    # the fields taken as they are: only the ones the client sent (the rest stay None); most
    # requests send none of them, and a set intersection in C costs less than ten lookups
    for name in _PLAIN_FIELDS.intersection(body):
        setattr(request, name, body[name])
    stop = get("stop")
    request.stop = [stop] if isinstance(stop, str) else stop
    choice = get("tool_choice")
    request.tool_choice = decode_tool_choice(choice) if choice is not None else None
    request.seal(_MAX_COMPLETION_TOKENS if max_name == "max_completion_tokens" else None)
    return request


def decode_prompt(body: JSON, endpoint: str) -> ModelRequest:
    """A completions or embeddings body as a :class:`ModelRequest` (checked whole first)."""
    model = validate_completion(body) if endpoint == "completions" else validate_embeddings(body)
    request = ModelRequest(FORMAT, body, model, PROMPT_MEMBERS, GATEWAY_ONLY_FIELDS)
    get = body.get
    request.stream = get("stream") is True and endpoint == "completions"
    options = get("stream_options")
    request.include_usage = isinstance(options, dict) and options.get("include_usage") is True
    request.max_tokens = get("max_tokens")
    best_of = get("best_of")
    n = get("n")
    request.n = max(n or 1, best_of) if isinstance(best_of, int) and not isinstance(best_of, bool) else n
    request.user = get("user")
    request.seal()
    return request


def decode_messages(messages: list[Any]) -> list[Message]:
    return [decode_message(m) for m in messages]


def decode_tools(tools: list[Any]) -> list[Tool | OpaqueTool]:
    return [decode_tool(t) for t in tools]


def decode_message(message: JSON) -> Message:
    """A checked message as a typed one; what no field covers stays in ``extra``."""
    role = message["role"]
    extra = {k: v for k, v in message.items() if k not in _MESSAGE_KEYS}
    cache_control = _dict_or_extra(message, "cache_control", extra)
    form, parts = decode_content(message)
    if role == "tool" and isinstance(message.get("tool_call_id"), str):
        return Message(
            role, [ToolResult(message["tool_call_id"], parts, form)], message.get("name"), form, cache_control, extra
        )
    if "tool_call_id" in message:
        extra["tool_call_id"] = message["tool_call_id"]
    thinking = message.get("thinking_blocks")
    calls = message.get("tool_calls")
    if role == "assistant" and thinking:
        parts = [_decode_thinking(b) for b in thinking] + parts
    elif "thinking_blocks" in message:
        extra["thinking_blocks"] = thinking
    if role == "assistant" and calls:
        parts += [_decode_tool_call(c) for c in calls]
    elif "tool_calls" in message:
        extra["tool_calls"] = calls
    return Message(role, parts, message.get("name"), form, cache_control, extra)


def _dict_or_extra(obj: JSON, name: str, extra: JSON) -> JSON | None:
    """A member the model types as an object; any other value is kept verbatim in ``extra``."""
    value = obj.get(name)
    if value is None or isinstance(value, dict):
        if value is None and name in obj:
            extra[name] = None
        return value
    extra[name] = value
    return None


def decode_content(message: JSON) -> tuple[ContentForm, list[Part]]:
    if "content" not in message:
        return "absent", []
    content = message["content"]
    if content is None:
        return "null", []
    if isinstance(content, str):
        return "text", [Text(content)]
    return "parts", [decode_part(p) for p in content]


def decode_part(part: Any) -> Part:
    if isinstance(part, str):  # tolerated by OpenAI's API and LiteLLM
        return Text(part, bare=True)
    kind = part["type"]
    if kind == "text":
        extra = _rest(part, "type", "text", "cache_control")
        return Text(part["text"], _dict_or_extra(part, "cache_control", extra), extra)
    if kind == "image_url":
        spec = part["image_url"]
        bare = isinstance(spec, str)
        inner: JSON = {"url": spec} if bare else spec
        extra = _rest(part, "type", "image_url", "cache_control")
        return Image(url=inner["url"], detail=inner.get("detail"), cache_control=_dict_or_extra(part, "cache_control", extra),
                     extra=extra, source_extra=_rest(inner, "url", "detail"), bare=bare)  # fmt: skip
    if kind == "file":
        spec = part["file"]
        extra = _rest(part, "type", "file", "cache_control")
        return File(url=spec.get("file_data"), file_id=spec.get("file_id"), filename=spec.get("filename"),
                    cache_control=_dict_or_extra(part, "cache_control", extra), extra=extra,
                    source_extra=_rest(spec, "file_data", "file_id", "filename"))  # fmt: skip
    return Opaque(FORMAT, part)


def _rest(obj: JSON, *known: str) -> JSON:
    if len(obj) <= len(known) and all(k in known for k in obj):
        return {}
    return {k: v for k, v in obj.items() if k not in known}


def _decode_tool_call(call: JSON) -> ToolCall:
    fn = call["function"]
    arguments = fn.get("arguments")
    extra, function_extra = _rest(call, "id", "function"), _rest(fn, "name", "arguments")
    if isinstance(arguments, dict):  # some clients send an object; kept as such
        return ToolCall(call["id"], fn["name"], input=arguments, extra=extra, function_extra=function_extra,
                        arguments_form="object")  # fmt: skip
    form: Literal["string", "absent"] = "string" if "arguments" in fn else "absent"
    return ToolCall(call["id"], fn["name"], arguments=arguments or "", extra=extra, function_extra=function_extra,
                    arguments_form=form if arguments is not None or form == "absent" else "null")  # fmt: skip


def _decode_thinking(block: JSON) -> Thinking | Opaque:
    kind = block.get("type")
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        return Thinking(block["thinking"], block.get("signature"), extra=_rest(block, "type", "thinking", "signature"))
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return Thinking(redacted=block["data"], extra=_rest(block, "type", "data"))
    return Opaque(FORMAT, block, slot="thinking_blocks")


def decode_tool(tool: JSON) -> Tool | OpaqueTool:
    fn = tool.get("function")
    if tool.get("type", "function") != "function" or not isinstance(fn, dict):
        return OpaqueTool(FORMAT, tool)
    parameters = fn.get("parameters")
    strict = fn.get("strict")
    known = (
        ("name", "description", "parameters", "strict")
        if strict is None or isinstance(strict, bool)
        else ("name", "description", "parameters")
    )
    # "type" is required by OpenAI's API and always written back as "function"
    outer_extra = _rest(tool, "type", "function", "cache_control")
    return Tool(
        fn["name"], fn.get("description"), parameters if parameters is not None else {"type": "object", "properties": {}},
        strict if isinstance(strict, bool) else None, _dict_or_extra(tool, "cache_control", outer_extra),
        extra=_rest(fn, *known), outer_extra=outer_extra, parameters_absent=parameters is None,
    )  # fmt: skip


def decode_tool_choice(choice: Any) -> ToolChoice:
    if choice in ("auto", "none", "required"):
        return ToolChoice(choice)
    if isinstance(choice, dict) and choice.get("type") == "function" and set(choice) <= {"type", "function"}:
        fn = choice.get("function")
        if isinstance(fn, dict) and set(fn) == {"name"} and isinstance(fn["name"], str):
            return ToolChoice("tool", fn["name"])
    return ToolChoice("raw", raw=choice)


# --------------------------------------------------------------------------- encoding


#: typed fields an OpenAI-format upstream has no member for (left out of translated requests)
NOT_OPENAI = ("top_k", "thinking")


#: how message content goes to an OpenAI-format upstream (the deployment's ``content_format``):
#: ``auto`` keeps an OpenAI client's form and sends translated text-only content as a string;
#: ``string`` also joins an OpenAI client's text-only part lists (servers such as llama.cpp's take
#: nothing else); ``parts`` sends every string as a one-part list (servers that take only lists)
ContentFormat = Literal["auto", "string", "parts"]
CONTENT_FORMATS: tuple[ContentFormat, ...] = ("auto", "string", "parts")


def encode_chat(
    request: ChatRequest,
    model: str,
    dropped: list[str] | None = None,
    target: str = "an OpenAI-format model",
    content: ContentFormat = "auto",
) -> JSON:
    """The OpenAI chat body for ``request``, with the upstream's ``model`` name.

    For an OpenAI-sourced request the client's members come back as sent (the fields no hook
    changed keep their spelling).  A request from another format is translated; its members with
    no OpenAI form (``extra``, ``top_k``, ``thinking``) are left out and their names added to
    ``dropped``, for the provider to report (``x-gateway-dropped-params``); its text-only content
    goes as a string, which every OpenAI-compatible server takes.  ``target`` names the deployment
    in refusals of what it cannot run; ``content`` forces one form of message content (see
    :data:`ContentFormat`).
    """
    if content != "auto":
        body = encode_chat(request, model, dropped, target)
        body["messages"] = reshape_content(body["messages"], content)
        return body
    if request.format == FORMAT:
        return _encode_same(request, model)
    out: JSON = {"model": model, "messages": encode_messages(request.messages, same=False, target=target)}
    for name in TOP_FIELDS:
        if name not in NOT_OPENAI:
            _ENCODE_TOP[name](request, out)
    if request.tools is not None:
        out["tools"] = [encode_tool(t, same=False, target=target) for t in request.tools]
    if dropped is not None:
        dropped += sorted(request.extra) + [name for name in NOT_OPENAI if getattr(request, name) is not None]
    return out


def reshape_content(messages: Any, form: ContentFormat) -> Any:
    """``messages`` (OpenAI JSON) with their content in ``form``; new lists and dicts where anything
    changes (the client's body is never modified).  ``string`` joins a list of text parts only (what
    a part carries beyond its text, such as ``cache_control``, is dropped with the list): images,
    audio and files still need one.  Anything that is not a list of message objects is left alone."""
    if form == "auto" or not isinstance(messages, list):
        return messages
    out: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if form == "string" and isinstance(content, list) and content and all(map(_text_only, content)):
            message = {**message, "content": "".join(p if isinstance(p, str) else p["text"] for p in content)}
        elif form == "parts" and isinstance(content, str):
            message = {**message, "content": [{"type": "text", "text": content}]}
        out.append(message)
    return out


def _text_only(part: Any) -> bool:
    return isinstance(part, str) or (
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
    )


def _encode_same(request: ChatRequest, model: str) -> JSON:
    body = request.body
    if request.untouched():
        # nobody looked into the request: the client's body, minus the gateway's own fields
        out = (
            body.copy()
            if GATEWAY_ONLY_FIELDS.isdisjoint(body)
            else {k: v for k, v in body.items() if k not in GATEWAY_ONLY_FIELDS}
        )
        out["model"] = model
        return out
    changed = request.changed_fields()
    # the members no type covers (a hook may have changed them), then the typed ones as the client spelled them
    out = dict(request.extra)
    out.update((k, body[k]) for k in TYPED_MEMBERS if k in body)
    out["model"] = model
    out["messages"] = encode_messages(request.messages) if request.messages_decoded else request.raw_messages()
    if request.tools_decoded:
        tools = request.tools
        if tools is None:
            out.pop("tools", None)
        else:
            out["tools"] = [encode_tool(t) for t in tools]
    for name in changed:
        _ENCODE_TOP[name](request, out)
    return out


def as_openai_body(request: ModelRequest) -> JSON:
    """The request as an OpenAI body, as hooks left it: what logs and sinks record, whatever format
    the client spoke.  Never raises: what has no OpenAI form is left out (a request with content
    only its own format can carry is recorded as its client sent it)."""
    try:
        if isinstance(request, ChatRequest):
            return encode_chat(request, request.model)
        return encode_prompt(request, request.model)
    except BadRequestError:
        return dict(request.body)


def encode_prompt(request: ModelRequest, model: str) -> JSON:
    """The OpenAI completions or embeddings body for ``request``: the client's members as sent,
    minus the gateway's own, with the typed fields a hook changed."""
    body = request.body
    if request.extra_touched:
        out = dict(request.extra)
        out.update((k, body[k]) for k in PROMPT_MEMBERS if k in body)
    else:
        out = (
            body.copy()
            if GATEWAY_ONLY_FIELDS.isdisjoint(body)
            else {k: v for k, v in body.items() if k not in GATEWAY_ONLY_FIELDS}
        )
    out["model"] = model
    for name in request.changed_fields():
        if name != "model":
            _set(out, name, True if name == "stream" and request.stream else getattr(request, name) or None)
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


def encode_tool(tool: Tool | OpaqueTool, same: bool = True, target: str = "an OpenAI-format model") -> JSON:
    if isinstance(tool, OpaqueTool):
        if tool.format != FORMAT:
            raise _bad(
                f"tool {tool.type!r} is a built-in tool of the {tool.format} API; {target} cannot run it", "tools"
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


def encode_messages(messages: list[Message], same: bool = True, target: str = "an OpenAI-format model") -> list[JSON]:
    if same:
        return [_encode_message(message) for message in messages]
    out: list[JSON] = []
    for message in messages:
        out.extend(_encode_foreign_message(message, target))
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


def _put_content(out: JSON, form: ContentForm, parts: Sequence[Part]) -> None:
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
    elif call.arguments_form == "null" and call.arguments == "":
        fn["arguments"] = None
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


def _foreign_part(part: Part, target: str) -> JSON | None:
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
        raise _bad(f"a document given by URL cannot be sent to {target}; send it inline (base64)", "messages")
    if isinstance(part, Opaque):
        raise _bad(f"content of type {part.type!r} ({part.format} format) cannot be sent to {target}", "messages")
    return None


def _foreign_content(parts: Sequence[Part], target: str) -> str | list[JSON]:
    out = [p for p in (_foreign_part(part, target) for part in parts) if p is not None]
    if all(p["type"] == "text" for p in out):
        return "".join(p["text"] for p in out)
    return out


def _encode_foreign_message(message: Message, target: str) -> list[JSON]:
    """A message decoded from another format (Anthropic ...): tool results become ``tool``
    messages, images inside them follow as user content, thinking is left out (OpenAI-format
    upstreams have no place for it)."""
    out: list[JSON] = []
    if message.role in ("system", "developer"):
        return [{"role": message.role, "content": _foreign_content(message.parts, target)}]
    if message.role == "assistant":
        calls = message.tool_calls()
        text = _foreign_content([p for p in message.parts if isinstance(p, Text)], target)
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
            content = _foreign_content(texts, target)
            out.append({"role": "tool", "tool_call_id": part.call_id, "content": content})
        else:
            others.append(part)
    rest = carried + others
    if rest or not out:
        out.append(
            {"role": message.role if message.role != "tool" else "user", "content": _foreign_content(rest, target)}
        )
    return out
