"""A request in the upstream's own format reaches it with the client's JSON members unchanged, fields
the gateway has never heard of included; and (Anthropic) its answer comes back as the upstream sent it.
Nothing is translated twice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from gateway.testing import FakeUpstream, start_gateway

anthropic_testing = pytest.importorskip("gateway_anthropic.testing", reason="needs gateway-anthropic")
FakeAnthropic, AnthropicReply = anthropic_testing.FakeAnthropic, anthropic_testing.AnthropicReply
message, message_events, encode_events = (
    anthropic_testing.message,
    anthropic_testing.message_events,
    anthropic_testing.encode_events,
)
MASTER = "sk-passthrough"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, FakeUpstream, Any]]:
    openai, anthropic = FakeUpstream().start(), FakeAnthropic().start()
    config = {
        "model_list": [
            {"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o", "api_base": openai.base_url, "api_key": "k"}},
            {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-sonnet-4", "api_base": anthropic.url,
                                                        "api_key": anthropic.api_key}},
        ],
        "general_settings": {"master_key": MASTER},
    }  # fmt: skip
    os.environ["GATEWAY_LOAD_PLUGINS"] = "openai,anthropic"
    try:
        gw = start_gateway(config)
    finally:
        del os.environ["GATEWAY_LOAD_PLUGINS"]
    try:
        yield gw.url, openai, anthropic
    finally:
        gw.stop()
        openai.stop()
        anthropic.stop()


ANTHROPIC_BODY: dict[str, Any] = {
    "model": "claude",
    "max_tokens": 2048,
    "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Simple sum.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxlZ"},
            {"type": "tool_use", "id": "toolu_01", "name": "calc", "input": {"expr": "2+2"}},
        ]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "4", "is_error": False}]},
    ],
    "tools": [{"name": "calc", "description": "Evaluate", "input_schema": {"type": "object"},
               "cache_control": {"type": "ephemeral"}}],
    "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    "metadata": {"user_id": "u-42"},
}  # fmt: skip


def test_an_anthropic_request_reaches_an_anthropic_upstream_with_the_same_members(servers: Any) -> None:
    url, _, anthropic = servers
    reply = httpx.post(url + "/v1/messages", json=ANTHROPIC_BODY, headers={"x-api-key": MASTER}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert anthropic.requests[-1].json == {**ANTHROPIC_BODY, "model": "claude-sonnet-4"}
    # a field the gateway has never heard of goes too: the upstream decides (this one refuses it, as the
    # real API refuses what it does not know, and its refusal reaches the client in Anthropic's envelope)
    body = {**ANTHROPIC_BODY, "a_field_from_next_year": {"nested": [1, {"two": None}]}}
    reply = httpx.post(url + "/v1/messages", json=body, headers={"x-api-key": MASTER}, timeout=30)
    assert anthropic.requests[-1].json == {**body, "model": "claude-sonnet-4"}
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"


def test_an_anthropic_answer_comes_back_as_the_upstream_sent_it(servers: Any) -> None:
    url, _, anthropic = servers
    upstream_answer = {**message("Four.", input_tokens=9, output_tokens=2), "a_new_answer_field": {"x": 1}}
    anthropic.enqueue(AnthropicReply(json=upstream_answer))
    reply = httpx.post(url + "/v1/messages", json=ANTHROPIC_BODY, headers={"x-api-key": MASTER}, timeout=30)
    assert reply.status_code == 200 and orjson.loads(reply.content) == upstream_answer


def test_anthropic_stream_events_come_back_as_the_upstream_sent_them(servers: Any) -> None:
    url, _, anthropic = servers
    events = message_events(message("Four."))
    events.insert(2, ("ping", {"type": "ping"}))
    events.insert(3, ("an_event_from_next_year", {"type": "an_event_from_next_year", "x": 1}))
    anthropic.enqueue(AnthropicReply(events=events))
    body = {**ANTHROPIC_BODY, "stream": True}
    with httpx.stream("POST", url + "/v1/messages", json=body, headers={"x-api-key": MASTER}, timeout=30) as reply:
        received = reply.read()
    assert received == b"".join(encode_events(events))


def test_an_openai_request_reaches_an_openai_upstream_with_the_same_members(servers: Any) -> None:
    url, openai, _ = servers
    body = {
        "model": "gpt",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "x_vendor_hint": True}]}],
        "max_completion_tokens": 50,
        "a_field_from_next_year": {"nested": [1, {"two": None}]},
        "prediction": {"type": "content", "content": "Hello"},
        "metadata": {"team": "gateway-only: never sent"},
    }
    reply = httpx.post(
        url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    sent = {k: v for k, v in body.items() if k != "metadata"}
    assert openai.requests[-1].json == {**sent, "model": "gpt-4o"}
