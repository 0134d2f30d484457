""":class:`gateway.chat.ChatRequest` -> Bedrock Converse request body: the provider's one encoder.

Shapes: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (request
syntax), https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html
(text, image, toolUse, toolResult), https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolConfiguration.html
and https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InferenceConfiguration.html.
In the JSON protocol image ``bytes`` are base64 text, so inline image data is sent as it came.

Rules Bedrock enforces and that are checked here first, with a 400 that says the fix: the
conversation starts with a user message, roles alternate (consecutive messages of one role are
merged), text blocks are not blank, and tool calls or results in the history need ``tools``.

Parameters Converse has no form for are refused for OpenAI clients (or dropped under
``drop_params``); for clients of another format (Anthropic messages) they are dropped and named in
``x-gateway-dropped-params``, never refused, since the client's own API accepts them.
``cache_control`` is ignored and earlier thinking blocks are left out.
"""

from __future__ import annotations

from typing import Any

from gateway import BadRequestError
from gateway.chat import (
    JSON,
    ChatRequest,
    File,
    Image,
    Message,
    Opaque,
    Part,
    Text,
    Thinking,
    Tool,
    ToolCall,
    ToolResult,
    drop_or_refuse,
    function_tools,
    parse_data_url,
    tool_choice_mode,
)

from .errors import PROVIDER

OPENAI = "openai"
#: typed fields Converse has no form for
UNSUPPORTED_FIELDS = ("top_k", "n", "seed", "parallel_tool_calls", "response_format", "reasoning_effort", "thinking")
#: OpenAI request members besides the typed fields that steer the gateway, not the model
IGNORED_EXTRAS = frozenset({"stream_options", "drop_params"})
#: values that ask for what Converse does anyway, so they never count as unsupported
NEUTRAL_VALUES: dict[str, Any] = {"n": 1, "parallel_tool_calls": True, "logprobs": False, "store": False}
#: the client's member for a typed field, where its format spells it differently (for dropped-param names)
MEMBER_NAMES = {
    "anthropic": {
        "parallel_tool_calls": "tool_choice.disable_parallel_tool_use",
        "response_format": "output_config.format",
        "stop": "stop_sequences",
    },
}
#: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}


def encode_request(
    request: ChatRequest, *, default_max_tokens: int | None, drop_params: bool, response_headers: dict[str, str]
) -> JSON:
    """The Converse body for ``request`` (raises ``BadRequestError``)."""
    same = request.format == OPENAI
    dropped = unsupported(request)
    tools = function_tools(request, dropped)
    names = {tool.name for tool in tools}
    choice = tool_choice(request, names, dropped)
    system, messages, uses_tools = build_messages(request.messages, same)
    if choice == "none" and uses_tools:
        # Converse cannot forbid tools while the history holds tool blocks (they need toolConfig)
        dropped.append("tool_choice")
        choice = None
    if same:
        drop = drop_params or request.extra.get("drop_params") is True
        drop_or_refuse(sorted(dropped), provider=PROVIDER, drop=drop, response_headers=response_headers)
    else:  # another format's members with no Converse form: dropped and named, never refused
        drop_or_refuse(sorted(dropped), provider=PROVIDER, drop=True, response_headers=response_headers)

    out: JSON = {"messages": messages}
    if system:
        out["system"] = system
    config = inference_config(request, default_max_tokens)
    if config:
        out["inferenceConfig"] = config
    if tools and choice != "none":
        out["toolConfig"] = tool_config(tools, choice)
    elif uses_tools:
        raise BadRequestError(
            "the messages hold tool calls or tool results but the request has no 'tools'; Bedrock needs the tool definitions "
            "whenever the conversation contains them",
            param="tools",
        )
    return out


# --------------------------------------------------------------------------- parameters


def member_name(request: ChatRequest, field: str) -> str:
    return MEMBER_NAMES.get(request.format, {}).get(field, field)


def unsupported(request: ChatRequest) -> list[str]:
    """The client's members Converse has no form for (with a value that asks for something)."""
    names = [field for field in UNSUPPORTED_FIELDS if _asks(field, getattr(request, field))]
    if request.response_format is not None and request.response_format.get("type") == "text":
        names.remove("response_format")  # plain text is what Converse answers anyway
    for name, value in request.extra.items():
        if name == "output_config" and isinstance(value, dict) and request.format != OPENAI:
            # Anthropic's structured output: ``format`` is the typed response_format, named above
            names += [f"output_config.{k}" for k, v in value.items() if k != "format" and v is not None]
        elif name not in IGNORED_EXTRAS and _asks(name, value):
            names.append(name)
    return [member_name(request, n) for n in names]


def _asks(name: str, value: Any) -> bool:
    return value is not None and not (name in NEUTRAL_VALUES and value == NEUTRAL_VALUES[name])


def tool_choice(request: ChatRequest, names: set[str], dropped: list[str]) -> str | None:
    """``auto``, ``none``, ``required``, a tool's name prefixed ``tool:``, or None (Converse's default)."""
    resolved = tool_choice_mode(request, names, dropped)
    if resolved is None:
        return None
    mode, name = resolved
    return f"tool:{name}" if mode == "tool" else mode


def inference_config(request: ChatRequest, default_max_tokens: int | None) -> JSON:
    config: JSON = {}
    limit = request.max_tokens or default_max_tokens
    if limit is not None:
        config["maxTokens"] = limit
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    stop = [s for s in request.stop or () if s]
    if stop:
        config["stopSequences"] = stop
    return config


def tool_config(tools: list[Tool], choice: str | None) -> JSON:
    specs = []
    for tool in tools:
        parameters = tool.parameters if "type" in tool.parameters else {"type": "object", **tool.parameters}
        spec: JSON = {"name": tool.name, "inputSchema": {"json": parameters}}
        if tool.description:
            spec["description"] = tool.description
        specs.append({"toolSpec": spec})
    config: JSON = {"tools": specs}
    if choice is not None:
        if choice == "required":
            config["toolChoice"] = {"any": {}}
        elif choice.startswith("tool:"):
            config["toolChoice"] = {"tool": {"name": choice.removeprefix("tool:")}}
        else:
            config["toolChoice"] = {"auto": {}}
    return config


# --------------------------------------------------------------------------- messages


def build_messages(messages: list[Message], same: bool) -> tuple[list[JSON], list[JSON], bool]:
    """``(system blocks, messages, whether the history holds tool blocks)``.

    ``same``: the request is in OpenAI's format (its legacy ``function_call`` is refused by name).
    """
    system: list[JSON] = []
    out: list[JSON] = []
    uses_tools = False

    def add(role: str, blocks: list[JSON], where: str) -> None:
        if not blocks:
            return
        if not out and role != "user":
            raise BadRequestError(
                f"{where}: Bedrock conversations must start with a user message; put a user message before it",
                param=where,
            )
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.role
        if role in ("system", "developer"):
            for part in message.parts:
                if not isinstance(part, Text):
                    raise BadRequestError(f"{where}: Bedrock system prompts take text only", param=f"{where}.content")
                if part.text.strip():
                    system.append({"text": part.text})
        elif role == "assistant":
            blocks = assistant_blocks(message, where, same)
            uses_tools = uses_tools or any("toolUse" in b for b in blocks)
            add("assistant", blocks, where)
        elif role in ("user", "tool"):
            blocks = user_blocks(message, where)
            uses_tools = uses_tools or any("toolResult" in b for b in blocks)
            add("user", blocks, where)
        else:
            raise BadRequestError(
                f"{where}: role {role!r} is not supported by Bedrock; use tool messages for tool results",
                param=f"{where}.role",
            )
    if not out:
        raise BadRequestError(
            "'messages' has no user content; Bedrock needs at least one non-empty user message", param="messages"
        )
    return system, out, uses_tools


def user_blocks(message: Message, where: str) -> list[JSON]:
    """A user turn's blocks: tool results first (a tool message, Anthropic ``tool_result`` blocks), then content."""
    results = [(j, p) for j, p in enumerate(message.parts) if isinstance(p, ToolResult)]
    if message.role == "tool" and not results:
        raise BadRequestError(f"{where}.tool_call_id is required on tool messages", param=f"{where}.tool_call_id")
    blocks = []
    for j, result in results:
        inner = f"{where}.content[{j}]" if message.role != "tool" else where
        blocks.append(tool_result(result, inner))
    for j, part in enumerate(message.parts):
        if not isinstance(part, ToolResult) and (block := content_block(part, f"{where}.content[{j}]")):
            blocks.append(block)
    return blocks


def tool_result(result: ToolResult, where: str) -> JSON:
    if not result.call_id:
        raise BadRequestError(f"{where}.tool_call_id is required on tool messages", param=f"{where}.tool_call_id")
    text = result.text()
    content = [{"text": text}] if text.strip() else []
    content += [
        block
        for k, part in enumerate(result.parts)
        if not isinstance(part, Text) and (block := content_block(part, f"{where}.content[{k}]"))
    ]
    # Bedrock refuses blank text blocks; an empty tool result still has to answer the call
    out: JSON = {"toolUseId": result.call_id, "content": content or [{"text": "(empty)"}]}
    if result.is_error:
        out["status"] = "error"
    return {"toolResult": out}


def content_block(part: Part, where: str) -> JSON | None:
    """A user content part as a Converse block (None: nothing to send, such as blank text)."""
    if isinstance(part, Text):
        return {"text": part.text} if part.text.strip() else None
    if isinstance(part, File) and part.text is not None:  # a plain-text document
        return {"text": part.text} if part.text.strip() else None
    if isinstance(part, Image):
        return image_block(part, where)
    raise BadRequestError(f"{where}: content part type {_kind(part)!r} is not supported by Bedrock", param=where)


def image_block(part: Image, where: str) -> JSON:
    url = part.url
    if part.data is not None:
        media_type, data = (part.media_type or "").lower(), part.data
    elif url is not None and url.startswith("data:"):
        media_type, data = parse_data_url(url, f"{where}.image_url.url")
    elif not url or not url.startswith(("http://", "https://")):
        raise BadRequestError(
            f"{where}.image_url.url must start with https://, http:// or data:", param=f"{where}.image_url"
        )
    else:
        raise BadRequestError(
            f"{where}: Bedrock takes image bytes, not URLs; send the image as a data URL ('data:image/png;base64,...')",
            param=f"{where}.image_url",
        )
    if media_type not in IMAGE_FORMATS:
        raise BadRequestError(
            f"{where}: image type {media_type!r} is not supported by this model; send one of "
            f"{', '.join(sorted(IMAGE_FORMATS))}",
            param=f"{where}.image_url",
        )
    return {"image": {"format": IMAGE_FORMATS[media_type], "source": {"bytes": data}}}


def assistant_blocks(message: Message, where: str, same: bool) -> list[JSON]:
    blocks: list[JSON] = []
    text = message.text()
    if text.strip():
        blocks.append({"text": text})
    if same and message.extra.get("function_call"):
        raise BadRequestError(
            f"{where}.function_call is the deprecated form; send 'tool_calls' instead", param=f"{where}.function_call"
        )
    for k, call in enumerate(message.tool_calls()):
        arguments = call.input_object(f"{where}.tool_calls[{k}]")
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}})
    return blocks


def _kind(part: Part) -> str:
    if isinstance(part, Opaque):
        return part.type
    return {File: "file", ToolCall: "tool_call", ToolResult: "tool_result", Thinking: "thinking"}.get(
        type(part), type(part).__name__
    )
