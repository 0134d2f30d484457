"""Streaming through the ``anthropic/`` provider, with the official ``openai`` SDK as the client.

Event sequences follow https://docs.anthropic.com/en/docs/build-with-claude/streaming (event
types, ``input_json_delta`` for tool input, ``message_delta`` with ``stop_reason`` and cumulative
``usage``, ``error`` events such as ``overloaded_error`` in the middle of a stream).
"""

from __future__ import annotations

import threading
from typing import Any

import openai
import orjson
import pytest
from gateway_anthropic.testing import AnthropicReply, FakeAnthropic, encode_events, message, message_events
from structlog.testing import capture_logs

TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


def test_streamed_text_arrives_in_pieces_and_usage_only_when_asked(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(
        AnthropicReply(json=message("Hello there, friend", input_tokens=12, output_tokens=5, cache_read=8))
    )
    chunks = list(
        claude.openai().chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert anthropic_server.last_json["stream"] is True
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(texts) == "Hello there, friend" and len(texts) == 3
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 20 and chunks[-1].usage.completion_tokens == 5
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 8
    assert len({c.id for c in chunks}) == 1

    anthropic_server.enqueue(AnthropicReply(json=message("Again")))
    quiet = list(
        claude.openai().chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    )
    assert all(c.usage is None for c in quiet) and all(c.choices for c in quiet)


def test_streamed_tool_calls_accumulate_like_openai(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Oslo"}},
                ],
                stop_reason="tool_use",
            )
        )
    )
    client = claude.openai()
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "Weather?"}], tools=[TOOL], stream=True
    ):
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                entry["name"] += (call.function.name or "") if call.function else ""
                entry["arguments"] += (call.function.arguments or "") if call.function else ""
    assert finish == "tool_calls"
    assert [(c["id"], c["name"], orjson.loads(c["arguments"])) for _, c in sorted(calls.items())] == [
        ("toolu_a", "get_weather", {"city": "Paris"}),
        ("toolu_b", "get_weather", {"city": "Oslo"}),
    ]


def test_first_chunk_reaches_the_client_before_the_upstream_finished(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    gate = threading.Event()
    events = message_events(message("first second third"), pieces=3)
    # the server sends message_start, ping, content_block_start and the first text delta, then waits for the gate
    anthropic_server.enqueue(AnthropicReply(events=events, gate=gate, gate_at=4))
    stream = claude.openai().chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "Go"}], stream=True
    )
    received = []
    for chunk in stream:
        received.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            gate.set()  # only now may the upstream send the rest
    assert not anthropic_server.gate_timed_out
    assert "".join(c.choices[0].delta.content or "" for c in received if c.choices) == "first second third"


def _stream_error(claude: Any) -> openai.APIError:
    stream = claude.openai().chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "Go"}], stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        for _ in stream:
            pass
    return caught.value


def test_truncated_stream_ends_with_a_clean_error_logged_with_the_provider(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    events = message_events(message("never finished"))
    anthropic_server.enqueue(AnthropicReply(events=events[:-2]))  # no message_delta, no message_stop
    with capture_logs() as logs:
        error = _stream_error(claude)
    assert "ended the stream before message_stop" in str(error)
    assert any(entry.get("provider") == "anthropic" and entry["event"] == "upstream_stream_failed" for entry in logs)


def test_broken_connection_mid_stream_is_a_clean_error(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(AnthropicReply(events=message_events(message("cut off")), break_after=4))
    error = _stream_error(claude)
    assert "anthropic" in str(error)


def test_unknown_event_types_are_ignored(claude: Any, anthropic_server: FakeAnthropic) -> None:
    # Anthropic's versioning policy: new event types may appear; clients must skip what they do not know
    events = message_events(message("odd"))
    events.insert(3, ("mystery_event", {"type": "mystery_event", "detail": 1}))
    anthropic_server.enqueue(AnthropicReply(events=events))
    chunks = list(
        claude.openai().chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "odd"


def test_event_that_is_not_json_is_a_protocol_error(claude: Any, anthropic_server: FakeAnthropic) -> None:
    events: list[Any] = encode_events(message_events(message("odd"))[:3]) + [
        b"event: content_block_delta\ndata: {oops\n\n"
    ]
    anthropic_server.enqueue(AnthropicReply(events=events))
    assert "not JSON" in str(_stream_error(claude))


def test_overloaded_error_event_mid_stream_reaches_the_client(claude: Any, anthropic_server: FakeAnthropic) -> None:
    events = message_events(message("partial answer"))[:4]
    events.append(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    anthropic_server.enqueue(AnthropicReply(events=events))
    error = _stream_error(claude)
    assert "Overloaded" in str(error) and "overloaded" in str(error).lower()


def test_streamed_thinking_becomes_reasoning_content(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [{"type": "thinking", "thinking": "hmm, four", "signature": "sig-9"}, {"type": "text", "text": "4"}]
            )
        )
    )
    chunks = list(
        claude.openai().chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "2+2"}], stream=True, reasoning_effort="low"
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.model_extra.get("reasoning_content") or "" for d in deltas) == "hmm, four"
    assert "".join(d.content or "" for d in deltas) == "4"
    signatures = [b["signature"] for d in deltas for b in d.model_extra.get("thinking_blocks") or []]
    assert signatures == ["sig-9"]


def test_a_stalled_stream_ends_with_a_timeout_error_not_a_hang(
    start: Any, make_config: Any, anthropic_server: FakeAnthropic
) -> None:
    gw = start(make_config(anthropic_server, params={"stream_timeout": 1}))
    gate = threading.Event()  # never set while the client waits: the upstream goes silent mid-stream
    anthropic_server.enqueue(AnthropicReply(events=message_events(message("stalls here")), gate=gate, gate_at=4))
    try:
        error = _stream_error(gw)
    finally:
        gate.set()  # release the fake server
    assert "stopped sending" in str(error)
