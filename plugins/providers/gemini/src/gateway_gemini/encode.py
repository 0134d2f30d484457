""":class:`gateway.chat.ChatRequest` -> Gemini ``GenerateContentRequest``: the provider's one encoder.

Shapes: https://ai.google.dev/api/generate-content#request-body (request),
https://ai.google.dev/api/caching#Content (contents and parts),
https://ai.google.dev/api/caching#Tool and #ToolConfig (function calling),
https://ai.google.dev/api/generate-content#generationconfig (generation settings).

Whatever format the client spoke (OpenAI chat, Anthropic messages), the typed request is checked
here, before any upstream call, and refused with a 400 that names the field when Gemini could not
take it.  Parameters Gemini has no form for are refused for OpenAI clients (or dropped under
``drop_params``); for clients of another format they are dropped and named in
``x-gateway-dropped-params``, never refused, since the client's own API accepts them.
``cache_control`` has no Gemini form and is ignored (it only steers caching, never the answer);
earlier thinking blocks are left out (their signatures are another provider's).
"""

from __future__ import annotations

from typing import Any

import orjson

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
    ToolCall,
    ToolResult,
    drop_or_refuse,
    function_tools,
    parse_data_url,
    tool_choice_mode,
)

from .schema import to_gemini_schema

PROVIDER = "gemini"
OPENAI = "openai"
#: OpenAI request members besides the typed fields that this provider translates or that steer the gateway
TRANSLATED_EXTRAS = frozenset(
    {"presence_penalty", "frequency_penalty", "safety_settings", "stream_options", "drop_params"}
)
#: values that ask for what Gemini does anyway, so they never count as unsupported
NEUTRAL_VALUES: dict[str, Any] = {"n": 1, "parallel_tool_calls": True, "logprobs": False, "store": False}
#: the client's member for a typed field, where its format spells it differently (for dropped-param names)
MEMBER_NAMES = {
    "anthropic": {"parallel_tool_calls": "tool_choice.disable_parallel_tool_use", "stop": "stop_sequences"},
}
#: image types Gemini reads (https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})
AUDIO_FORMATS = {
    "wav": "audio/wav",
    "mp3": "audio/mp3",
    "aiff": "audio/aiff",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}
#: files uploaded with Gemini's Files API are the only URLs AI Studio reads (as ``fileData``)
FILES_API_PREFIX = "https://generativelanguage.googleapis.com/"
#: OpenAI ``reasoning_effort`` -> Gemini thinking budget (tokens)
THINKING_BUDGETS = {"none": 0, "minimal": 128, "low": 1024, "medium": 2048, "high": 4096}
#: a tool call id may carry Gemini's ``thoughtSignature`` after this marker (see response.py)
SIGNATURE_MARK = "__thought__"
MAX_STOP_SEQUENCES = 5


def encode_request(
    request: ChatRequest,
    *,
    default_max_tokens: int | None,
    safety_settings: Any = None,
    drop_params: bool,
    response_headers: dict[str, str],
) -> JSON:
    """The Gemini request body for ``request`` (raises ``BadRequestError``)."""
    same = request.format == OPENAI
    dropped = unsupported(request)
    if same:  # an OpenAI client hears about them first, as a 400 unless drop_params
        drop = drop_params or request.extra.get("drop_params") is True
        drop_or_refuse(sorted(dropped), provider=PROVIDER, drop=drop, response_headers=response_headers)
        dropped = []
    positions = {id(tool): i for i, tool in enumerate(request.tools or ())}
    declarations = []
    names: set[str] = set()
    for tool in function_tools(request, dropped):
        names.add(tool.name)
        declarations.append(function_declaration(tool.name, tool.description, tool.parameters, positions[id(tool)]))
    calling = calling_config(request, names, dropped)
    # another format's members with no Gemini form: dropped and named, never refused
    drop_or_refuse(sorted(dropped), provider=PROVIDER, drop=True, response_headers=response_headers)

    system, contents = build_contents(request.messages, same)
    out: JSON = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
    if calling is not None and declarations:
        out["toolConfig"] = {"functionCallingConfig": calling}
    config = generation_config(request, default_max_tokens)
    if config:
        out["generationConfig"] = config
    safety = request.extra.get("safety_settings", safety_settings) if same else safety_settings
    if safety is not None:
        if not isinstance(safety, list):
            raise BadRequestError(
                "'safety_settings' must be a list of {category, threshold} objects", param="safety_settings"
            )
        out["safetySettings"] = safety
    return out


# --------------------------------------------------------------------------- parameters


def member_name(request: ChatRequest, field: str) -> str:
    return MEMBER_NAMES.get(request.format, {}).get(field, field)


def unsupported(request: ChatRequest) -> list[str]:
    """The client's members Gemini has no form for (with a value that asks for something)."""
    names = [field for field in ("n", "parallel_tool_calls", "thinking") if _asks(field, getattr(request, field))]
    for name, value in request.extra.items():
        if name in TRANSLATED_EXTRAS and request.format == OPENAI:
            continue
        if name == "output_config" and isinstance(value, dict) and request.format != OPENAI:
            # Anthropic's structured output: ``format`` is the typed response_format, the rest has no Gemini form
            names += [f"output_config.{k}" for k, v in value.items() if k != "format" and v is not None]
        elif name != "drop_params" and _asks(name, value):
            names.append(name)
    return [member_name(request, n) for n in names]


def _asks(name: str, value: Any) -> bool:
    return value is not None and not (name in NEUTRAL_VALUES and value == NEUTRAL_VALUES[name])


def function_declaration(name: str, description: str | None, parameters: JSON, index: int) -> JSON:
    """A ``FunctionDeclaration``; Gemini names must start with a letter or '_'."""
    if not (name[0].isalpha() or name[0] == "_"):
        raise BadRequestError(
            f"tools[{index}].function.name {name!r} must start with a letter or '_' for Gemini",
            param=f"tools[{index}].function.name",
        )
    declaration: JSON = {"name": name}
    if description:
        declaration["description"] = description
    if parameters.get("properties"):
        # a parameterless function has no ``parameters``: Gemini refuses an object without properties
        declaration["parameters"] = to_gemini_schema(parameters, f"tools[{index}].function.parameters")
    return declaration


def calling_config(request: ChatRequest, names: set[str], dropped: list[str]) -> JSON | None:
    """``functionCallingConfig`` for ``tool_choice`` (None: Gemini's default, AUTO)."""
    resolved = tool_choice_mode(request, names, dropped)
    if resolved is None:
        return None
    mode, name = resolved
    if mode == "tool":
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    return {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[mode]}


def generation_config(request: ChatRequest, default_max_tokens: int | None) -> JSON:
    config: JSON = {}
    for field, target in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"), ("seed", "seed")):
        value = getattr(request, field)
        if value is not None:
            config[target] = value
    if request.format == OPENAI:
        for source, target in (("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
            value = request.extra.get(source)
            if value is not None:
                config[target] = value
    limit = request.max_tokens or default_max_tokens
    if limit is not None:
        config["maxOutputTokens"] = limit
    stop = [s for s in request.stop or () if s]
    if stop:
        if len(stop) > MAX_STOP_SEQUENCES:
            raise BadRequestError(
                f"Gemini takes at most {MAX_STOP_SEQUENCES} stop sequences, got {len(stop)}",
                param=member_name(request, "stop"),
            )
        config["stopSequences"] = stop
    config.update(response_format_config(request.response_format))
    effort = request.reasoning_effort
    if effort is not None:
        if effort not in THINKING_BUDGETS:
            raise BadRequestError(
                f"'reasoning_effort' must be one of {', '.join(THINKING_BUDGETS)}, got {effort!r}",
                param="reasoning_effort",
            )
        budget = THINKING_BUDGETS[effort]
        config["thinkingConfig"] = {"thinkingBudget": budget, **({"includeThoughts": True} if budget else {})}
    return config


def response_format_config(response_format: JSON | None) -> JSON:
    if response_format is None:
        return {}
    kind = response_format.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise BadRequestError(
                "'response_format.json_schema.schema' must be a JSON schema object", param="response_format"
            )
        return {
            "responseMimeType": "application/json",
            "responseSchema": to_gemini_schema(schema, "response_format.json_schema.schema"),
        }
    raise BadRequestError(
        "'response_format.type' must be 'text', 'json_object' or 'json_schema'", param="response_format"
    )


# --------------------------------------------------------------------------- messages


def build_contents(messages: list[Message], same: bool) -> tuple[list[JSON], list[JSON]]:
    """``(systemInstruction parts, contents)``; consecutive turns of one role are merged, as Gemini requires.

    ``same``: the request is in OpenAI's format (its legacy ``function_call`` is refused by name).
    """
    system: list[JSON] = []
    contents: list[JSON] = []
    call_names: dict[str, str] = {}

    def add(role: str, parts: list[JSON]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.role
        if role in ("system", "developer"):
            system += system_parts(message, where)
        elif role == "assistant":
            add("model", assistant_parts(message, where, call_names, same))
        elif role in ("user", "tool", "function"):
            add("user", user_parts(message, where, call_names))
        else:
            raise BadRequestError(f"{where}.role {role!r} is not supported by Gemini", param=f"{where}.role")
    if not contents:
        raise BadRequestError(
            "'messages' has no user or assistant content; Gemini needs at least one non-empty user message",
            param="messages",
        )
    return system, contents


def system_parts(message: Message, where: str) -> list[JSON]:
    parts = []
    for part in message.parts:
        if not isinstance(part, Text):
            raise BadRequestError(f"{where}: Gemini system instructions take text only", param=f"{where}.content")
        if part.text:
            parts.append({"text": part.text})
    return parts


def user_parts(message: Message, where: str, call_names: dict[str, str]) -> list[JSON]:
    """A user turn's parts: function responses first (a tool message, Anthropic ``tool_result`` blocks), then content."""
    if message.role == "function":  # OpenAI's legacy function result, named by the message
        if not message.name:
            raise BadRequestError(f"{where}.name is required on function messages", param=f"{where}.name")
        return [function_response(message.name, message.text(), False)]
    results = [(j, p) for j, p in enumerate(message.parts) if isinstance(p, ToolResult)]
    if message.role == "tool" and not results:
        raise BadRequestError(f"{where}.tool_call_id is required on tool messages", param=f"{where}.tool_call_id")
    parts: list[JSON] = []
    carried: list[JSON] = []
    for j, result in results:
        name = call_names.get(result.call_id)
        if name is None:
            raise BadRequestError(
                f"{where}.tool_call_id {result.call_id!r} does not match a tool call of an earlier assistant message "
                "(Gemini needs the function's name)",
                param=f"{where}.tool_call_id",
            )
        parts.append(function_response(name, result.text(), bool(result.is_error)))
        # a function response holds JSON only: images and documents of the result follow it in the same turn
        inner = f"{where}.content[{j}]" if message.role != "tool" else where
        carried += [
            p for k, part in enumerate(result.parts) if (p := content_part(part, f"{inner}.content[{k}]", text=False))
        ]
    for j, part in enumerate(message.parts):
        if not isinstance(part, ToolResult) and (p := content_part(part, f"{where}.content[{j}]")):
            parts.append(p)
    return parts + carried


def function_response(name: str, text: str, is_error: bool) -> JSON:
    try:
        output: Any = orjson.loads(text) if text else ""
    except orjson.JSONDecodeError:
        output = text
    # Gemini reads ``output`` as the function's result and ``error`` as its failure
    return {"functionResponse": {"name": name, "response": {"error" if is_error else "output": output}}}


def content_part(part: Part, where: str, *, text: bool = True) -> JSON | None:
    """A user content part as a Gemini ``Part`` (None: nothing to send, such as an empty text)."""
    if isinstance(part, Text):
        return {"text": part.text} if part.text and text else None
    if isinstance(part, Image):
        return image_part(part, where)
    if isinstance(part, File):
        return file_part(part, where)
    if isinstance(part, Opaque) and part.format == OPENAI and part.type == "input_audio":
        audio = part.data.get("input_audio") or {}
        mime = AUDIO_FORMATS.get(str(audio.get("format")))
        if mime is None or not isinstance(audio.get("data"), str):
            raise BadRequestError(
                f"{where}.input_audio needs 'data' (base64) and a 'format' of {', '.join(AUDIO_FORMATS)}", param=where
            )
        return {"inlineData": {"mimeType": mime, "data": audio["data"]}}
    raise BadRequestError(f"{where}: content part type {_kind(part)!r} is not supported by Gemini", param=where)


def image_part(part: Image, where: str) -> JSON:
    url = part.url
    if part.data is not None or (url is not None and url.startswith("data:")):
        if part.data is not None:
            media_type, data = (part.media_type or "").lower(), part.data
        else:
            media_type, data = parse_data_url(url or "", f"{where}.image_url.url")
        if media_type not in IMAGE_TYPES:
            raise BadRequestError(
                f"{where}: image type {media_type!r} is not supported by this model; send one of "
                f"{', '.join(sorted(IMAGE_TYPES))}",
                param=f"{where}.image_url",
            )
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if not url or not url.startswith(("http://", "https://")):
        raise BadRequestError(
            f"{where}.image_url.url must start with https://, http:// or data:", param=f"{where}.image_url"
        )
    if url.startswith(FILES_API_PREFIX) and "/files/" in url:
        return {"fileData": {"fileUri": url}}
    raise BadRequestError(
        f"{where}: Gemini cannot fetch image URLs; send the image inline as a data URL "
        "('data:image/png;base64,...') or as a Gemini Files API URI",
        param=f"{where}.image_url",
    )


def file_part(part: File, where: str) -> JSON:
    if part.text is not None:  # a plain-text document
        return {"text": part.text}
    if part.data is not None:
        return {"inlineData": {"mimeType": part.media_type or "application/pdf", "data": part.data}}
    if part.url is not None:
        if part.url.startswith(("http://", "https://")):
            raise BadRequestError(
                f"{where}: Gemini cannot fetch document URLs; send the document inline (base64)", param=where
            )
        media_type, data = parse_data_url(part.url, f"{where}.file.file_data")
        return {"inlineData": {"mimeType": media_type, "data": data}}
    raise BadRequestError(
        f"{where}: Gemini needs files inline ('file_data' as a data URL); 'file_id' is not supported", param=where
    )


def assistant_parts(message: Message, where: str, call_names: dict[str, str], same: bool) -> list[JSON]:
    parts: list[JSON] = []
    text = message.text()
    if text:
        parts.append({"text": text})
    if same and message.extra.get("function_call"):
        raise BadRequestError(
            f"{where}.function_call is the deprecated form; send 'tool_calls' instead", param=f"{where}.function_call"
        )
    for k, call in enumerate(message.tool_calls()):
        call_names[call.id] = call.name
        part: JSON = {"functionCall": {"name": call.name, "args": call.input_object(f"{where}.tool_calls[{k}]")}}
        _, mark, signature = call.id.partition(SIGNATURE_MARK)
        if mark and signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _kind(part: Part) -> str:
    if isinstance(part, Opaque):
        return part.type
    return {ToolCall: "tool_call", ToolResult: "tool_result", Thinking: "thinking"}.get(type(part), type(part).__name__)
