"""Reading OpenAI requests for translating providers: parameters, messages, images, tools, stop."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gateway.chat._checks import parse_data_url
from gateway.errors import BadRequestError
from gateway.providers import GATEWAY_ONLY_FIELDS

#: the ``finish_reason`` values OpenAI clients know
FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_TOOL_CALLS = "tool_calls"
FINISH_CONTENT_FILTER = "content_filter"
FINISH_REASONS = frozenset({FINISH_STOP, FINISH_LENGTH, FINISH_TOOL_CALLS, FINISH_CONTENT_FILTER, "function_call"})

#: response header listing the parameters dropped because of ``drop_params``
DROPPED_PARAMS_HEADER = "x-gateway-dropped-params"

#: OpenAI chat request fields every translating provider understands itself (or that steer the gateway)
COMMON_CHAT_FIELDS = frozenset({"model", "messages", "stream", "stream_options", "user"})


# --------------------------------------------------------------------------- unsupported parameters


def unsupported_params(body: Mapping[str, Any], supported: Iterable[str], ignored: Iterable[str] = ()) -> list[str]:
    """The request fields (with a non-null value) that are neither ``supported`` nor ``ignored``."""
    known = set(supported) | set(ignored) | COMMON_CHAT_FIELDS
    return sorted(k for k, v in body.items() if v is not None and k not in known and k not in GATEWAY_ONLY_FIELDS)


def drop_or_refuse(
    names: list[str], *, provider: str, drop: bool, response_headers: dict[str, str] | None = None
) -> None:
    """Apply ``drop_params`` to unsupported parameters ``names``.

    With ``drop`` on, the names are recorded in the ``x-gateway-dropped-params`` response header
    (when ``response_headers`` is given) so the client can see what was ignored; otherwise the
    request is refused with a 400 naming the first parameter and the provider.
    """
    if not names:
        return
    if drop:
        if response_headers is not None:
            previous = response_headers.get(DROPPED_PARAMS_HEADER)
            listed = ([previous] if previous else []) + [
                n for n in names if not previous or n not in previous.split(",")
            ]
            response_headers[DROPPED_PARAMS_HEADER] = ",".join(listed)
        return
    first = names[0]
    others = f" (also unsupported: {', '.join(names[1:])})" if len(names) > 1 else ""
    raise BadRequestError(
        f"{provider} does not support the parameter '{first}'{others}. Remove it from the request, or set "
        "litellm_settings.drop_params: true (or drop_params: true on the deployment) to have the gateway drop it",
        param=first,
        code="400",
    )


def effective_drop_params(deployment_params: Mapping[str, Any], gateway_default: bool | None) -> bool:
    """``drop_params`` of the deployment when set, else the gateway's ``litellm_settings.drop_params``."""
    value = deployment_params.get("drop_params")
    return bool(gateway_default) if value is None else bool(value)


# --------------------------------------------------------------------------- messages and content


def content_parts(content: Any, where: str) -> list[dict[str, Any]]:
    """A message's ``content`` as a list of part dicts (a string becomes one text part; None none)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise BadRequestError(f"{where}.content must be a string or a list of content parts", param=f"{where}.content")
    parts = []
    for i, part in enumerate(content):
        if isinstance(part, str):  # tolerated by OpenAI's API and LiteLLM
            parts.append({"type": "text", "text": part})
            continue
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise BadRequestError(
                f"{where}.content[{i}] must be an object with a 'type' (text, image_url ...)",
                param=f"{where}.content[{i}]",
            )
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise BadRequestError(f"{where}.content[{i}].text must be a string", param=f"{where}.content[{i}].text")
        parts.append(part)
    return parts


def text_of(content: Any) -> str:
    """The concatenated text of a message's content (non-text parts are ignored)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p if isinstance(p, str) else p.get("text", "")
            for p in content
            if isinstance(p, str) or (isinstance(p, dict) and p.get("type") == "text")
        )
    return ""


@dataclass(slots=True, frozen=True)
class ImageRef:
    """An image part: inline data (``media_type`` + base64 ``data``) or a remote ``url``."""

    url: str | None = None
    media_type: str | None = None
    data: str | None = None

    @property
    def is_inline(self) -> bool:
        return self.data is not None


def image_ref(part: Mapping[str, Any], where: str, allowed_media_types: Iterable[str] | None = None) -> ImageRef:
    """Read an OpenAI ``image_url`` part; check an inline image's media type against the allowed ones."""
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str) or not url:
        raise BadRequestError(f"{where}.image_url.url must be an http(s) URL or a data URL", param=f"{where}.image_url")
    if url.startswith("data:"):
        media_type, data = parse_data_url(url, f"{where}.image_url.url")
        allowed = frozenset(allowed_media_types) if allowed_media_types is not None else None
        if allowed is not None and media_type not in allowed:
            raise BadRequestError(
                f"{where}: image type {media_type!r} is not supported by this model; send one of {', '.join(sorted(allowed))}",
                param=f"{where}.image_url",
            )
        return ImageRef(media_type=media_type, data=data)
    if not url.startswith(("http://", "https://")):
        raise BadRequestError(
            f"{where}.image_url.url must start with https://, http:// or data:", param=f"{where}.image_url"
        )
    return ImageRef(url=url)


def parse_tool_arguments(arguments: Any, where: str) -> dict[str, Any]:
    """An assistant tool call's ``arguments`` (a JSON string) as an object."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or arguments == "":
        return {}
    if not isinstance(arguments, str):
        raise BadRequestError(f"{where}.function.arguments must be a JSON string", param=f"{where}.function.arguments")
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        raise BadRequestError(
            f"{where}.function.arguments is not valid JSON: {arguments[:80]!r}", param=f"{where}.function.arguments"
        ) from None
    if not isinstance(value, dict):
        raise BadRequestError(
            f"{where}.function.arguments must encode a JSON object", param=f"{where}.function.arguments"
        )
    return value


# --------------------------------------------------------------------------- tools


@dataclass(slots=True, frozen=True)
class FunctionTool:
    name: str
    description: str | None
    #: a JSON schema of type object
    parameters: dict[str, Any]
    strict: bool | None = None


@dataclass(slots=True, frozen=True)
class ToolChoice:
    """``mode`` is ``auto``, ``none``, ``required`` (any tool) or ``function`` (``name`` given)."""

    mode: Literal["auto", "none", "required", "function"]
    name: str | None = None
    #: OpenAI's ``parallel_tool_calls`` (None when the client did not say)
    parallel: bool | None = None


def normalize_tools(tools: Any) -> list[FunctionTool]:
    """OpenAI ``tools`` as :class:`FunctionTool` s, refusing what no provider can use."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise BadRequestError(
            '\'tools\' must be a list of {"type": "function", "function": {...}} objects', param="tools"
        )
    out: list[FunctionTool] = []
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if (
            not isinstance(tool, dict)
            or tool.get("type", "function") != "function"
            or not isinstance(tool.get("function"), dict)
        ):
            raise BadRequestError(
                f'{where} must be {{"type": "function", "function": {{"name": ..., "parameters": {{...}}}}}}',
                param=where,
            )
        fn = tool["function"]
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestError(
                f"{where}.function.name is required (letters, digits, _ and -)", param=f"{where}.function.name"
            )
        if not all(c.isalnum() or c in "_-" for c in name) or len(name) > 64:
            raise BadRequestError(
                f"{where}.function.name {name!r} is invalid: use at most 64 letters, digits, '_' or '-'",
                param=f"{where}.function.name",
            )
        if name in seen:
            raise BadRequestError(
                f"{where}.function.name {name!r} is used by two tools; tool names must be unique", param=where
            )
        seen.add(name)
        description = fn.get("description")
        if description is not None and not isinstance(description, str):
            raise BadRequestError(
                f"{where}.function.description must be a string", param=f"{where}.function.description"
            )
        parameters = fn.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise BadRequestError(
                f"{where}.function.parameters must be a JSON schema object", param=f"{where}.function.parameters"
            )
        if parameters.get("type", "object") != "object":
            raise BadRequestError(
                f"{where}.function.parameters must be a JSON schema of type 'object' (got type {parameters.get('type')!r})",
                param=f"{where}.function.parameters",
            )
        properties = parameters.get("properties")
        if properties is not None and not isinstance(properties, dict):
            raise BadRequestError(
                f"{where}.function.parameters.properties must be an object mapping names to schemas",
                param=f"{where}.function.parameters.properties",
            )
        required = parameters.get("required")
        if required is not None and not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
            raise BadRequestError(
                f"{where}.function.parameters.required must be a list of property names",
                param=f"{where}.function.parameters.required",
            )
        if "type" not in parameters:
            parameters = {"type": "object", **parameters}
        strict = fn.get("strict")
        out.append(FunctionTool(name, description, parameters, strict if isinstance(strict, bool) else None))
    return out


def normalize_tool_choice(
    tool_choice: Any, tools: list[FunctionTool], parallel_tool_calls: Any = None
) -> ToolChoice | None:
    """OpenAI ``tool_choice`` as a :class:`ToolChoice`; None when the client did not set one."""
    parallel = parallel_tool_calls if isinstance(parallel_tool_calls, bool) else None
    if tool_choice is None:
        return ToolChoice("auto", parallel=parallel) if parallel is not None and tools else None
    if isinstance(tool_choice, str):
        if tool_choice not in ("auto", "none", "required"):
            raise BadRequestError(
                f"'tool_choice' must be 'auto', 'none', 'required' or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, "
                f"got {tool_choice!r}",
                param="tool_choice",
            )
        if tool_choice == "required" and not tools:
            raise BadRequestError("'tool_choice' is 'required' but the request has no 'tools'", param="tool_choice")
        return ToolChoice(tool_choice, parallel=parallel)  # type: ignore[arg-type]
    if isinstance(tool_choice, dict):
        fn = tool_choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not name:
            raise BadRequestError(
                '\'tool_choice\' must name the function: {"type": "function", "function": {"name": ...}}',
                param="tool_choice",
            )
        if name not in {t.name for t in tools}:
            raise BadRequestError(
                f"'tool_choice' names {name!r}, which is not one of the request's tools", param="tool_choice"
            )
        return ToolChoice("function", name, parallel=parallel)
    raise BadRequestError("'tool_choice' must be a string or an object", param="tool_choice")


def normalize_stop(stop: Any) -> list[str]:
    """OpenAI ``stop`` (a string or up to a few strings) as a list of non-empty strings."""
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return [s for s in stop if s]
    raise BadRequestError("'stop' must be a string or a list of strings", param="stop")


def max_output_tokens(body: Mapping[str, Any]) -> int | None:
    """``max_completion_tokens`` or (older clients) ``max_tokens``; None when neither is set."""
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- appended: shared by the Gemini and Bedrock providers

#: request values that ask for what every provider does anyway, so they never count as unsupported
NEUTRAL_PARAM_VALUES: dict[str, Any] = {"n": 1, "parallel_tool_calls": True, "logprobs": False, "store": False}


def without_neutral_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` minus fields set to their neutral value (``n: 1``, ``logprobs: false`` ...), for :func:`unsupported_params`."""
    return {k: v for k, v in body.items() if not (k in NEUTRAL_PARAM_VALUES and v == NEUTRAL_PARAM_VALUES[k])}


@dataclass(slots=True, frozen=True)
class AssistantToolCall:
    """One entry of an assistant message's ``tool_calls``, checked, with its arguments parsed."""

    id: str
    name: str
    arguments: dict[str, Any]


def assistant_tool_calls(message: Mapping[str, Any], where: str) -> list[AssistantToolCall]:
    """The ``tool_calls`` of an assistant message ``where`` (``messages[3]``), refusing malformed ones with a 400."""
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise BadRequestError(f"{where}.tool_calls must be a list", param=f"{where}.tool_calls")
    out: list[AssistantToolCall] = []
    for k, call in enumerate(calls):
        call_where = f"{where}.tool_calls[{k}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not isinstance(call.get("id"), str):
            raise BadRequestError(
                f'{call_where} must be {{"id": ..., "type": "function", "function": {{"name", "arguments"}}}}',
                param=call_where,
            )
        out.append(AssistantToolCall(call["id"], fn["name"], parse_tool_arguments(fn.get("arguments"), call_where)))
    return out


__all__ = [
    "AssistantToolCall",
    "COMMON_CHAT_FIELDS",
    "DROPPED_PARAMS_HEADER",
    "FINISH_CONTENT_FILTER",
    "FINISH_LENGTH",
    "FINISH_REASONS",
    "FINISH_STOP",
    "FINISH_TOOL_CALLS",
    "FunctionTool",
    "ImageRef",
    "NEUTRAL_PARAM_VALUES",
    "ToolChoice",
    "assistant_tool_calls",
    "content_parts",
    "drop_or_refuse",
    "effective_drop_params",
    "image_ref",
    "max_output_tokens",
    "normalize_stop",
    "normalize_tool_choice",
    "normalize_tools",
    "parse_data_url",
    "parse_tool_arguments",
    "text_of",
    "unsupported_params",
    "without_neutral_values",
]
