"""``POST /v1/messages`` with the official ``anthropic`` SDK as the client.

Two backends: an OpenAI-format upstream (``gateway.testing.FakeUpstream``) and the validating
Anthropic server (``gateway_anthropic.testing.FakeAnthropic``).  Message and event shapes the SDK
parses: https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/docs/build-with-claude/streaming; errors:
https://docs.anthropic.com/en/api/errors.
"""

from __future__ import annotations

import threading
from typing import Any

import anthropic
import httpx
import orjson
import pytest
from gateway_anthropic.testing import AnthropicReply, FakeAnthropic, error_reply, message, message_events

from gateway import fake_openai
from gateway.testing import FakeUpstream, LogCollector, Reply

MASTER = "sk-test-master"
TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def openai_server(fake_upstream: FakeUpstream) -> FakeUpstream:
    return fake_upstream


@pytest.fixture
def gw(start: Any, make_config: Any, anthropic_server: FakeAnthropic, openai_server: FakeUpstream) -> Any:
    return start(make_config(anthropic_server, openai_server))


@pytest.fixture
def client(gw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)


def _openai_tool_completion(arguments: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-tool",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": arguments},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 9,
            "total_tokens": 39,
            "prompt_tokens_details": {"cached_tokens": 10},
        },
    }


# --------------------------------------------------------------------------- OpenAI-format backend


def test_sdk_message_against_openai_backend(client: anthropic.Anthropic, openai_server: FakeUpstream) -> None:
    raw = client.messages.with_raw_response.create(
        model="gpt",
        max_tokens=100,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Hi"}],
        stop_sequences=["END"],
        metadata={"user_id": "u-1"},
        extra_body={"temperature": 0.3, "top_k": 5, "context_management": {"edits": []}},
    )
    reply = raw.parse()
    assert reply.content[0].type == "text" and reply.content[0].text == openai_server.content
    assert reply.stop_reason == "end_turn" and reply.role == "assistant"
    sent = openai_server.requests[-1].json
    # text-only content goes as plain strings: every OpenAI-compatible server takes those
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert (sent["max_tokens"], sent["stop"], sent["temperature"], sent["user"]) == (100, ["END"], 0.3, "u-1")
    # OpenAI upstreams refuse Anthropic's own fields: they are left out, and the answer says which
    assert "top_k" not in sent and "context_management" not in sent and "cache_control" not in str(sent)
    assert raw.headers["x-gateway-dropped-params"] == "context_management,top_k"
    expected_prompt = fake_openai.prompt_tokens(sent["messages"])
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (
        expected_prompt,
        fake_openai.count_tokens(openai_server.content),
    )


def test_sdk_stream_against_openai_backend(client: anthropic.Anthropic, openai_server: FakeUpstream) -> None:
    with client.messages.stream(model="gpt", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == openai_server.content
    assert final.content[0].text == openai_server.content and final.stop_reason == "end_turn"
    sent = openai_server.requests[-1].json
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert final.usage.input_tokens == fake_openai.prompt_tokens(sent["messages"])
    assert final.usage.output_tokens == fake_openai.count_tokens(openai_server.content)


def test_tool_use_round_trip_against_openai_backend(client: anthropic.Anthropic, openai_server: FakeUpstream) -> None:
    openai_server.enqueue(Reply(json=_openai_tool_completion('{"city": "Paris"}')))
    first = client.messages.create(
        model="gpt",
        max_tokens=50,
        tools=[TOOL],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    sent = openai_server.requests[-1].json
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": TOOL["input_schema"],
                "description": "Weather for a city",
            },
        }
    ]
    assert sent["tool_choice"] == "required"
    assert first.stop_reason == "tool_use"
    use = first.content[0]
    assert (use.type, use.id, use.name, use.input) == ("tool_use", "call_1", "get_weather", {"city": "Paris"})
    assert (first.usage.input_tokens, first.usage.cache_read_input_tokens) == (20, 10)

    client.messages.create(
        model="gpt",
        max_tokens=50,
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18 C"},
                    {"type": "text", "text": "Summarise"},
                ],
            },
        ],
    )
    sent = openai_server.requests[-1].json["messages"]
    assert sent[1]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    ]
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "18 C"}
    assert sent[3] == {"role": "user", "content": "Summarise"}


def test_streamed_tool_use_against_openai_backend(client: anthropic.Anthropic, openai_server: FakeUpstream) -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    openai_server.enqueue(
        Reply(
            stream=[
                chunk({"role": "assistant", "content": "Checking. "}),
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_9",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ]
                    }
                ),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
                chunk({}, "tool_calls"),
                {
                    "id": "chatcmpl-s",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": "gpt-4o",
                    "choices": [],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17},
                },
            ]
        )
    )
    with client.messages.stream(
        model="gpt", max_tokens=50, tools=[TOOL], messages=[{"role": "user", "content": "Oslo?"}]
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "Checking. "
    assert (final.content[1].id, final.content[1].input) == ("call_9", {"city": "Oslo"})
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 6)


def test_key_in_x_api_key_header_and_raw_events_have_event_lines(gw: Any, openai_server: FakeUpstream) -> None:
    body = {"model": "gpt", "max_tokens": 20, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.stream(
        "POST", f"{gw.url}/v1/messages", json=body, headers={"x-api-key": MASTER, "anthropic-version": "2023-06-01"}
    ) as reply:
        assert reply.status_code == 200
        raw = reply.read().decode()
    events = [line[len("event: ") :] for line in raw.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-2:] == ["message_delta", "message_stop"]
    assert events.count("content_block_start") == events.count("content_block_stop") == 1
    assert raw.count("data: ") == len(events)  # every data line has its event line


# --------------------------------------------------------------------------- Anthropic-format backend


def test_anthropic_backend_keeps_cache_control_thinking_and_tool_errors(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(
        AnthropicReply(json=message("Sorry about that.", input_tokens=5, cache_read=40, cache_creation=7))
    )
    reply = client.messages.create(
        model="claude",
        max_tokens=3000,
        tools=[{**TOOL, "cache_control": {"type": "ephemeral"}}],
        extra_body={"top_k": 3},
        thinking={"type": "enabled", "budget_tokens": 1024},
        cache_control={"type": "ephemeral"},
        system=[{"type": "text", "text": "Rules", "cache_control": {"type": "ephemeral"}}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "Weather?", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "need the tool", "signature": "sig-a"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Rome"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "service down", "is_error": True}
                ],
            },
        ],
    )
    sent = anthropic_server.last_json
    assert sent["system"] == [{"type": "text", "text": "Rules", "cache_control": {"type": "ephemeral"}}]
    assert sent["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][1]["content"][0] == {"type": "thinking", "thinking": "need the tool", "signature": "sig-a"}
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "service down", "is_error": True}
    ]
    assert sent["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert (sent["top_k"], sent["thinking"], sent["max_tokens"]) == (
        3,
        {"type": "enabled", "budget_tokens": 1024},
        3000,
    )
    assert sent["cache_control"] == {"type": "ephemeral"}  # top-level automatic caching
    assert reply.content[0].text == "Sorry about that."
    assert (reply.usage.input_tokens, reply.usage.cache_read_input_tokens, reply.usage.cache_creation_input_tokens) == (
        5,
        40,
        7,
    )


def test_anthropic_backend_stream_with_tool_use_and_cache_usage(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [
                    {"type": "text", "text": "One moment."},
                    {"type": "tool_use", "id": "toolu_7", "name": "get_weather", "input": {"city": "Lima"}},
                ],
                stop_reason="tool_use",
                input_tokens=9,
                output_tokens=14,
                cache_read=100,
            )
        )
    )
    with client.messages.stream(
        model="claude", max_tokens=100, tools=[TOOL], messages=[{"role": "user", "content": "Lima?"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].text == "One moment."
    assert (final.content[1].id, final.content[1].name, final.content[1].input) == (
        "toolu_7",
        "get_weather",
        {"city": "Lima"},
    )
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens) == (9, 14, 100)


def test_structured_output_reaches_both_backends(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic, openai_server: FakeUpstream
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    config = {"format": {"type": "json_schema", "schema": schema}, "effort": "low"}
    client.messages.create(
        model="gpt", max_tokens=20, messages=[{"role": "user", "content": "n?"}], output_config=config
    )
    sent = openai_server.requests[-1].json
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    assert "output_config" not in sent
    client.messages.create(
        model="claude", max_tokens=20, messages=[{"role": "user", "content": "n?"}], output_config=config
    )
    assert anthropic_server.last_json["output_config"] == {
        "effort": "low",
        "format": {"type": "json_schema", "schema": schema},
    }


def test_system_role_messages_and_max_tokens_zero(client: anthropic.Anthropic, anthropic_server: FakeAnthropic) -> None:
    client.messages.create(
        model="claude",
        max_tokens=0,
        messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
    )
    sent = anthropic_server.last_json
    assert sent["system"] == "Be terse."  # a system-role message (tolerated) becomes the system prompt
    assert sent["max_tokens"] == 0


def test_image_blocks_reach_the_anthropic_backend_unchanged(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    blocks = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        {"type": "text", "text": "Same?"},
    ]
    client.messages.create(model="claude", max_tokens=20, messages=[{"role": "user", "content": blocks}])
    assert anthropic_server.last_json["messages"][0]["content"] == blocks


def test_stop_sequence_survives_the_double_translation(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(AnthropicReply(json=message("1, 2, 3", stop_reason="stop_sequence", stop_sequence="4")))
    reply = client.messages.create(
        model="claude", max_tokens=20, stop_sequences=["4"], messages=[{"role": "user", "content": "Count"}]
    )
    assert (reply.stop_reason, reply.stop_sequence) == ("stop_sequence", "4")


def test_first_event_reaches_the_client_before_the_upstream_finished(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    gate = threading.Event()
    anthropic_server.enqueue(AnthropicReply(events=message_events(message("alpha beta gamma")), gate=gate, gate_at=4))
    seen = []
    with client.messages.stream(model="claude", max_tokens=20, messages=[{"role": "user", "content": "Go"}]) as stream:
        for text in stream.text_stream:
            seen.append(text)
            gate.set()
    assert not anthropic_server.gate_timed_out
    assert "".join(seen) == "alpha beta gamma"


# --------------------------------------------------------------------------- errors


def test_errors_use_anthropics_envelope(gw: Any, client: anthropic.Anthropic, anthropic_server: FakeAnthropic) -> None:
    with pytest.raises(anthropic.AuthenticationError) as denied:
        anthropic.Anthropic(base_url=gw.url, api_key="sk-wrong", max_retries=0).messages.create(
            model="gpt", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert denied.value.body["type"] == "error" and denied.value.body["error"]["type"] == "authentication_error"

    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "nope" in missing.value.body["error"]["message"]

    reply = httpx.post(
        f"{gw.url}/v1/messages",
        json={"model": "gpt", "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": f"Bearer {MASTER}"},
    )
    assert reply.status_code == 400
    assert reply.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: field required, a non-negative integer"},
    }

    anthropic_server.enqueue(*[error_reply(529, "overloaded_error", "Overloaded")] * 3)
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert overloaded.value.status_code == 503
    assert overloaded.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"temperature": "hot"}, "temperature: must be a number"),
        ({"top_k": 1.5}, "top_k: must be a positive integer"),
        ({"stop_sequences": ["END", 7]}, "stop_sequences: must be a list of strings"),
        ({"stream": "yes"}, "stream: must be true or false"),
        ({"max_tokens": 2**63}, "max_tokens: must be at most"),
        ({"metadata": {"tags": orjson.loads(b"[" * 300 + b"]" * 300)}}, "'metadata' is nested more than 128 levels"),
    ],
)
def test_wrong_types_are_400s_in_anthropics_envelope_that_name_the_field(
    gw: Any, fields: dict[str, Any], words: str
) -> None:
    body = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], **fields}
    reply = httpx.post(f"{gw.url}/v1/messages", json=body, headers={"authorization": f"Bearer {MASTER}"})
    assert reply.status_code == 400, reply.text
    assert reply.json()["type"] == "error" and reply.json()["error"]["type"] == "invalid_request_error"
    assert words in reply.json()["error"]["message"]


def test_what_an_openai_backend_cannot_run_is_a_400_and_what_it_has_no_field_for_is_reported(
    client: anthropic.Anthropic, openai_server: FakeUpstream
) -> None:
    with pytest.raises(anthropic.BadRequestError) as server_tool:
        client.messages.create(
            model="gpt",
            max_tokens=5,
            messages=[{"role": "user", "content": "x"}],
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
        )
    message = server_tool.value.body["error"]["message"]
    assert "web_search_20250305" in message and "'gpt'" in message  # the item, and the model that cannot run it
    assert openai_server.requests == []
    # a field Anthropic's API has and OpenAI's has not is left out, and the answer names it
    raw = client.messages.with_raw_response.create(
        model="gpt", max_tokens=5, messages=[{"role": "user", "content": "x"}], extra_body={"frobnicate": 1}
    )
    assert raw.headers["x-gateway-dropped-params"] == "frobnicate"
    assert "frobnicate" not in openai_server.requests[-1].json


def test_error_in_the_middle_of_a_stream_is_an_error_event(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    events = message_events(message("partial"))[:4]
    events.append(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    anthropic_server.enqueue(AnthropicReply(events=events))
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(
            model="claude", max_tokens=20, messages=[{"role": "user", "content": "Go"}]
        ) as stream:
            for _ in stream:
                pass
    assert "overloaded_error" in str(caught.value)


def test_requests_through_v1_messages_are_logged_with_usage(
    start: Any, make_config: Any, anthropic_server: FakeAnthropic, openai_server: FakeUpstream
) -> None:
    collector = LogCollector()
    gw = start(make_config(anthropic_server, openai_server), plugins=[collector])
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    anthropic_server.enqueue(AnthropicReply(json=message("hi", input_tokens=3, output_tokens=2, cache_read=5)))
    with client.messages.stream(model="claude", max_tokens=20, messages=[{"role": "user", "content": "Go"}]) as stream:
        stream.get_final_message()
    events = collector.wait_for(1)
    logged = events[0]
    assert (logged["status"], logged["stream"], logged["provider"], logged["model_group"]) == (
        200,
        True,
        "anthropic",
        "claude",
    )
    assert (
        logged["usage"]["prompt_tokens"],
        logged["usage"]["completion_tokens"],
        logged["usage"]["cached_tokens"],
    ) == (8, 2, 5)

    anthropic_server.enqueue(AnthropicReply(events=message_events(message("cut"))[:3]))
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(
            model="claude", max_tokens=20, messages=[{"role": "user", "content": "Go"}]
        ) as stream:
            stream.get_final_message()
    failed = collector.wait_for(2)[1]
    assert failed["error_class"] == "UpstreamError" and "message_stop" in failed["error_message"]


def test_streamed_thinking_keeps_its_signature_through_both_translations(
    client: anthropic.Anthropic, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [
                    {"type": "thinking", "thinking": "let me see", "signature": "sig-z"},
                    {"type": "text", "text": "Done."},
                ]
            )
        )
    )
    with client.messages.stream(
        model="claude",
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Go"}],
    ) as stream:
        final = stream.get_final_message()
    assert anthropic_server.last_json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert (final.content[0].thinking, final.content[0].signature) == ("let me see", "sig-z")
    assert final.content[1].text == "Done."


def test_sdk_with_the_key_in_x_api_key(gw: Any, openai_server: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    sdk = anthropic.Anthropic(base_url=gw.url, api_key=None, default_headers={"x-api-key": MASTER}, max_retries=0)
    reply = sdk.messages.create(model="gpt", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert reply.content[0].text == openai_server.content
    with sdk.messages.stream(model="gpt", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]) as stream:
        assert "".join(stream.text_stream) == openai_server.content
