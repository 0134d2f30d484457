"""A Responses API request -> :class:`ResponsesRequest` (a :class:`gateway.chat.ChatRequest`).

Every provider is reached through the typed chat request: ``input`` items become messages of typed
parts (message -> text, images, files; ``function_call`` -> a tool call; ``function_call_output``
-> a tool result; ``reasoning`` -> thinking with its ``encrypted_content`` as the signature),
``instructions`` a system message, function tools typed tools.  Built-in tools (``web_search`` ...)
and items no type covers stay verbatim (``OpaqueTool`` / ``Opaque``): no chat upstream can run
them, and :func:`gateway_responses.refuse_builtin_tools` says so naming the deployment.

Shapes: https://platform.openai.com/docs/api-reference/responses/create (and the ``openai`` SDK's
``types.responses``).
"""

from __future__ import annotations

import time
import uuid
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

#: the format of the request's verbatim members; no provider speaks it, so every encoder translates
FORMAT = "openai.responses"

#: members the surface reads itself (typed, or kept on the request): never forwarded as they are
TYPED_MEMBERS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "temperature", "top_p",
        "text", "reasoning", "stream", "store", "previous_response_id", "parallel_tool_calls", "user",
        "include", "stream_options", "prompt_cache_key", "safety_identifier", "service_tier", "truncation",
        "background", "client_metadata",
    }
)  # fmt: skip

#: members a chat upstream has no form for, which ask for nothing the answer depends on: not
#: forwarded, and named in ``x-gateway-dropped-params`` when given
HINT_MEMBERS = (
    "prompt_cache_key", "safety_identifier", "service_tier", "truncation", "stream_options", "client_metadata",
)  # fmt: skip

_NUMBER = (int, float)
_MAX_INT = 2**63 - 1
FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "instructions": ((str,), "a string"),
    "tools": ((list,), "a list of tools"),
    "max_output_tokens": ((int,), "a positive integer"),
    "temperature": (_NUMBER, "a number from 0 to 2"),
    "top_p": (_NUMBER, "a number from 0 to 1"),
    "text": ((dict,), 'an object like {"format": {"type": "text"}}'),
    "reasoning": ((dict,), 'an object like {"effort": "medium"}'),
    "stream": ((bool,), "true or false"),
    "store": ((bool,), "true or false"),
    "previous_response_id": ((str,), "a response id (resp_...)"),
    "parallel_tool_calls": ((bool,), "true or false"),
    "user": ((str,), "a string"),
    "include": ((list,), "a list of strings"),
    "background": ((bool,), "true or false"),
}


class ResponsesRequest(ChatRequest):
    """A chat request decoded from the Responses API, with what the answer echoes and storage needs."""

    __slots__ = ("response_id", "created_at", "store", "previous_response_id", "input_items", "echo", "dropped",
                 "history", "namespaces")  # fmt: skip

    def __init__(self, body: JSON, model: str) -> None:
        super().__init__(FORMAT, body, model, TYPED_MEMBERS, GATEWAY_ONLY_FIELDS)
        #: the answer's id, known from the start: the stream's first event carries it
        self.response_id = f"resp_{uuid.uuid4().hex}"
        self.created_at = int(time.time())
        #: keep the answer for ``GET /v1/responses/{id}`` and ``previous_response_id`` (OpenAI's default: true)
        self.store = True
        self.previous_response_id: str | None = None
        #: this turn's input as items (a string input becomes one user message item)
        self.input_items: list[JSON] = []
        #: the request's fields the Response object repeats (``instructions``, ``tools``, ``text`` ...)
        self.echo: JSON = {}
        #: members the surface did not forward (named in ``x-gateway-dropped-params``)
        self.dropped: list[str] = []
        #: the items of the earlier turns (``previous_response_id``), once loaded
        self.history: list[JSON] = []
        #: function name -> the ``namespace`` tool it was declared in (its calls name the namespace)
        self.namespaces: dict[str, str] = {}


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def _rest(obj: Mapping[str, Any], *known: str) -> JSON:
    return {k: v for k, v in obj.items() if k not in known}


def _check_field_types(body: Mapping[str, Any]) -> None:
    for name, (types, expected) in FIELD_TYPES.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _bad(f"{name}: must be {expected}, got {type(value).__name__}", name)
    tokens = body.get("max_output_tokens")
    if tokens is not None and not 1 <= tokens <= _MAX_INT:
        raise _bad(f"max_output_tokens: must be a positive integer of at most {_MAX_INT}", "max_output_tokens")


def decode_responses_request(body: JSON) -> ResponsesRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model: field required (a model name from GET /v1/models)", "model")
    _check_field_types(body)
    request = ResponsesRequest(body, model)
    raw_input = body.get("input")
    if isinstance(raw_input, str):
        items: list[JSON] = [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw_input}]}
        ]
    elif isinstance(raw_input, list):
        items = [_item_object(item, f"input.{i}") for i, item in enumerate(raw_input)]
    elif raw_input is None and isinstance(body.get("previous_response_id"), str):
        items = []
    else:
        raise _bad("input: field required, a string or a list of input items", "input")
    request.input_items = items
    request.messages = decode_items(items, "input")
    instructions = body.get("instructions")
    request.stream = body.get("stream") is True
    request.include_usage = True  # the Responses stream always ends with usage
    request.store = body.get("store") is not False
    request.previous_response_id = body.get("previous_response_id")
    request.max_tokens = body.get("max_output_tokens")
    request.temperature = body.get("temperature")
    request.top_p = body.get("top_p")
    request.user = body.get("user")
    request.parallel_tool_calls = body.get("parallel_tool_calls")
    tools = body.get("tools")
    if tools is not None:
        request.tools = _tools(tools, request.namespaces)
    request.tool_choice = _tool_choice(body.get("tool_choice"))
    request.response_format = _text_format(body.get("text"), request.dropped)
    request.reasoning_effort = _reasoning(body.get("reasoning"), request.dropped)
    request.dropped += [name for name in HINT_MEMBERS if body.get(name) is not None]
    if body.get("background") is True:
        raise _bad(
            "background: responses run in the background are not supported; leave background unset", "background"
        )
    if instructions is not None:
        request.messages.insert(0, Message("system", [Text(instructions)], content_form="text"))
    request.echo = {
        "instructions": instructions,
        "tools": tools if tools is not None else [],
        "tool_choice": body.get("tool_choice", "auto"),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "max_output_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "text": body.get("text") or {"format": {"type": "text"}},
        "reasoning": body.get("reasoning"),
        "user": request.user,
        "metadata": body.get("metadata") if isinstance(body.get("metadata"), dict) else {},
        "store": request.store,
        "previous_response_id": request.previous_response_id,
    }
    request.seal()
    return request


# --------------------------------------------------------------------------- items


def _item_object(item: Any, where: str) -> JSON:
    if not isinstance(item, dict):
        raise _bad(f"{where}: must be an input item object (a message, function_call, function_call_output ...)", where)
    return item


def item_kind(item: Mapping[str, Any]) -> str:
    """An item's type; a bare ``{"role": ..., "content": ...}`` is a message."""
    kind = item.get("type")
    if kind is None and "role" in item:
        return "message"
    return kind if isinstance(kind, str) else "?"


def decode_items(items: list[JSON], where: str) -> list[Message]:
    """Items as chat messages: an assistant's consecutive items (reasoning, text, tool calls) make one
    assistant message, consecutive tool outputs one user message of tool results (the form
    Anthropic and Gemini need; the OpenAI encoder splits them again)."""
    messages: list[Message] = []

    def turn(role: str) -> Message:
        last = messages[-1] if messages else None
        if last is not None and last.role == role and last.extra.get("_responses_turn"):
            return last
        message = Message(role, [], content_form="parts", extra={"_responses_turn": True})
        messages.append(message)
        return message

    for i, item in enumerate(items):
        at = f"{where}.{i}"
        kind = item_kind(item)
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise _bad(f"{at}.role must be 'user', 'assistant', 'system' or 'developer'", f"{at}.role")
            parts = _content(item.get("content"), at)
            if role == "assistant":
                turn("assistant").parts.extend(parts)
            else:
                messages.append(Message(role, parts, content_form="parts"))
        elif kind == "function_call":
            call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments", "")
            if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
                raise _bad(f"{at}: a function_call needs 'call_id' and 'name'", at)
            if not isinstance(arguments, str):
                raise _bad(f"{at}.arguments must be a JSON string", f"{at}.arguments")
            turn("assistant").parts.append(ToolCall(call_id, name, arguments=arguments))
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _bad(f"{at}.call_id is required", f"{at}.call_id")
            output = item.get("output")
            if isinstance(output, str):
                parts = [Text(output)] if output else []
            elif isinstance(output, list):
                parts = _content(output, at, "output")
            else:
                raise _bad(f"{at}.output must be a string or a list of content parts", f"{at}.output")
            form: ContentForm = "text" if isinstance(output, str) else "parts"
            turn("tool").parts.append(ToolResult(call_id, parts, form))
        elif kind == "reasoning":
            summary = item.get("summary")
            texts = (
                [s.get("text", "") for s in summary or [] if isinstance(s, dict)] if isinstance(summary, list) else []
            )
            signature = item.get("encrypted_content")
            # only a signed block can go back to a model (Anthropic refuses unsigned thinking); a bare
            # summary is what the client was shown, not something a model takes as input
            text = "\n".join(t for t in texts if isinstance(t, str))
            if isinstance(signature, str) and signature:
                # no summary: an encrypted (redacted) block, which goes back as it came
                thinking = Thinking(text, signature) if text else Thinking(redacted=signature)
                turn("assistant").parts.append(thinking)
        else:
            # a built-in tool's call or output, an item reference ...: no chat form; encoders refuse it by name
            turn("assistant").parts.append(Opaque(FORMAT, dict(item)))
    for message in messages:
        message.extra.pop("_responses_turn", None)
        if message.role == "tool":
            message.role = "user"
    return messages


def _content(content: Any, where: str, name: str = "content") -> list[Part]:
    if isinstance(content, str):
        return [Text(content)] if content else []
    if not isinstance(content, list):
        raise _bad(f"{where}.{name} must be a string or a list of content parts", f"{where}.{name}")
    return [_part(p, f"{where}.{name}.{j}") for j, p in enumerate(content)]


def _part(part: Any, where: str) -> Part:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise _bad(f"{where} must be an object with a 'type'", where)
    kind = part["type"]
    if kind in ("input_text", "output_text", "text", "summary_text"):
        if not isinstance(part.get("text"), str):
            raise _bad(f"{where}.text must be a string", f"{where}.text")
        return Text(part["text"])
    if kind == "refusal" and isinstance(part.get("refusal"), str):
        return Text(part["refusal"])
    if kind == "input_image":
        url, detail = part.get("image_url"), part.get("detail")
        if isinstance(url, str):
            return Image(url=url, detail=detail if isinstance(detail, str) and detail != "auto" else None)
        if isinstance(part.get("file_id"), str):
            return File(file_id=part["file_id"])
        raise _bad(f"{where} needs 'image_url' (a URL or a data: URL) or 'file_id'", where)
    if kind == "input_file":
        filename = part.get("filename") if isinstance(part.get("filename"), str) else None
        if isinstance(part.get("file_data"), str):
            data = part["file_data"]
            if data.startswith("data:"):
                return File(url=data, filename=filename)
            return File(data=data, media_type="application/pdf", filename=filename)
        if isinstance(part.get("file_id"), str):
            return File(file_id=part["file_id"], filename=filename)
        if isinstance(part.get("file_url"), str):
            return File(url=part["file_url"], filename=filename)
        raise _bad(f"{where} needs 'file_data', 'file_id' or 'file_url'", where)
    return Opaque(FORMAT, dict(part))


# --------------------------------------------------------------------------- tools and options


def _tools(tools: list[Any], namespaces: dict[str, str]) -> list[Tool | OpaqueTool]:
    """The tools, with the function tools of a ``namespace`` tool (a group the Codex CLI sends) as
    plain function tools; ``namespaces`` remembers where each came from."""
    out: list[Tool | OpaqueTool] = []
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if isinstance(tool, dict) and tool.get("type") == "namespace" and isinstance(tool.get("tools"), list):
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                raise _bad(f"{where}.name is required for a namespace", f"{where}.name")
            for j, inner in enumerate(tool["tools"]):
                decoded = _tool(inner, f"{where}.tools.{j}")
                if isinstance(decoded, Tool):
                    namespaces[decoded.name] = name
                out.append(decoded)
        else:
            out.append(_tool(tool, where))
    return out


def _tool(tool: Any, where: str) -> Tool | OpaqueTool:
    if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
        raise _bad(f"{where} must be an object with a 'type' ('function', or a built-in tool)", where)
    if tool["type"] != "function":
        return OpaqueTool(FORMAT, tool)  # web_search, file_search, custom ...: refused per deployment
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(f"{where}.name is required", f"{where}.name")
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise _bad(f"{where}.parameters must be a JSON schema object", f"{where}.parameters")
    description = tool.get("description")
    strict = tool.get("strict")
    return Tool(
        name,
        description if isinstance(description, str) else None,
        parameters if parameters is not None else {"type": "object", "properties": {}},
        strict if isinstance(strict, bool) else None,
        extra=_rest(tool, "type", "name", "description", "parameters", "strict"),
        parameters_absent=parameters is None,
    )


def _tool_choice(choice: Any) -> ToolChoice | None:
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return ToolChoice(choice)
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return ToolChoice("tool", choice["name"])
    if isinstance(choice, dict) and isinstance(choice.get("type"), str):
        return ToolChoice("raw", raw=choice)  # allowed_tools, a built-in tool: the encoder decides
    raise _bad('tool_choice must be "auto", "none", "required" or {"type": "function", "name": ...}', "tool_choice")


def _text_format(text: JSON | None, dropped: list[str]) -> JSON | None:
    """``text.format`` in OpenAI chat's ``response_format`` shape."""
    if text is None:
        return None
    if text.get("verbosity") is not None:
        dropped.append("text.verbosity")
    fmt = text.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        raise _bad(
            'text.format must be an object like {"type": "json_schema", "name": ..., "schema": {...}}', "text.format"
        )
    kind = fmt["type"]
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise _bad("text.format.schema must be a JSON schema object", "text.format.schema")
        spec: JSON = {"name": fmt.get("name") or "output", "schema": fmt["schema"]}
        for key in ("strict", "description"):
            if fmt.get(key) is not None:
                spec[key] = fmt[key]
        return {"type": "json_schema", "json_schema": spec}
    raise _bad(f"text.format.type must be 'text', 'json_object' or 'json_schema', got {kind!r}", "text.format.type")


def _reasoning(reasoning: JSON | None, dropped: list[str]) -> str | None:
    """``reasoning.effort`` is the typed effort each provider translates; a summary cannot be asked for."""
    if reasoning is None:
        return None
    if reasoning.get("summary") is not None or reasoning.get("generate_summary") is not None:
        dropped.append("reasoning.summary")
    effort = reasoning.get("effort")
    if effort is not None and not isinstance(effort, str):
        raise _bad("reasoning.effort must be a string such as 'low', 'medium' or 'high'", "reasoning.effort")
    return effort
