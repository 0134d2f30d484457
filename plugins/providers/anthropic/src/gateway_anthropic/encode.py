""":class:`gateway.chat.ChatRequest` -> an Anthropic Messages request: the provider's one encoder.

A request that came in Anthropic's format (``/v1/messages``) is written back as sent: each message
one turn, every block with its ``cache_control``, thinking blocks with their signatures, server
tools and fields this code has never heard of, changed only where a hook changed the typed
request.  A request from another format (OpenAI chat) is translated: system messages become
``system``, consecutive turns of one role merge, tool messages become ``tool_result`` blocks,
``response_format`` becomes structured output or a forced tool, ``reasoning_effort`` a thinking
budget; what the API would refuse is refused here first, with a 400 naming the message.

Shapes: https://docs.anthropic.com/en/api/messages, tool use:
https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use, vision,
prompt caching, extended thinking and structured outputs in Anthropic's build-with-claude guides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway import BadRequestError
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
    drop_or_refuse,
    function_tools,
    tool_choice_mode,
)

from .decode import FORMAT, TYPED_MEMBERS
from .wire import DOCUMENT_MEDIA_TYPES, IMAGE_MEDIA_TYPES, PROVIDER

#: OpenAI request members this encoder translates besides the typed fields; the rest are dropped
#: or refused (``drop_params``)
TRANSLATED_EXTRAS = frozenset({"stream_options", "max_tokens"})
#: typed fields with a value every provider honours anyway (never "unsupported")
NEUTRAL = {"n": 1}
#: the forced tool that carries ``response_format`` JSON (LiteLLM uses the same name)
JSON_TOOL_NAME = "json_tool_call"
#: extended-thinking budgets for OpenAI's ``reasoning_effort``
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}
_TOOL_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(slots=True)
class AnthropicRequest:
    """The encoded body, and what the answer's translation must know about it."""

    body: JSON
    #: set when ``response_format`` became a forced tool whose input is the JSON answer
    json_tool: str | None = None


def tool_use_id(foreign_id: str) -> str:
    """Anthropic ids must match ``^[a-zA-Z0-9_-]+$``; other providers' ids may not."""
    return _TOOL_ID_UNSAFE.sub("_", foreign_id)


def encode_request(
    request: ChatRequest,
    model: str,
    *,
    default_max_tokens: int,
    drop_params: bool,
    response_headers: dict[str, str],
) -> AnthropicRequest:
    if request.format == FORMAT:
        return AnthropicRequest(_encode_same(request, model))
    return _encode_foreign(request, model, default_max_tokens, drop_params, response_headers)


# --------------------------------------------------------------------------- same format: as sent


def _encode_same(request: ChatRequest, model: str) -> JSON:
    # the members no type covers (a hook may change them), then the typed ones as the client spelled them
    out = dict(request.extra)
    body = request.body
    out.update((k, body[k]) for k in TYPED_MEMBERS if k in body)
    if request.hint("metadata_is_user"):
        out["metadata"] = body["metadata"]
    out["model"] = model
    system = [m for m in request.messages if m.role in ("system", "developer")]
    if system:
        out["system"] = _same_system(system)
    else:
        out.pop("system", None)
    out["messages"] = [_same_message(m) for m in request.messages if m.role not in ("system", "developer")]
    if request.tools is not None:
        out["tools"] = [_same_tool(t) for t in request.tools]
    else:
        out.pop("tools", None)
    for name in request.changed_fields():
        _SAME_TOP[name](request, out)
    return out


def _same_system(messages: list[Message]) -> Any:
    if len(messages) == 1 and messages[0].content_form == "text":
        parts = messages[0].parts
        if len(parts) == 1 and isinstance(parts[0], Text) and parts[0].cache_control is None and not parts[0].extra:
            return parts[0].text
    return [_same_block(p) for m in messages for p in m.parts]


def _same_message(message: Message) -> JSON:
    out: JSON = {"role": "user" if message.role == "tool" else message.role}
    _same_content(out, message.content_form, message.parts)
    out.update(message.extra)
    return out


def _same_content(out: JSON, form: ContentForm, parts: list[Part]) -> None:
    if form == "absent" and not parts:
        return
    if form == "null" and not parts:
        out["content"] = None
    elif form == "text" and not parts:
        out["content"] = ""
    elif (
        form == "text"
        and len(parts) == 1
        and isinstance(parts[0], Text)
        and parts[0].cache_control is None
        and not parts[0].extra
    ):
        out["content"] = parts[0].text
    else:
        out["content"] = [_same_block(p) for p in parts]


def _with(block: JSON, cache_control: JSON | None, extra: JSON) -> JSON:
    if cache_control is not None:
        block["cache_control"] = cache_control
    block.update(extra)
    return block


def _same_block(part: Part) -> JSON:
    if isinstance(part, Text):
        return _with({"type": "text", "text": part.text}, part.cache_control, part.extra)
    if isinstance(part, Image):
        inline = part.inline() if part.data is not None or (part.url or "").startswith("data:") else None
        source: JSON = (
            {"type": "base64", "media_type": inline[0], "data": inline[1]}
            if inline
            else {"type": "url", "url": part.url}
        )
        source.update(part.source_extra)
        return _with({"type": "image", "source": source}, part.cache_control, part.extra)
    if isinstance(part, File):
        return _with({"type": "document", "source": _document_source(part)}, part.cache_control, part.extra)
    if isinstance(part, ToolCall):
        block: JSON = {"type": "tool_use", "id": part.id, "name": part.name}
        if part.arguments_form != "absent" or part.arguments:
            block["input"] = part.input_object()
        return _with(block, part.cache_control, part.extra)
    if isinstance(part, ToolResult):
        block = {"type": "tool_result", "tool_use_id": part.call_id}
        _same_content(block, part.content_form, part.parts)
        if part.is_error is not None:
            block["is_error"] = part.is_error
        return _with(block, part.cache_control, part.extra)
    if isinstance(part, Thinking):
        return _thinking_block(part)
    if isinstance(part, Opaque) and part.format == FORMAT:
        return part.data
    raise BadRequestError(
        f"content of type {part.type!r} ({part.format} format) cannot be sent to anthropic", param="messages"
    )


def _document_source(part: File) -> JSON:
    if part.text is not None:
        source: JSON = {"type": "text", "media_type": "text/plain", "data": part.text}
        if "media_type" not in part.source_extra:
            source.pop("media_type")
    elif part.data is not None:
        source = {"type": "base64", "data": part.data}
        if part.media_type is not None:
            source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    elif part.url is not None and not part.url.startswith("data:"):
        source = {"type": "url", "url": part.url}
    else:
        inline = part.inline()
        if inline is None:
            raise BadRequestError("anthropic needs a document inline (base64), as text, or by URL", param="messages")
        source = {"type": "base64", "media_type": inline[0], "data": inline[1]}
    source.update(part.source_extra)
    return source


def _thinking_block(part: Thinking) -> JSON:
    if part.redacted is not None:
        return {"type": "redacted_thinking", "data": part.redacted, **part.extra}
    block: JSON = {"type": "thinking", "thinking": part.text or ""}
    if part.signature is not None:
        block["signature"] = part.signature
    block.update(part.extra)
    return block


def _same_tool(tool: Tool | OpaqueTool) -> JSON:
    if isinstance(tool, OpaqueTool):
        if tool.format != FORMAT:
            raise BadRequestError(
                f"tool {tool.type!r} is a built-in tool of the {tool.format} API; anthropic cannot run it",
                param="tools",
            )
        return tool.data
    return _tool(tool, keep_extra=True)


def _tool(tool: Tool, *, keep_extra: bool) -> JSON:
    out: JSON = {"name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    schema = tool.parameters
    out["input_schema"] = schema if "type" in schema else {"type": "object", **schema}
    if tool.strict:
        out["strict"] = True
    elif tool.strict is False and keep_extra:
        out["strict"] = False
    if tool.cache_control is not None:
        out["cache_control"] = tool.cache_control
    if keep_extra:
        out.update(tool.extra)
    return out


def _set(out: JSON, name: str, value: Any) -> None:
    if value is None:
        out.pop(name, None)
    else:
        out[name] = value


def _top_user(request: ChatRequest, out: JSON) -> None:
    metadata = dict(out.get("metadata") or {})
    _set(metadata, "user_id", request.user)
    _set(out, "metadata", metadata or None)


def _top_stream(request: ChatRequest, out: JSON) -> None:
    _set(out, "stream", True if request.stream else None)


def _top_tool_choice(request: ChatRequest, out: JSON) -> None:
    _set(out, "tool_choice", _tool_choice(request.tool_choice, request.parallel_tool_calls))


def _top_thinking(request: ChatRequest, out: JSON) -> None:
    _set(out, "thinking", _thinking(request))


def _top_response_format(request: ChatRequest, out: JSON) -> None:
    config = dict(out.get("output_config") or {})
    config.pop("format", None)
    schema = _json_schema(request.response_format)
    if schema is not None:
        config["format"] = {"type": "json_schema", "schema": schema}
    _set(out, "output_config", config or None)


def _top_unsupported(name: str) -> Any:
    def encode(request: ChatRequest, out: JSON) -> None:
        value = getattr(request, name)
        if value is not None and NEUTRAL.get(name) != value:
            raise BadRequestError(f"anthropic does not support the parameter '{name}'", param=name)

    return encode


def _renamed(field: str, name: str) -> Any:
    def encode(request: ChatRequest, out: JSON) -> None:
        _set(out, name, getattr(request, field))

    return encode


_SAME_TOP = {
    "model": lambda request, out: None,
    "stream": _top_stream,
    "max_tokens": _renamed("max_tokens", "max_tokens"),
    "temperature": _renamed("temperature", "temperature"),
    "top_p": _renamed("top_p", "top_p"),
    "top_k": _renamed("top_k", "top_k"),
    "stop": _renamed("stop", "stop_sequences"),
    "user": _top_user,
    "tool_choice": _top_tool_choice,
    "parallel_tool_calls": _top_tool_choice,
    "thinking": _top_thinking,
    "reasoning_effort": _top_thinking,
    "response_format": _top_response_format,
    "n": _top_unsupported("n"),
    "seed": _top_unsupported("seed"),
}


# --------------------------------------------------------------------------- pieces both paths use


def _tool_choice(choice: ToolChoice | None, parallel: bool | None) -> JSON | None:
    if choice is None:
        return {"type": "auto", "disable_parallel_tool_use": True} if parallel is False else None
    if choice.mode == "raw":
        if isinstance(choice.raw, dict) and isinstance(choice.raw.get("type"), str):
            return choice.raw
        raise BadRequestError(f"tool_choice {choice.raw!r} has no anthropic equivalent", param="tool_choice")
    out: JSON = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}.get(choice.mode) or {
        "type": "tool",
        "name": choice.name,
    }
    if parallel is not None and out["type"] != "none":
        out["disable_parallel_tool_use"] = not parallel
    return out


def _thinking(request: ChatRequest) -> JSON | None:
    thinking = request.thinking
    if thinking is not None:
        if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
            raise BadRequestError(
                '\'thinking\' must be {"type": "enabled", "budget_tokens": N} or {"type": "disabled"}', param="thinking"
            )
        if thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
                raise BadRequestError("'thinking.budget_tokens' must be an integer of at least 1024", param="thinking")
        return dict(thinking)
    effort = request.reasoning_effort
    if effort is None or effort == "none":
        return None
    if effort not in THINKING_BUDGETS:
        raise BadRequestError(
            f"'reasoning_effort' must be one of none, {', '.join(THINKING_BUDGETS)}; got {effort!r}",
            param="reasoning_effort",
        )
    return {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}


def _json_schema(response_format: JSON | None) -> JSON | None:
    """The object schema of a ``json_schema`` response format (None for other kinds)."""
    if response_format is None or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise BadRequestError(
            "response_format.json_schema.schema must be a JSON schema of type 'object' for anthropic",
            param="response_format",
        )
    return schema if "type" in schema else {"type": "object", **schema}


# --------------------------------------------------------------------------- another format: translated


def _unsupported(request: ChatRequest) -> list[str]:
    names = [k for k, v in request.extra.items() if v is not None and k not in TRANSLATED_EXTRAS]
    names += [k for k in ("n", "seed") if getattr(request, k) is not None and NEUTRAL.get(k) != getattr(request, k)]
    if request.format == "openai":  # values that ask for what Anthropic does anyway
        names = [
            k
            for k in names
            if not (k == "logprobs" and request.extra.get(k) is False)
            and not (k == "store" and request.extra.get(k) is False)
        ]
    return sorted(names)


def _encode_foreign(
    request: ChatRequest, model: str, default_max_tokens: int, drop_params: bool, response_headers: dict[str, str]
) -> AnthropicRequest:
    drop_or_refuse(_unsupported(request), provider=PROVIDER, drop=drop_params, response_headers=response_headers)
    dropped: list[str] = []
    tools = function_tools(request, dropped)
    resolved = tool_choice_mode(request, {t.name for t in tools}, dropped)
    # another format's members with no Anthropic form (its built-in tools ...): dropped and named
    drop_or_refuse(dropped, provider=PROVIDER, drop=True, response_headers=response_headers)
    system, turns = Turns().translate(request.messages)
    out: JSON = {"model": model, "messages": turns}
    if system:
        out["system"] = system
    thinking = _thinking(request)
    max_tokens = request.max_tokens
    if max_tokens is None:
        max_tokens = default_max_tokens
        if thinking and thinking.get("type") == "enabled" and max_tokens <= thinking["budget_tokens"]:
            max_tokens = thinking["budget_tokens"] + default_max_tokens
    elif thinking and thinking.get("type") == "enabled" and max_tokens <= thinking["budget_tokens"]:
        raise BadRequestError(
            f"max_tokens ({max_tokens}) must be larger than the thinking budget ({thinking['budget_tokens']}): "
            "raise max_tokens or lower the reasoning effort",
            param="max_tokens",
        )
    out["max_tokens"] = max_tokens
    if thinking:
        out["thinking"] = thinking
    _sampling(request, out)
    if tools:
        out["tools"] = [_tool(t, keep_extra=False) for t in tools]
    if resolved is not None and tools:
        mode, name = resolved
        tool_choice = _tool_choice(ToolChoice(mode, name), request.parallel_tool_calls)
        if tool_choice is not None:
            out["tool_choice"] = tool_choice
    json_tool = _response_format(request.response_format, out, has_tools=bool(tools), thinking=thinking)
    if request.stream:
        out["stream"] = True
    return AnthropicRequest(out, json_tool)


def _sampling(request: ChatRequest, out: JSON) -> None:
    """temperature, top_p, top_k, stop sequences and the end user, checked against the API's ranges."""
    temperature = request.temperature
    if temperature is not None:
        if not 0 <= temperature <= 1:
            raise BadRequestError(
                f"anthropic accepts temperature between 0 and 1, got {temperature}", param="temperature"
            )
        out["temperature"] = temperature
    if request.top_p is not None:
        out["top_p"] = request.top_p
    top_k = request.top_k
    if top_k is not None:
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise BadRequestError("'top_k' must be a positive integer", param="top_k")
        out["top_k"] = top_k
    stop = [s for s in request.stop or () if s]
    if stop:
        out["stop_sequences"] = stop
    if request.user:
        out["metadata"] = {"user_id": request.user}


def _response_format(response_format: JSON | None, out: JSON, *, has_tools: bool, thinking: Any) -> str | None:
    """Apply ``response_format``; returns the name of the forced JSON tool when one is used.

    A JSON schema becomes native structured output (``output_config.format``).  Plain JSON mode
    has no native form, so it becomes a forced tool whose input is the answer.
    """
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_schema":
        out["output_config"] = {
            **(out.get("output_config") or {}),
            "format": {"type": "json_schema", "schema": _json_schema(response_format)},
        }
        return None
    if kind != "json_object":
        raise BadRequestError(
            "response_format.type must be 'text', 'json_object' or 'json_schema'", param="response_format"
        )
    if has_tools:
        raise BadRequestError(
            "anthropic has no JSON mode; the gateway emulates it with a forced tool call, which cannot be combined with "
            "'tools'. Use response_format json_schema (native structured outputs) or drop one of them",
            param="response_format",
        )
    if thinking and thinking.get("type") in ("enabled", "adaptive"):
        raise BadRequestError(
            "anthropic cannot force a tool call while thinking is on, so JSON mode is unavailable; use "
            "response_format json_schema instead",
            param="response_format",
        )
    out["tools"] = [
        {"name": JSON_TOOL_NAME, "description": "Respond with the JSON answer.", "input_schema": {"type": "object"}}
    ]
    out["tool_choice"] = {"type": "tool", "name": JSON_TOOL_NAME}
    return JSON_TOOL_NAME


class Turns:
    """Turns messages from another format into Anthropic's ``system`` and alternating user/assistant turns."""

    def __init__(self) -> None:
        self.system: list[JSON] = []
        self.turns: list[JSON] = []
        #: tool calls of the latest assistant message still waiting for their result
        self.pending: dict[str, str] = {}
        self.pending_from = -1

    def translate(self, messages: list[Message]) -> tuple[list[JSON], list[JSON]]:
        last = len(messages) - 1
        for i, message in enumerate(messages):
            where = f"messages[{i}]"
            role = message.role
            has_results = any(isinstance(p, ToolResult) for p in message.parts)
            if not has_results:
                self._check_answered()
            if role in ("system", "developer"):
                self.system += self._blocks(message, where, allow_media=False)
            elif role == "assistant":
                self._assistant(message, i, is_last=i == last)
            elif role in ("user", "tool"):
                self._user(message, where)
            elif role == "function":
                raise BadRequestError(
                    f"{where}: legacy 'function' messages are not supported for anthropic; use 'tools' and 'tool' messages",
                    param=f"{where}.role",
                )
            else:
                raise BadRequestError(f"{where}.role {role!r} is not a chat role", param=f"{where}.role")
        self._check_answered()
        if not self.turns:
            raise BadRequestError(
                "the request has no user or assistant messages; anthropic needs at least one", param="messages"
            )
        return self.system, self.turns

    def _append(self, role: str, blocks: list[JSON]) -> None:
        # the API wants alternating turns: consecutive messages of one role become one turn
        if self.turns and self.turns[-1]["role"] == role:
            self.turns[-1]["content"].extend(blocks)
        else:
            self.turns.append({"role": role, "content": blocks})

    def _check_answered(self) -> None:
        if self.pending:
            ids = ", ".join(self.pending)
            raise BadRequestError(
                f"messages[{self.pending_from}] (assistant) calls tools that no 'tool' message answers: {ids}. Send one "
                '{"role": "tool", "tool_call_id": ..., "content": ...} message per call right after it',
                param=f"messages[{self.pending_from}].tool_calls",
            )

    def _blocks(
        self, message: Message, where: str, *, allow_media: bool, parts: Iterable[Part] | None = None
    ) -> list[JSON]:
        blocks: list[JSON] = []
        for j, part in enumerate(message.parts if parts is None else parts):
            block = self._block(part, f"{where}.content[{j}]", allow_media)
            if block is None:
                continue
            if getattr(part, "cache_control", None):
                block["cache_control"] = part.cache_control  # type: ignore[union-attr]
            blocks.append(block)
        if message.cache_control is not None and blocks:
            blocks[-1]["cache_control"] = message.cache_control
        return blocks

    def _block(self, part: Part, where: str, allow_media: bool) -> JSON | None:
        if isinstance(part, Text):
            # the API refuses empty and whitespace-only text blocks; they carry nothing
            return {"type": "text", "text": part.text} if part.text.strip() else None
        if isinstance(part, Opaque) and part.format == FORMAT:
            return dict(part.data)
        if not allow_media:
            raise BadRequestError(f"{where}: only text is allowed here, not {_kind(part)!r}", param=where)
        if isinstance(part, Image):
            inline = part.inline(f"{where}.image_url.url")
            if inline is not None:
                if inline[0] not in IMAGE_MEDIA_TYPES:
                    raise BadRequestError(
                        f"{where}: image type {inline[0]!r} is not supported by this model; send one of "
                        f"{', '.join(sorted(IMAGE_MEDIA_TYPES))}",
                        param=f"{where}.image_url",
                    )
                return {"type": "image", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
            if not (part.url or "").startswith(("http://", "https://")):
                raise BadRequestError(
                    f"{where}.image_url.url must start with https://, http:// or data:", param=f"{where}.image_url"
                )
            return {"type": "image", "source": {"type": "url", "url": part.url}}
        if isinstance(part, File):
            if part.text is not None:
                return {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": part.text}}
            inline = part.inline(f"{where}.file.file_data")
            if inline is None:
                raise BadRequestError(
                    f"{where}: anthropic needs the file inline as file.file_data ('data:application/pdf;base64,...'); "
                    "uploaded file ids are not supported",
                    param=where,
                )
            if inline[0] not in DOCUMENT_MEDIA_TYPES:
                raise BadRequestError(f"{where}: anthropic accepts PDF documents, not {inline[0]!r}", param=where)
            return {"type": "document", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
        if isinstance(part, Opaque) and part.type == "input_audio":
            raise BadRequestError(f"{where}: anthropic models do not accept audio input", param=where)
        raise BadRequestError(f"{where}: content part type {_kind(part)!r} is not supported for anthropic", param=where)

    def _user(self, message: Message, where: str) -> None:
        results = [p for p in message.parts if isinstance(p, ToolResult)]
        if message.role == "tool" and not results:
            raise BadRequestError(
                f"{where}.tool_call_id is required: the id of the tool call this message answers",
                param=f"{where}.tool_call_id",
            )
        others = [p for p in message.parts if not isinstance(p, ToolResult)]
        blocks = [self._tool_result(r, message, where) for r in results]
        content = self._blocks(message, where, allow_media=True, parts=others) if others else []
        if not blocks and not content:
            raise BadRequestError(
                f"{where} (user) has no content; send some text or an image", param=f"{where}.content"
            )
        # results open the user turn that follows the assistant's tool_use turn (tool_result blocks come first)
        self._append("user", blocks + content)

    def _tool_result(self, result: ToolResult, message: Message, where: str) -> JSON:
        call_id = tool_use_id(result.call_id)
        if call_id not in self.pending:
            raise BadRequestError(
                f"{where}.tool_call_id {result.call_id!r} does not answer a tool call of the assistant message just before "
                "it; tool messages must directly follow the assistant message whose tool_calls they answer",
                param=f"{where}.tool_call_id",
            )
        del self.pending[call_id]
        block: JSON = {"type": "tool_result", "tool_use_id": call_id}
        if result.content_form == "text" and len(result.parts) == 1 and isinstance(result.parts[0], Text):
            if result.parts[0].text:
                block["content"] = result.parts[0].text
        else:
            inner = self._blocks(Message("tool", result.parts), where, allow_media=True)
            if inner:
                block["content"] = inner
        if result.is_error:
            block["is_error"] = True
        cache_control = result.cache_control or (message.cache_control if message.role == "tool" else None)
        if cache_control is not None:
            block["cache_control"] = cache_control
        return block

    def _assistant(self, message: Message, index: int, *, is_last: bool) -> None:
        where = f"messages[{index}]"
        blocks: list[JSON] = [_thinking_block(p) for p in message.parts if isinstance(p, Thinking)]
        blocks += [
            dict(p.data)
            for p in message.parts
            if isinstance(p, Opaque) and p.slot == "thinking_blocks" and p.type in ("thinking", "redacted_thinking")
        ]
        for j, part in enumerate(message.parts):
            if isinstance(part, (Thinking, ToolCall)) or (isinstance(part, Opaque) and part.slot == "thinking_blocks"):
                continue
            text = (
                part.text
                if isinstance(part, Text)
                else (part.data.get("refusal") if isinstance(part, Opaque) and part.type == "refusal" else None)
            )
            if text is None:
                raise BadRequestError(
                    f"{where}.content[{j}]: assistant messages may only hold text", param=f"{where}.content"
                )
            if isinstance(text, str) and text.strip():
                block: JSON = {"type": "text", "text": text}
                if getattr(part, "cache_control", None):
                    block["cache_control"] = part.cache_control  # type: ignore[union-attr]
                blocks.append(block)
        calls = message.tool_calls()
        for k, call in enumerate(calls):
            call_id = tool_use_id(call.id)
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call_id,
                    "name": call.name,
                    "input": call.input_object(f"{where}.tool_calls[{k}]"),
                }
            )
            self.pending[call_id] = call.name
            self.pending_from = index
        if is_last and not calls:
            # a final assistant message is a prefill: the API refuses trailing whitespace there
            while blocks and blocks[-1]["type"] == "text" and not blocks[-1]["text"].rstrip():
                blocks.pop()
            if blocks and blocks[-1]["type"] == "text":
                blocks[-1]["text"] = blocks[-1]["text"].rstrip()
        if not blocks:
            if is_last:
                return  # an empty prefill asks for nothing
            raise BadRequestError(f"{where} (assistant) has no content and no tool calls", param=f"{where}.content")
        if message.cache_control is not None:
            blocks[-1]["cache_control"] = message.cache_control
        self._append("assistant", blocks)


def _kind(part: Part) -> str:
    if isinstance(part, Opaque):
        return part.type
    return {
        Text: "text",
        Image: "image_url",
        File: "file",
        ToolCall: "tool_call",
        ToolResult: "tool_result",
        Thinking: "thinking",
    }.get(type(part), type(part).__name__)
