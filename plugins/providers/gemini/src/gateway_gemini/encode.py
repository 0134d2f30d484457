"""OpenAI chat request -> Gemini ``GenerateContentRequest``.

Shapes: https://ai.google.dev/api/generate-content#request-body (request),
https://ai.google.dev/api/caching#Content (contents and parts),
https://ai.google.dev/api/caching#Tool and #ToolConfig (function calling),
https://ai.google.dev/api/generate-content#generationconfig (generation settings).

Everything the client sent is checked here, before any upstream call, and refused with a 400 that
names the field when Gemini could not take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from gateway.errors import BadRequestError
from gateway.translation import (
    FunctionTool,
    assistant_tool_calls,
    content_parts,
    drop_or_refuse,
    image_ref,
    max_output_tokens,
    normalize_stop,
    normalize_tool_choice,
    normalize_tools,
    parse_data_url,
    text_of,
    unsupported_params,
    without_neutral_values,
)

from .schema import to_gemini_schema

PROVIDER = "gemini"
#: OpenAI request fields this provider translates
SUPPORTED = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning_effort",
        "safety_settings",
    }
)
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


def build_request(
    body: Mapping[str, Any],
    *,
    drop: bool,
    response_headers: dict[str, str],
    default_max_tokens: int | None,
    safety_settings: Any = None,
) -> dict[str, Any]:
    """The Gemini request body for an OpenAI chat request (raises ``BadRequestError``)."""
    # n, logprobs and parallel_tool_calls are fine at their neutral value and unsupported otherwise
    unsupported = unsupported_params(without_neutral_values(body), SUPPORTED, ignored=("drop_params",))
    drop_or_refuse(
        unsupported, provider=PROVIDER, drop=drop or body.get("drop_params") is True, response_headers=response_headers
    )

    tools = normalize_tools(body.get("tools"))
    choice = normalize_tool_choice(body.get("tool_choice"), tools)
    system, contents = build_contents(body.get("messages") or [])
    request: dict[str, Any] = {"contents": contents}
    if system:
        request["systemInstruction"] = {"parts": system}
    if tools:
        request["tools"] = [{"functionDeclarations": [function_declaration(t, i) for i, t in enumerate(tools)]}]
    if choice is not None and tools:
        request["toolConfig"] = {"functionCallingConfig": calling_config(choice.mode, choice.name)}
    config = generation_config(body, default_max_tokens)
    if config:
        request["generationConfig"] = config
    safety = body.get("safety_settings", safety_settings)
    if safety is not None:
        if not isinstance(safety, list):
            raise BadRequestError(
                "'safety_settings' must be a list of {category, threshold} objects", param="safety_settings"
            )
        request["safetySettings"] = safety
    return request


def calling_config(mode: str, name: str | None) -> dict[str, Any]:
    if mode == "function":
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    return {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[mode]}


def function_declaration(tool: FunctionTool, index: int) -> dict[str, Any]:
    """A ``FunctionDeclaration``; Gemini names must start with a letter or '_'."""
    if not (tool.name[0].isalpha() or tool.name[0] == "_"):
        raise BadRequestError(
            f"tools[{index}].function.name {tool.name!r} must start with a letter or '_' for Gemini",
            param=f"tools[{index}].function.name",
        )
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    if tool.parameters.get("properties"):
        # a parameterless function has no ``parameters``: Gemini refuses an object without properties
        declaration["parameters"] = to_gemini_schema(tool.parameters, f"tools[{index}].function.parameters")
    return declaration


def generation_config(body: Mapping[str, Any], default_max_tokens: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for source, target in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ):
        value = body.get(source)
        if value is not None:
            config[target] = value
    limit = max_output_tokens(body) or default_max_tokens
    if limit is not None:
        config["maxOutputTokens"] = limit
    stop = normalize_stop(body.get("stop"))
    if stop:
        if len(stop) > 5:
            raise BadRequestError(f"Gemini takes at most 5 stop sequences, got {len(stop)}", param="stop")
        config["stopSequences"] = stop
    config.update(response_format_config(body.get("response_format")))
    effort = body.get("reasoning_effort")
    if effort is not None:
        if effort not in THINKING_BUDGETS:
            raise BadRequestError(
                f"'reasoning_effort' must be one of {', '.join(THINKING_BUDGETS)}, got {effort!r}",
                param="reasoning_effort",
            )
        budget = THINKING_BUDGETS[effort]
        config["thinkingConfig"] = {"thinkingBudget": budget, **({"includeThoughts": True} if budget else {})}
    return config


def response_format_config(response_format: Any) -> dict[str, Any]:
    if response_format is None:
        return {}
    kind = response_format.get("type") if isinstance(response_format, dict) else None
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


def build_contents(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(systemInstruction parts, contents)``; consecutive turns of one role are merged, as Gemini requires."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}

    def add(role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.get("role")
        if role in ("system", "developer"):
            for part in content_parts(message.get("content"), where):
                if part["type"] != "text":
                    raise BadRequestError(
                        f"{where}: Gemini system instructions take text only", param=f"{where}.content"
                    )
                system.append({"text": part["text"]})
        elif role == "user":
            add(
                "user",
                [
                    user_part(part, f"{where}.content[{j}]")
                    for j, part in enumerate(content_parts(message.get("content"), where))
                ],
            )
        elif role == "assistant":
            add("model", assistant_parts(message, where, call_names))
        elif role in ("tool", "function"):
            add("user", [function_response(message, where, call_names)])
    if not contents:
        raise BadRequestError(
            "'messages' has no user or assistant content; Gemini needs at least one non-empty user message",
            param="messages",
        )
    return system, contents


def user_part(part: dict[str, Any], where: str) -> dict[str, Any]:
    kind = part["type"]
    if kind == "text":
        return {"text": part["text"]}
    if kind == "image_url":
        ref = image_ref(part, where, IMAGE_TYPES)
        if ref.is_inline:
            return {"inlineData": {"mimeType": ref.media_type, "data": ref.data}}
        assert ref.url is not None
        if ref.url.startswith(FILES_API_PREFIX) and "/files/" in ref.url:
            return {"fileData": {"fileUri": ref.url}}
        raise BadRequestError(
            f"{where}: Gemini cannot fetch image URLs; send the image inline as a data URL "
            "('data:image/png;base64,...') or as a Gemini Files API URI",
            param=f"{where}.image_url",
        )
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        mime = AUDIO_FORMATS.get(str(audio.get("format")))
        if mime is None or not isinstance(audio.get("data"), str):
            raise BadRequestError(
                f"{where}.input_audio needs 'data' (base64) and a 'format' of {', '.join(AUDIO_FORMATS)}", param=where
            )
        return {"inlineData": {"mimeType": mime, "data": audio["data"]}}
    if kind == "file":
        spec = part.get("file") or {}
        if isinstance(spec.get("file_data"), str):
            media_type, data = parse_data_url(spec["file_data"], f"{where}.file.file_data")
            return {"inlineData": {"mimeType": media_type, "data": data}}
        raise BadRequestError(
            f"{where}: Gemini needs files inline ('file_data' as a data URL); 'file_id' is not supported", param=where
        )
    raise BadRequestError(f"{where}: content part type {kind!r} is not supported by Gemini", param=where)


def assistant_parts(message: Mapping[str, Any], where: str, call_names: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text:
        parts.append({"text": text})
    if message.get("function_call"):
        raise BadRequestError(
            f"{where}.function_call is the deprecated form; send 'tool_calls' instead", param=f"{where}.function_call"
        )
    for call in assistant_tool_calls(message, where):
        call_names[call.id] = call.name
        part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
        _, mark, signature = call.id.partition(SIGNATURE_MARK)
        if mark and signature:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def function_response(message: Mapping[str, Any], where: str, call_names: dict[str, str]) -> dict[str, Any]:
    if message.get("role") == "function":
        name = message.get("name")
    else:
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str):
            raise BadRequestError(f"{where}.tool_call_id is required on tool messages", param=f"{where}.tool_call_id")
        name = call_names.get(call_id)
        if name is None:
            raise BadRequestError(
                f"{where}.tool_call_id {call_id!r} does not match a tool call of an earlier assistant message "
                "(Gemini needs the function's name)",
                param=f"{where}.tool_call_id",
            )
    if not isinstance(name, str) or not name:
        raise BadRequestError(f"{where}.name is required on function messages", param=f"{where}.name")
    text = text_of(message.get("content"))
    try:
        output: Any = orjson.loads(text) if text else ""
    except orjson.JSONDecodeError:
        output = text
    return {"functionResponse": {"name": name, "response": {"output": output}}}
