"""Tools and ``tool_choice`` for providers that translate: one set of checks for every encoder.

An upstream of another format refuses a malformed function tool only after a round trip, so the
translating encoders (Anthropic, Gemini, Bedrock) check tools here first, with the same 400s.  A
tool no type covers (a provider's built-in tool: Anthropic's web search ...) has no form upstream:
for an OpenAI client it is a malformed function tool (400), for a client of another format it is
dropped and named in ``x-gateway-dropped-params``.
"""

from __future__ import annotations

from typing import Any, Literal

from gateway._errors import BadRequestError
from gateway.chat._model import ChatRequest, OpaqueTool, Tool

TOOL_SHAPE = '{"type": "function", "function": {"name": ..., "parameters": {...}}}'
ToolMode = Literal["auto", "none", "required", "tool"]


def function_tools(request: ChatRequest, dropped: list[str]) -> list[Tool]:
    """The request's function tools, checked as the strictest upstream would check them (names of
    at most 64 letters, digits, ``_`` or ``-``, unique; an object schema).  Built-in tools are refused
    for an OpenAI client (its API has none of another provider's) and named in ``dropped`` for a
    client of another format (its own provider's built-in tool has no form here)."""
    out: list[Tool] = []
    seen: set[str] = set()
    for i, tool in enumerate(request.tools or ()):
        where = f"tools[{i}]"
        if isinstance(tool, OpaqueTool):
            if request.format == "openai":
                raise BadRequestError(f"{where} must be {TOOL_SHAPE}", param=where)
            dropped.append(where)
            continue
        check_function_tool(tool, where, seen)
        out.append(tool)
    return out


def check_function_tool(tool: Tool, where: str, seen: set[str]) -> None:
    name, parameters = tool.name, tool.parameters
    if not name:
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


def tool_choice_mode(request: ChatRequest, names: set[str], dropped: list[str]) -> tuple[ToolMode, str | None] | None:
    """``(mode, tool name)`` for the request's ``tool_choice``, checked against its tools; None when
    there is none, or when a client of another format sent one with no typed mode (then named in
    ``dropped``)."""
    choice = request.tool_choice
    if choice is None:
        return None
    mode: Any = choice.mode
    name = choice.name
    if mode == "raw":
        if request.format != "openai":
            dropped.append("tool_choice")
            return None
        mode, name = _openai_tool_choice(choice.raw)
    if mode == "required" and not names:
        raise BadRequestError("'tool_choice' is 'required' but the request has no 'tools'", param="tool_choice")
    if mode == "tool" and name not in names:
        raise BadRequestError(
            f"'tool_choice' names {name!r}, which is not one of the request's tools", param="tool_choice"
        )
    return mode, name


def _openai_tool_choice(raw: Any) -> tuple[ToolMode, str | None]:
    """An OpenAI ``tool_choice`` no typed mode covers: a function named in a looser shape, or a 400."""
    if isinstance(raw, dict):
        fn = raw.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if isinstance(name, str) and name:
            return "tool", name
        raise BadRequestError(
            '\'tool_choice\' must name the function: {"type": "function", "function": {"name": ...}}',
            param="tool_choice",
        )
    raise BadRequestError(
        f"'tool_choice' must be 'auto', 'none', 'required' or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, "
        f"got {raw!r}",
        param="tool_choice",
    )
