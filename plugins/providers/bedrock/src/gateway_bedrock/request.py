"""OpenAI chat request -> Bedrock Converse request body.

Shapes: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (request
syntax), https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html
(text, image, toolUse, toolResult), https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolConfiguration.html
and https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InferenceConfiguration.html.
In the JSON protocol image ``bytes`` are base64 text, so a data URL's payload is sent as it came.

Rules Bedrock enforces and that are checked here first, with a 400 that says the fix: the
conversation starts with a user message, roles alternate (consecutive messages of one role are
merged), text blocks are not blank, and tool calls or results in the history need ``tools``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import BadRequestError
from gateway.translation import (
    FunctionTool,
    ToolChoice,
    assistant_tool_calls,
    content_parts,
    drop_or_refuse,
    image_ref,
    max_output_tokens,
    normalize_stop,
    normalize_tool_choice,
    normalize_tools,
    text_of,
    unsupported_params,
    without_neutral_values,
)

from .errors import PROVIDER

SUPPORTED = frozenset({"temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "tools", "tool_choice"})
#: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}


def build_request(
    body: Mapping[str, Any], *, drop: bool, response_headers: dict[str, str], default_max_tokens: int | None
) -> dict[str, Any]:
    """The Converse body for an OpenAI chat request (raises ``BadRequestError``)."""
    # n, logprobs and parallel_tool_calls are fine at their neutral value and unsupported otherwise
    unsupported = unsupported_params(without_neutral_values(body), SUPPORTED, ignored=("drop_params",))
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "text":
        unsupported.remove("response_format")
    drop = drop or body.get("drop_params") is True
    tools = normalize_tools(body.get("tools"))
    choice = normalize_tool_choice(body.get("tool_choice"), tools)
    system, messages, uses_tools = build_messages(body.get("messages") or [])
    if choice is not None and choice.mode == "none" and uses_tools:
        # Converse cannot forbid tools while the history holds tool blocks (they need toolConfig)
        unsupported.append("tool_choice")
        choice = None
    drop_or_refuse(sorted(unsupported), provider=PROVIDER, drop=drop, response_headers=response_headers)

    request: dict[str, Any] = {"messages": messages}
    if system:
        request["system"] = system
    config = inference_config(body, default_max_tokens)
    if config:
        request["inferenceConfig"] = config
    if tools and not (choice is not None and choice.mode == "none"):
        request["toolConfig"] = tool_config(tools, choice)
    elif uses_tools:
        raise BadRequestError(
            "the messages hold tool calls or tool results but the request has no 'tools'; Bedrock needs the tool definitions "
            "whenever the conversation contains them",
            param="tools",
        )
    return request


def inference_config(body: Mapping[str, Any], default_max_tokens: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    limit = max_output_tokens(body) or default_max_tokens
    if limit is not None:
        config["maxTokens"] = limit
    if body.get("temperature") is not None:
        config["temperature"] = body["temperature"]
    if body.get("top_p") is not None:
        config["topP"] = body["top_p"]
    stop = normalize_stop(body.get("stop"))
    if stop:
        config["stopSequences"] = stop
    return config


def tool_config(tools: list[FunctionTool], choice: ToolChoice | None) -> dict[str, Any]:
    specs = []
    for tool in tools:
        spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
        if tool.description:
            spec["description"] = tool.description
        specs.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": specs}
    if choice is not None:
        if choice.mode == "required":
            config["toolChoice"] = {"any": {}}
        elif choice.mode == "function":
            config["toolChoice"] = {"tool": {"name": choice.name}}
        else:
            config["toolChoice"] = {"auto": {}}
    return config


# --------------------------------------------------------------------------- messages


def build_messages(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """``(system blocks, messages, whether the history holds tool blocks)``."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    uses_tools = False

    def add(role: str, blocks: list[dict[str, Any]], where: str) -> None:
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
        role = message.get("role")
        if role in ("system", "developer"):
            for part in content_parts(message.get("content"), where):
                if part["type"] != "text":
                    raise BadRequestError(f"{where}: Bedrock system prompts take text only", param=f"{where}.content")
                if part["text"].strip():
                    system.append({"text": part["text"]})
        elif role == "user":
            parts = content_parts(message.get("content"), where)
            add(
                "user",
                [block for j, part in enumerate(parts) if (block := user_block(part, f"{where}.content[{j}]"))],
                where,
            )
        elif role == "assistant":
            blocks = assistant_blocks(message, where)
            uses_tools = uses_tools or any("toolUse" in b for b in blocks)
            add("assistant", blocks, where)
        elif role == "tool":
            uses_tools = True
            add("user", [tool_result(message, where)], where)
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


def user_block(part: dict[str, Any], where: str) -> dict[str, Any] | None:
    kind = part["type"]
    if kind == "text":
        return {"text": part["text"]} if part["text"].strip() else None
    if kind == "image_url":
        ref = image_ref(part, where, IMAGE_FORMATS)
        if not ref.is_inline:
            raise BadRequestError(
                f"{where}: Bedrock takes image bytes, not URLs; send the image as a data URL ('data:image/png;base64,...')",
                param=f"{where}.image_url",
            )
        return {"image": {"format": IMAGE_FORMATS[ref.media_type or ""], "source": {"bytes": ref.data}}}
    raise BadRequestError(f"{where}: content part type {kind!r} is not supported by Bedrock", param=where)


def assistant_blocks(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = text_of(message.get("content"))
    if text.strip():
        blocks.append({"text": text})
    if message.get("function_call"):
        raise BadRequestError(
            f"{where}.function_call is the deprecated form; send 'tool_calls' instead", param=f"{where}.function_call"
        )
    for call in assistant_tool_calls(message, where):
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}})
    return blocks


def tool_result(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise BadRequestError(f"{where}.tool_call_id is required on tool messages", param=f"{where}.tool_call_id")
    text = text_of(message.get("content"))
    # Bedrock refuses blank text blocks; an empty tool result still has to answer the call
    return {"toolResult": {"toolUseId": call_id, "content": [{"text": text if text.strip() else "(empty)"}]}}
