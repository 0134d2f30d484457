"""A local server that speaks the Anthropic Messages API, for tests and benchmarks.

It validates requests the way the real API does, so a translation bug fails a test instead of
reaching production, records what it received, and answers from a script (messages, streamed
events, errors, broken streams) or with a deterministic default.  Each rule cites its page:

* request body, ``system``, ``messages``, ``max_tokens``, ``metadata``, ``stop_sequences``,
  ``temperature`` (0-1), ``top_p``, ``top_k``, unknown fields refused:
  https://docs.anthropic.com/en/api/messages
* headers ``x-api-key`` and ``anthropic-version``: https://docs.anthropic.com/en/api/versioning,
  https://docs.anthropic.com/en/api/overview
* content blocks ``text`` / ``image`` (``base64`` with jpeg/png/gif/webp, or ``url``) / ``document``:
  https://docs.anthropic.com/en/docs/build-with-claude/vision,
  https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
* ``tools`` (``name``, ``description``, ``input_schema``), ``tool_choice`` (auto/any/tool/none,
  ``disable_parallel_tool_use``), ``tool_use`` / ``tool_result`` pairing and "tool_result blocks come
  first in the user message":
  https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
* ``cache_control`` ``{"type": "ephemeral"}``: https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
* ``thinking`` (``budget_tokens`` >= 1024 and < ``max_tokens``):
  https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
* responses, streaming events and their order: https://docs.anthropic.com/en/api/messages,
  https://docs.anthropic.com/en/docs/build-with-claude/streaming
* errors ``{"type": "error", "error": {"type", "message"}}``: https://docs.anthropic.com/en/api/errors
* structured outputs ``output_config.format`` (``json_schema``) and ``output_config.effort``:
  https://platform.claude.com/docs/en/build-with-claude/structured-outputs,
  https://platform.claude.com/docs/en/build-with-claude/effort
* ``POST /v1/messages/count_tokens``: the Messages body without the generation settings
  (``max_tokens``, ``stream``, sampling, ``stop_sequences``, ``metadata``), answered with
  ``{"input_tokens": N}``: https://docs.anthropic.com/en/api/messages-count-tokens
* fields of the current API version as the ``anthropic`` SDK 2.14 sends them (``system``-role messages,
  top-level ``cache_control``, ``max_tokens`` 0 to pre-warm the cache, ``thinking`` ``adaptive``,
  ``speed``, ``inference_geo``): https://platform.claude.com/docs/en/api/messages

One rule is stricter than the API: consecutive messages of the same role are refused (the API
merges them).  The gateway promises to send canonical, alternating turns, so the server checks it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.testing import LocalServer, RecordedRequest

from .wire import IMAGE_MEDIA_TYPES, error_body

TOP_LEVEL_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "cache_control",
        "output_config",
        "speed",
        "inference_geo",
        # https://docs.anthropic.com/en/docs/build-with-claude/context-editing (Claude Code sends it)
        "context_management",
        "container",
        "mcp_servers",
    }
)
TOOL_FIELDS = frozenset(
    {
        "name",
        "description",
        "input_schema",
        "cache_control",
        "type",
        "strict",
        "input_examples",
        "defer_loading",
        "eager_input_streaming",
        "allowed_callers",
    }
)
_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Invalid(Exception):
    """A request the real API would refuse with 400 ``invalid_request_error``."""


def _require(condition: Any, message: str) -> None:
    if not condition:
        raise Invalid(message)


# --------------------------------------------------------------------------- request validation


def validate_request(body: Any) -> None:
    """Raise :class:`Invalid` with an API-like message for a body the Messages API would refuse."""
    _require(isinstance(body, dict), "body: expected an object")
    for name in body:
        _require(name in TOP_LEVEL_FIELDS, f"{name}: Extra inputs are not permitted")
    _require(isinstance(body.get("model"), str) and body["model"], "model: field required")
    max_tokens = body.get("max_tokens")
    _require(isinstance(max_tokens, int) and not isinstance(max_tokens, bool), "max_tokens: field required")
    _require(max_tokens >= 0, "max_tokens: must be at least 0")
    _validate_system(body.get("system"))
    messages = body.get("messages")
    _require(isinstance(messages, list) and messages, "messages: at least one message is required")
    tools = _validate_tools(body.get("tools"))
    _validate_tool_choice(body.get("tool_choice"), tools)
    uses_tools = _validate_messages(messages)
    _require(not uses_tools or tools, "Requests which include `tool_use` or `tool_result` blocks must define tools.")
    for name, low, high in (("temperature", 0, 1), ("top_p", 0, 1)):
        value = body.get(name)
        if value is not None:
            _require(
                isinstance(value, (int, float)) and low <= value <= high, f"{name}: must be between {low} and {high}"
            )
    top_k = body.get("top_k")
    if top_k is not None:
        _require(isinstance(top_k, int) and top_k >= 1, "top_k: must be a positive integer")
    stops = body.get("stop_sequences")
    if stops is not None:
        _require(
            isinstance(stops, list) and all(isinstance(s, str) and s for s in stops),
            "stop_sequences: must be a list of strings",
        )
    metadata = body.get("metadata")
    if metadata is not None:
        _require(isinstance(metadata, dict) and set(metadata) <= {"user_id"}, "metadata: only user_id is permitted")
    if "stream" in body:
        _require(isinstance(body["stream"], bool), "stream: must be a boolean")
    _validate_cache_control(body, "body")
    _validate_output_config(body.get("output_config"))
    thinking = body.get("thinking")
    if thinking is not None:
        _require(
            isinstance(thinking, dict) and thinking.get("type") in ("enabled", "disabled", "adaptive"),
            "thinking.type: invalid",
        )
        if thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens")
            _require(isinstance(budget, int) and budget >= 1024, "thinking.budget_tokens: must be at least 1024")
            _require(budget < max_tokens, "`max_tokens` must be greater than `thinking.budget_tokens`")


#: Messages fields a token count does not take (it generates nothing)
GENERATION_ONLY_FIELDS = frozenset(
    {"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "service_tier"}
)


def validate_count_request(body: Any) -> None:
    """Raise :class:`Invalid` for a body ``/v1/messages/count_tokens`` would refuse."""
    _require(isinstance(body, dict), "body: expected an object")
    for name in body:
        _require(name not in GENERATION_ONLY_FIELDS, f"{name}: Extra inputs are not permitted")
    # the rest is checked as a Messages body; max_tokens only above any thinking budget
    validate_request({**body, "max_tokens": 1 << 30})


def count_request_tokens(body: dict[str, Any]) -> int:
    """The fake's deterministic count: its tokenizer over the system prompt, messages and tools."""
    counted = {name: body[name] for name in ("system", "messages", "tools") if name in body}
    return count_tokens(orjson.dumps(counted).decode())


def _validate_output_config(config: Any) -> None:
    if config is None:
        return
    _require(
        isinstance(config, dict) and set(config) <= {"effort", "format"},
        "output_config: Extra inputs are not permitted",
    )
    if config.get("effort") is not None:
        _require(config["effort"] in ("low", "medium", "high", "xhigh", "max"), "output_config.effort: invalid")
    fmt = config.get("format")
    if fmt is not None:
        _require(
            isinstance(fmt, dict) and fmt.get("type") == "json_schema",
            "output_config.format.type: Input should be 'json_schema'",
        )
        _require(isinstance(fmt.get("schema"), dict), "output_config.format.schema: field required")


def _validate_cache_control(block: dict[str, Any], where: str) -> None:
    cache = block.get("cache_control")
    if cache is not None:
        _require(
            isinstance(cache, dict) and cache.get("type") == "ephemeral",
            f"{where}.cache_control.type: must be 'ephemeral'",
        )


def _validate_text(block: dict[str, Any], where: str) -> None:
    _require(set(block) <= {"type", "text", "cache_control", "citations"}, f"{where}: Extra inputs are not permitted")
    text = block.get("text")
    _require(isinstance(text, str), f"{where}.text: field required")
    _require(text.strip(), f"{where}: text content blocks must contain non-whitespace text")
    _validate_cache_control(block, where)


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    _require(isinstance(system, list), "system: must be a string or a list of text blocks")
    for i, block in enumerate(system):
        _require(isinstance(block, dict) and block.get("type") == "text", f"system.{i}.type: must be 'text'")
        _validate_text(block, f"system.{i}")


def _validate_tools(tools: Any) -> set[str]:
    if tools is None:
        return set()
    _require(isinstance(tools, list), "tools: must be a list")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        _require(isinstance(tool, dict), f"{where}: must be an object")
        _require(set(tool) <= TOOL_FIELDS, f"{where}: Extra inputs are not permitted")
        name = tool.get("name")
        _require(
            isinstance(name, str) and _TOOL_NAME.match(name),
            f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'",
        )
        _require(name not in names, f"tools: Tool names must be unique ({name})")
        names.add(name)
        schema = tool.get("input_schema")
        _require(
            isinstance(schema, dict) and schema.get("type") == "object",
            f"{where}.input_schema.type: Input should be 'object'",
        )
        if "description" in tool:
            _require(isinstance(tool["description"], str), f"{where}.description: must be a string")
        _validate_cache_control(tool, where)
    return names


def _validate_tool_choice(choice: Any, tools: set[str]) -> None:
    if choice is None:
        return
    _require(
        isinstance(choice, dict) and choice.get("type") in ("auto", "any", "tool", "none"), "tool_choice.type: invalid"
    )
    _require(tools, "tool_choice may only be specified while providing tools")
    if choice["type"] == "tool":
        _require(choice.get("name") in tools, f"tool_choice.name: no tool named {choice.get('name')!r}")
    if "disable_parallel_tool_use" in choice:
        _require(
            isinstance(choice["disable_parallel_tool_use"], bool),
            "tool_choice.disable_parallel_tool_use: must be a boolean",
        )


def _validate_image(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    _require(isinstance(source, dict), f"{where}.source: field required")
    if source.get("type") == "base64":
        _require(
            source.get("media_type") in IMAGE_MEDIA_TYPES,
            f"{where}.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'",
        )
        try:
            base64.b64decode(source.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(f"{where}.source.data: invalid base64 data") from None
        _require(source.get("data"), f"{where}.source.data: field required")
    elif source.get("type") == "url":
        _require(
            isinstance(source.get("url"), str) and source["url"].startswith(("http://", "https://")),
            f"{where}.source.url: invalid",
        )
    else:
        raise Invalid(f"{where}.source.type: Input should be 'base64' or 'url'")
    _validate_cache_control(block, where)


def _validate_block(block: Any, role: str, where: str) -> None:
    _require(isinstance(block, dict) and isinstance(block.get("type"), str), f"{where}.type: field required")
    kind = block["type"]
    user_kinds = {"text", "image", "document", "tool_result"}
    assistant_kinds = {"text", "tool_use", "thinking", "redacted_thinking"}
    _require(
        kind in (user_kinds if role == "user" else assistant_kinds),
        f"{where}.type: {kind!r} blocks are not allowed in {role} messages",
    )
    if kind == "text":
        _validate_text(block, where)
    elif kind == "image":
        _validate_image(block, where)
    elif kind == "document":
        # https://docs.anthropic.com/en/docs/build-with-claude/pdf-support and citations: PDF (base64 or
        # URL), plain text, or custom content
        source = block.get("source")
        _require(isinstance(source, dict), f"{where}.source: Input should be a valid dictionary")
        kind = source.get("type")
        valid = (
            (kind == "base64" and source.get("media_type") == "application/pdf" and isinstance(source.get("data"), str))
            or (kind == "text" and isinstance(source.get("data"), str))
            or (kind == "url" and isinstance(source.get("url"), str))
            or (kind == "content" and isinstance(source.get("content"), (str, list)))
        )
        _require(valid, f"{where}.source: invalid document source")
        _validate_cache_control(block, where)
    elif kind == "tool_use":
        _require(
            isinstance(block.get("id"), str) and _ID.match(block["id"]),
            f"{where}.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
        )
        _require(isinstance(block.get("name"), str) and block["name"], f"{where}.name: field required")
        _require(isinstance(block.get("input"), dict), f"{where}.input: Input should be a valid dictionary")
        _validate_cache_control(block, where)
    elif kind == "tool_result":
        _require(
            isinstance(block.get("tool_use_id"), str) and _ID.match(block["tool_use_id"]),
            f"{where}.tool_use_id: invalid",
        )
        content = block.get("content")
        if isinstance(content, list):
            for j, inner in enumerate(content):
                _require(
                    isinstance(inner, dict) and inner.get("type") in ("text", "image"),
                    f"{where}.content.{j}.type: must be text or image",
                )
                (_validate_text if inner["type"] == "text" else _validate_image)(inner, f"{where}.content.{j}")
        else:
            _require(content is None or isinstance(content, str), f"{where}.content: must be a string or a list")
        if "is_error" in block:
            _require(isinstance(block["is_error"], bool), f"{where}.is_error: must be a boolean")
        _validate_cache_control(block, where)
    elif kind == "thinking":
        _require(
            isinstance(block.get("thinking"), str) and isinstance(block.get("signature"), str),
            f"{where}: thinking blocks need thinking and signature",
        )
    elif kind == "redacted_thinking":
        _require(isinstance(block.get("data"), str), f"{where}.data: field required")


def _validate_messages(messages: list[Any]) -> bool:
    uses_tools = False
    previous_role = None
    pending: set[str] = set()
    last = len(messages) - 1
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        _require(
            isinstance(message, dict) and set(message) <= {"role", "content"},
            f"{where}: Extra inputs are not permitted",
        )
        role = message.get("role")
        _require(
            role in ("user", "assistant", "system"), f"{where}.role: Input should be 'user', 'assistant' or 'system'"
        )
        if role == "system":
            _validate_system(message.get("content"))
            continue
        _require(role != previous_role, f'{where}: roles must alternate between "user" and "assistant"')
        previous_role = role
        content = message.get("content")
        if isinstance(content, str):
            _require(
                content or (i == last and role == "assistant"),
                f"{where}: all messages must have non-empty content except for the optional final assistant message",
            )
            blocks: list[Any] = [{"type": "text", "text": content}] if content else []
        else:
            _require(isinstance(content, list), f"{where}.content: must be a string or a list of blocks")
            _require(
                content or (i == last and role == "assistant"),
                f"{where}: all messages must have non-empty content except for the optional final assistant message",
            )
            blocks = content
        for j, block in enumerate(blocks):
            _validate_block(block, role, f"{where}.content.{j}")
        results = [b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"]
        if results:
            uses_tools = True
            first_other = next((j for j, b in enumerate(blocks) if b.get("type") != "tool_result"), len(blocks))
            _require(
                all(b.get("type") != "tool_result" for b in blocks[first_other:]),
                f"{where}: tool_result blocks must come first in the user message content, before any other blocks",
            )
            unknown = [r for r in results if r not in pending]
            _require(
                not unknown,
                f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {', '.join(unknown)}. Each "
                "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
            )
        _require(
            not (pending - set(results)),
            f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(sorted(pending - set(results)))}",
        )
        uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        uses_tools = uses_tools or bool(uses)
        pending = set(uses)
        if i == last and role == "assistant" and blocks and blocks[-1].get("type") == "text":
            _require(
                blocks[-1]["text"] == blocks[-1]["text"].rstrip(),
                "final assistant content cannot end with trailing whitespace",
            )
    return uses_tools


# --------------------------------------------------------------------------- answers


def count_tokens(text: str) -> int:
    return (len(text) + 3) // 4 if text else 0


def message(
    content: list[dict[str, Any]] | str,
    *,
    stop_reason: str = "end_turn",
    model: str = "claude-test",
    input_tokens: int = 10,
    output_tokens: int | None = None,
    cache_read: int = 0,
    cache_creation: int = 0,
    message_id: str = "msg_test_0001",
    stop_sequence: str | None = None,
) -> dict[str, Any]:
    """A complete Messages API response."""
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if output_tokens is None:
        output_tokens = (
            sum(count_tokens(b.get("text") or orjson.dumps(b.get("input") or {}).decode()) for b in blocks) or 1
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": cache_read,
        },
    }


def _split(text: str, pieces: int) -> list[str]:
    step = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def message_events(full: dict[str, Any], pieces: int = 3) -> list[tuple[str, dict[str, Any]]]:
    """The streamed form of ``full``: the documented event sequence, text and JSON split in pieces."""
    usage = full["usage"]
    start_usage = {**usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {**full, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(full["content"]):
        kind = block["type"]
        if kind == "text":
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                )
            )
            for piece in _split(block["text"], pieces):
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
                    )
                )
        elif kind == "tool_use":
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}},
                )
            )
            for piece in _split(orjson.dumps(block["input"]).decode(), pieces):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
        elif kind == "thinking":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                    },
                )
            )
            for piece in _split(block["thinking"], pieces):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "thinking_delta", "thinking": piece},
                        },
                    )
                )
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "signature_delta", "signature": block["signature"]},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": full["stop_reason"], "stop_sequence": full.get("stop_sequence")},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def encode_events(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    return [b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n" for name, data in events]


@dataclass
class AnthropicReply:
    """One scripted answer."""

    status: int = 200
    json: Any = None
    #: streamed events: (name, data) pairs or raw bytes
    events: list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: drop the connection after this many events (a broken stream)
    break_after: int | None = None
    #: wait for ``gate`` (set by the test) before sending event number ``gate_at``
    gate: threading.Event | None = None
    gate_at: int = 1


def error_reply(status: int, error_type: str, text: str, headers: dict[str, str] | None = None) -> AnthropicReply:
    return AnthropicReply(status=status, json=error_body(error_type, text), headers=headers or {})


class FakeAnthropic(LocalServer):
    """The Messages API on a free local port: validates, records, answers from a script."""

    def __init__(self, api_key: str = "sk-ant-test", text: str = "Hello from the fake Anthropic.") -> None:
        self.api_key = api_key
        self.text = text
        self.requests: list[RecordedRequest] = []
        self.rejections: list[str] = []
        self.script: list[AnthropicReply] = []
        self.default: Callable[[dict[str, Any]], AnthropicReply] | None = None
        self.gate_timed_out = False
        self._lock = threading.Lock()

    def enqueue(self, *replies: AnthropicReply) -> None:
        with self._lock:
            self.script.extend(replies)

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response, StreamingResponse
        from starlette.routing import Route

        def answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
            return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json")

        async def checked(request: Request, validate: Callable[[Any], None]) -> Any:
            """The request recorded and checked as Anthropic's API checks it: its body, or the refusal."""
            raw = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            recorded = RecordedRequest(request.method, request.url.path, headers, raw, dict(request.query_params))
            self.requests.append(recorded)
            if headers.get("x-api-key") != self.api_key:
                return answer(401, error_body("authentication_error", "invalid x-api-key"))
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", headers.get("anthropic-version") or ""):
                return answer(400, error_body("invalid_request_error", "anthropic-version: header is required"))
            try:
                body = orjson.loads(raw)
                validate(body)
            except (orjson.JSONDecodeError, Invalid) as exc:
                self.rejections.append(str(exc))
                return answer(400, error_body("invalid_request_error", str(exc) or "invalid JSON"))
            return body

        async def messages(request: Request) -> Response:
            body = await checked(request, validate_request)
            if isinstance(body, Response):
                return body
            with self._lock:
                reply = self.script.pop(0) if self.script else None
            if reply is None:
                reply = (
                    self.default(body) if self.default else AnthropicReply(json=message(self.text, model=body["model"]))
                )
            if reply.status != 200 or (reply.events is None and not body.get("stream")):
                return answer(reply.status, reply.json, reply.headers)
            events = reply.events if reply.events is not None else message_events(reply.json)
            return StreamingResponse(self._send(reply, events), headers=reply.headers, media_type="text/event-stream")

        async def count(request: Request) -> Response:
            body = await checked(request, validate_count_request)
            if isinstance(body, Response):
                return body
            with self._lock:
                reply = self.script.pop(0) if self.script else None
            if reply is not None:
                return answer(reply.status, reply.json, reply.headers)
            return answer(200, {"input_tokens": count_request_tokens(body)})

        return Starlette(
            routes=[
                Route("/v1/messages", messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", count, methods=["POST"]),
            ]
        )

    async def _send(self, reply: AnthropicReply, events: list[Any]) -> AsyncIterator[bytes]:
        for i, event in enumerate(events):
            if reply.break_after is not None and i >= reply.break_after:
                raise ConnectionAbortedError("the fake Anthropic server breaks the stream on purpose")
            # bounded: a gateway that buffers would never release the gate; the test then sees the flag
            if reply.gate is not None and i == reply.gate_at and not await asyncio.to_thread(reply.gate.wait, 10):
                self.gate_timed_out = True
            yield event if isinstance(event, bytes) else encode_events([event])[0]

    @property
    def last_json(self) -> Any:
        return self.requests[-1].json
