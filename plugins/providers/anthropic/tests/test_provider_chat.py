"""The ``anthropic/`` provider, non-streaming, with the official ``openai`` SDK as the client.

The upstream is :class:`gateway_anthropic.testing.FakeAnthropic`, which validates each request
like the Messages API does (rules and the documentation page of each in its module docstring):
https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use,
https://docs.anthropic.com/en/docs/build-with-claude/vision,
https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching,
https://docs.anthropic.com/en/api/handling-stop-reasons.
"""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from gateway_anthropic.testing import AnthropicReply, FakeAnthropic, message

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_plain_chat_reaches_messages_api_with_its_headers_and_default_max_tokens(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    reply = claude.openai().chat.completions.create(model="claude", messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == anthropic_server.text
    assert reply.choices[0].finish_reason == "stop"
    sent = anthropic_server.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test"  # the deployment's key, never the client's
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "max_tokens": 4096,
    }


def test_deployment_max_tokens_is_the_default_and_the_client_value_wins(
    start: Any, make_config: Any, anthropic_server: FakeAnthropic
) -> None:
    gw = start(make_config(anthropic_server, params={"max_tokens": 321}))
    client = gw.openai()
    client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "Hi"}])
    assert anthropic_server.last_json["max_tokens"] == 321
    client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=55
    )
    assert anthropic_server.last_json["max_tokens"] == 55


def test_multi_turn_with_system_becomes_top_level_system_and_alternating_turns(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    claude.openai().chat.completions.create(
        model="claude",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "How are you?"},
            {"role": "user", "content": [{"type": "text", "text": "And the weather?"}]},
        ],
        temperature=0.2,
        top_p=0.9,
        stop=["END"],
        user="user-7",
    )
    sent = anthropic_server.last_json
    assert sent["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."}]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][2]["content"] == [
        {"type": "text", "text": "How are you?"},
        {"type": "text", "text": "And the weather?"},
    ]
    assert (sent["temperature"], sent["top_p"], sent["stop_sequences"]) == (0.2, 0.9, ["END"])
    assert sent["metadata"] == {"user_id": "user-7"}


def test_tool_call_round_trip(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
                ],
                stop_reason="tool_use",
            )
        )
    )
    client = claude.openai()
    first = client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
    )
    sent = anthropic_server.last_json
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name, orjson.loads(call.function.arguments)) == (
        "toolu_01",
        "get_weather",
        {"city": "Paris"},
    )

    second = client.chat.completions.create(
        model="claude",
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"},
            {"role": "user", "content": "Thanks, and tomorrow?"},
        ],
    )
    assert second.choices[0].message.content == anthropic_server.text
    turns = anthropic_server.last_json["messages"]
    assert turns[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
        ],
    }
    assert turns[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18 C and sunny"},
            {"type": "text", "text": "Thanks, and tomorrow?"},
        ],
    }


def test_images_by_url_and_base64(claude: Any, anthropic_server: FakeAnthropic) -> None:
    claude.openai().chat.completions.create(
        model="claude",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
                ],
            }
        ],
    )
    blocks = anthropic_server.last_json["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    assert blocks[2] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
    ],
)
def test_usage_with_cache_tokens_and_finish_reason(
    claude: Any, anthropic_server: FakeAnthropic, stop_reason: str, finish_reason: str
) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                "Done",
                stop_reason=stop_reason,
                input_tokens=20,
                output_tokens=7,
                cache_read=100,
                cache_creation=30,
                stop_sequence="END" if stop_reason == "stop_sequence" else None,
            )
        )
    )
    reply = claude.openai().chat.completions.create(model="claude", messages=[{"role": "user", "content": "Go"}])
    assert reply.choices[0].finish_reason == finish_reason
    usage = reply.usage
    # OpenAI counts cached input as part of the prompt; Anthropic's input_tokens excludes it
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (150, 7, 157)
    assert usage.prompt_tokens_details.cached_tokens == 100
    assert usage.prompt_tokens_details.model_extra["cache_creation_tokens"] == 30


def test_cache_control_on_parts_reaches_anthropic(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(AnthropicReply(json=message("ok", cache_creation=500)))
    claude.openai().chat.completions.create(
        model="claude",
        messages=[
            {
                "role": "system",
                "content": [{"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}],
            },
            {"role": "user", "content": "Go"},
        ],
    )
    assert anthropic_server.last_json["system"] == [
        {"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}
    ]


def test_response_format_json_schema_becomes_native_structured_output(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    anthropic_server.enqueue(AnthropicReply(json=message('{"answer": 4}')))
    reply = claude.openai().chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "2+2?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "sum", "schema": schema}},
    )
    assert anthropic_server.last_json["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "tools" not in anthropic_server.last_json
    assert orjson.loads(reply.choices[0].message.content) == {"answer": 4}


def test_json_object_mode_uses_a_forced_tool_and_answers_with_its_input(
    claude: Any, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [{"type": "tool_use", "id": "toolu_j", "name": "json_tool_call", "input": {"answer": 4}}],
                stop_reason="tool_use",
            )
        )
    )
    reply = claude.openai().chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "2+2 as JSON"}],
        response_format={"type": "json_object"},
    )
    assert anthropic_server.last_json["tool_choice"] == {"type": "tool", "name": "json_tool_call"}
    assert orjson.loads(reply.choices[0].message.content) == {"answer": 4}
    assert reply.choices[0].finish_reason == "stop"
    assert not reply.choices[0].message.tool_calls


def test_streamed_json_object_mode_streams_the_json_as_content(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [{"type": "tool_use", "id": "toolu_j", "name": "json_tool_call", "input": {"answer": 4}}],
                stop_reason="tool_use",
            )
        )
    )
    chunks = list(
        claude.openai().chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "2+2 as JSON"}],
            response_format={"type": "json_object"},
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert orjson.loads(text) == {"answer": 4}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


def test_reasoning_effort_enables_thinking_and_returns_reasoning(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        AnthropicReply(
            json=message(
                [
                    {"type": "thinking", "thinking": "2 and 2 make 4", "signature": "sig-1"},
                    {"type": "text", "text": "4"},
                ]
            )
        )
    )
    reply = claude.openai().chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "2+2?"}], reasoning_effort="low"
    )
    assert anthropic_server.last_json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    message_out = reply.choices[0].message
    assert message_out.content == "4"
    assert message_out.model_extra["reasoning_content"] == "2 and 2 make 4"
    assert message_out.model_extra["thinking_blocks"][0]["signature"] == "sig-1"


def test_bad_top_k_is_refused_before_the_upstream_call(claude: Any, anthropic_server: FakeAnthropic) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        claude.openai().chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "x"}],
            extra_body={"top_k": 0},
        )
    assert "top_k" in str(caught.value)
    assert anthropic_server.requests == []


def test_a_deployment_without_a_key_is_refused_at_start_up_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import ConfigError, Gateway

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "anthropic")
    with pytest.raises(ConfigError) as caught:
        Gateway(
            {
                "model_list": [{"model_name": "c", "litellm_params": {"model": "anthropic/claude-x"}}],
                "general_settings": {"master_key": "sk-m"},
            }
        )
    assert "ANTHROPIC_API_KEY" in str(caught.value)
