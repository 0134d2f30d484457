"""OpenAI chat request -> Anthropic Messages request.

Shapes: https://docs.anthropic.com/en/api/messages (body), tool use:
https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use (``tools``,
``tool_choice``, ``tool_use`` / ``tool_result`` placement), vision:
https://docs.anthropic.com/en/docs/build-with-claude/vision, prompt caching:
https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching, extended thinking:
https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking.

Everything the API would refuse is refused here first, with a 400 that names the message and
says the fix, so a bad request never costs an upstream round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import BadRequestError
from gateway.translation import (
    assistant_tool_calls,
    content_parts,
    drop_or_refuse,
    image_ref,
    max_output_tokens,
    normalize_stop,
    normalize_tool_choice,
    normalize_tools,
    parse_data_url,
    unsupported_params,
    without_neutral_values,
)

from .extras import NO_EXTRAS, AnthropicExtras
from .wire import DOCUMENT_MEDIA_TYPES, IMAGE_MEDIA_TYPES, PROVIDER

#: OpenAI parameters this provider translates (the rest are dropped or refused, see ``drop_params``)
SUPPORTED_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "thinking",
    }
)
#: the forced tool that carries ``response_format`` JSON (LiteLLM uses the same name)
JSON_TOOL_NAME = "json_tool_call"
#: Anthropic-only top-level parameters a ``/v1/messages`` client sent (see :mod:`.extras`), passed as they are
PASSTHROUGH_PARAMS = ("cache_control", "output_config", "service_tier", "speed", "inference_geo")
#: extended-thinking budgets for OpenAI's ``reasoning_effort``
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}
_TOOL_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(slots=True)
class AnthropicRequest:
    """The translated body, and what the answer's translation must know about it."""

    body: dict[str, Any]
    #: set when ``response_format`` became a forced tool whose input is the JSON answer
    json_tool: str | None = None


def tool_use_id(openai_id: str) -> str:
    """Anthropic ids must match ``^[a-zA-Z0-9_-]+$``; other providers' ids may not."""
    return _TOOL_ID_UNSAFE.sub("_", openai_id)


def translate_request(
    body: Mapping[str, Any],
    model: str,
    *,
    default_max_tokens: int,
    drop_params: bool,
    response_headers: dict[str, str],
    extras: AnthropicExtras | None = None,
    stream: bool = False,
) -> AnthropicRequest:
    """Build the Messages API body for an OpenAI chat ``body``."""
    drop_or_refuse(
        unsupported_params(without_neutral_values(body), SUPPORTED_PARAMS),
        provider=PROVIDER,
        drop=drop_params,
        response_headers=response_headers,
    )
    params = extras.params if extras is not None else {}
    positional = extras if extras is not None and extras.applies_to(body.get("messages")) else NO_EXTRAS

    tools = normalize_tools(body.get("tools"))
    choice = normalize_tool_choice(body.get("tool_choice"), tools, body.get("parallel_tool_calls"))
    system, messages = MessageTranslator(positional).translate(body.get("messages") or [])
    out: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        out["system"] = system

    thinking = _thinking(body, params)
    max_tokens = max_output_tokens(body)
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

    _sampling(body, params, out)
    if tools:
        out["tools"] = [
            _tool(t, raw, positional.tool_cache.get(i))
            for i, (t, raw) in enumerate(zip(tools, body["tools"], strict=False))
        ]
    if choice is not None and tools:
        out["tool_choice"] = _tool_choice(choice.mode, choice.name, choice.parallel)
    for name in PASSTHROUGH_PARAMS:
        if params.get(name) is not None:
            out[name] = params[name]
    json_tool = _response_format(body.get("response_format"), out, has_tools=bool(tools), thinking=thinking)
    if stream:
        out["stream"] = True
    return AnthropicRequest(out, json_tool)


def _sampling(body: Mapping[str, Any], params: Mapping[str, Any], out: dict[str, Any]) -> None:
    """temperature, top_p, top_k, stop sequences and the end user, checked against the API's ranges."""
    temperature = body.get("temperature")
    if temperature is not None:
        if not 0 <= temperature <= 1:
            raise BadRequestError(
                f"anthropic accepts temperature between 0 and 1, got {temperature}", param="temperature"
            )
        out["temperature"] = temperature
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    top_k = body.get("top_k", params.get("top_k"))
    if top_k is not None:
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
            raise BadRequestError("'top_k' must be a positive integer", param="top_k")
        out["top_k"] = top_k
    stop = normalize_stop(body.get("stop"))
    if stop:
        out["stop_sequences"] = stop
    user = body.get("user")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}


def _thinking(body: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any] | None:
    thinking = body.get("thinking", params.get("thinking"))
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
    effort = body.get("reasoning_effort")
    if effort is None or effort == "none":
        return None
    if effort not in THINKING_BUDGETS:
        raise BadRequestError(
            f"'reasoning_effort' must be one of none, {', '.join(THINKING_BUDGETS)}; got {effort!r}",
            param="reasoning_effort",
        )
    return {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}


def _tool(tool: Any, raw: Mapping[str, Any], cache: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        out["description"] = tool.description
    if tool.strict:
        out["strict"] = True
    cache_control = raw.get("cache_control") or cache
    if isinstance(cache_control, dict):
        out["cache_control"] = cache_control
    return out


def _tool_choice(mode: str, name: str | None, parallel: bool | None) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "auto": {"type": "auto"},
        "none": {"type": "none"},
        "required": {"type": "any"},
    }.get(mode) or {"type": "tool", "name": name}
    if parallel is False and choice["type"] != "none":
        choice = {**choice, "disable_parallel_tool_use": True}
    return choice


def _response_format(response_format: Any, out: dict[str, Any], *, has_tools: bool, thinking: Any) -> str | None:
    """Apply ``response_format``; returns the name of the forced JSON tool when one is used.

    A JSON schema becomes native structured output (``output_config.format``, on the models that
    support it: https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs).  Plain
    JSON mode has no native form, so it becomes a forced tool whose input is the answer.
    """
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict) or schema.get("type", "object") != "object":
            raise BadRequestError(
                "response_format.json_schema.schema must be a JSON schema of type 'object' for anthropic",
                param="response_format",
            )
        config = dict(out.get("output_config") or {})
        config["format"] = {
            "type": "json_schema",
            "schema": schema if "type" in schema else {"type": "object", **schema},
        }
        out["output_config"] = config
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


class MessageTranslator:
    """Turns OpenAI ``messages`` into Anthropic's ``system`` and alternating user/assistant turns."""

    def __init__(self, extras: AnthropicExtras) -> None:
        self.extras = extras
        self.system: list[dict[str, Any]] = []
        self.turns: list[dict[str, Any]] = []
        #: tool calls of the latest assistant message still waiting for their result
        self.pending: dict[str, str] = {}
        self.pending_from = -1

    def translate(self, messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        last = len(messages) - 1
        for i, message in enumerate(messages):
            where = f"messages[{i}]"
            if not isinstance(message, dict):
                raise BadRequestError(f"{where} must be an object with 'role' and 'content'", param=where)
            role = message.get("role")
            if role != "tool":
                self._check_answered()
            if role in ("system", "developer"):
                self.system += self._blocks(message, i, where, allow_media=False)
            elif role == "user":
                blocks = self._blocks(message, i, where, allow_media=True)
                if not blocks:
                    raise BadRequestError(
                        f"{where} (user) has no content; send some text or an image", param=f"{where}.content"
                    )
                self._append("user", blocks)
            elif role == "assistant":
                self._assistant(message, i, where, is_last=i == last)
            elif role == "tool":
                self._tool_result(message, i, where)
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

    # ---------------------------------------------------------------- pieces

    def _append(self, role: str, blocks: list[dict[str, Any]]) -> None:
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

    def _cache(self, message: Mapping[str, Any], i: int, j: int, part: Mapping[str, Any]) -> dict[str, Any] | None:
        found = part.get("cache_control") or self.extras.part_cache.get((i, j))
        return found if isinstance(found, dict) else None

    def _blocks(self, message: Mapping[str, Any], i: int, where: str, *, allow_media: bool) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        parts = content_parts(message.get("content"), where)
        for j, part in enumerate(parts):
            block = self._block(part, f"{where}.content[{j}]", allow_media)
            if block is None:
                continue
            cache_control = self._cache(message, i, j, part)
            if cache_control:
                block["cache_control"] = cache_control
            blocks.append(block)
        message_cache = message.get("cache_control")
        if isinstance(message_cache, dict) and blocks:
            blocks[-1]["cache_control"] = message_cache
        return blocks

    def _block(self, part: Mapping[str, Any], where: str, allow_media: bool) -> dict[str, Any] | None:
        kind = part["type"]
        if kind == "text":
            text = part["text"]
            # the API refuses empty and whitespace-only text blocks; they carry nothing
            return {"type": "text", "text": text} if text.strip() else None
        if not allow_media:
            raise BadRequestError(f"{where}: only text is allowed here, not {kind!r}", param=where)
        if kind == "image_url":
            ref = image_ref(part, where, IMAGE_MEDIA_TYPES)
            if ref.is_inline:
                return {"type": "image", "source": {"type": "base64", "media_type": ref.media_type, "data": ref.data}}
            return {"type": "image", "source": {"type": "url", "url": ref.url}}
        if kind == "file":
            spec = part.get("file") if isinstance(part.get("file"), dict) else {}
            data_url = spec.get("file_data")
            if not isinstance(data_url, str):
                raise BadRequestError(
                    f"{where}: anthropic needs the file inline as file.file_data ('data:application/pdf;base64,...'); "
                    "uploaded file ids are not supported",
                    param=where,
                )
            media_type, data = parse_data_url(data_url, f"{where}.file.file_data")
            if media_type not in DOCUMENT_MEDIA_TYPES:
                raise BadRequestError(f"{where}: anthropic accepts PDF documents, not {media_type!r}", param=where)
            return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
        if kind == "input_audio":
            raise BadRequestError(f"{where}: anthropic models do not accept audio input", param=where)
        raise BadRequestError(f"{where}: content part type {kind!r} is not supported for anthropic", param=where)

    def _assistant(self, message: Mapping[str, Any], i: int, where: str, *, is_last: bool) -> None:
        blocks: list[dict[str, Any]] = []
        thinking = message.get("thinking_blocks") or self.extras.thinking.get(i)
        if isinstance(thinking, list):
            blocks += [
                dict(b) for b in thinking if isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking")
            ]
        for j, part in enumerate(content_parts(message.get("content"), where)):
            if part["type"] not in ("text", "refusal"):
                raise BadRequestError(
                    f"{where}.content[{j}]: assistant messages may only hold text", param=f"{where}.content"
                )
            text = part.get("text") if part["type"] == "text" else part.get("refusal")
            if isinstance(text, str) and text.strip():
                block: dict[str, Any] = {"type": "text", "text": text}
                cache_control = self._cache(message, i, j, part)
                if cache_control:
                    block["cache_control"] = cache_control
                blocks.append(block)
        calls = assistant_tool_calls(message, where)
        for call in calls:
            call_id = tool_use_id(call.id)
            blocks.append({"type": "tool_use", "id": call_id, "name": call.name, "input": call.arguments})
            self.pending[call_id] = call.name
            self.pending_from = i
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
        message_cache = message.get("cache_control")
        if isinstance(message_cache, dict):
            blocks[-1]["cache_control"] = message_cache
        self._append("assistant", blocks)

    def _tool_result(self, message: Mapping[str, Any], i: int, where: str) -> None:
        raw_id = message.get("tool_call_id")
        if not isinstance(raw_id, str) or not raw_id:
            raise BadRequestError(
                f"{where}.tool_call_id is required: the id of the tool call this answers", param=f"{where}.tool_call_id"
            )
        call_id = tool_use_id(raw_id)
        if call_id not in self.pending:
            raise BadRequestError(
                f"{where}.tool_call_id {raw_id!r} does not answer a tool call of the assistant message just before it; "
                "tool messages must directly follow the assistant message whose tool_calls they answer",
                param=f"{where}.tool_call_id",
            )
        del self.pending[call_id]
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
        content = message.get("content")
        if isinstance(content, str):
            if content:
                result["content"] = content
        else:
            blocks = self._blocks({"content": content}, i, where, allow_media=True)
            if blocks:
                result["content"] = blocks
        if i in self.extras.tool_errors:
            result["is_error"] = True
        cache_control = message.get("cache_control") or self.extras.message_cache.get(i)
        if isinstance(cache_control, dict):
            result["cache_control"] = cache_control
        # results open the user turn that follows the assistant's tool_use turn (tool_result blocks come first)
        if self.turns and self.turns[-1]["role"] == "user":
            self.turns[-1]["content"].append(result)
        else:
            self.turns.append({"role": "user", "content": [result]})
