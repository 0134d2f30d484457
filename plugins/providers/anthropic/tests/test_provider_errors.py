"""Anthropic errors mapped to OpenAI-shaped ones, and bad input refused before any upstream call.

Error statuses and bodies: https://docs.anthropic.com/en/api/errors (400 invalid_request_error,
401 authentication_error, 429 rate_limit_error with ``retry-after``, 500 api_error, 529
overloaded_error; envelope ``{"type": "error", "error": {"type", "message"}}``).
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from gateway_anthropic.testing import AnthropicReply, FakeAnthropic, error_reply

HI = [{"role": "user", "content": "Hi"}]


def test_overloaded_529_becomes_a_retryable_503(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(*[error_reply(529, "overloaded_error", "Overloaded")] * 3)
    with pytest.raises(openai.InternalServerError) as caught:
        claude.openai().chat.completions.create(model="claude", messages=HI)
    assert caught.value.status_code == 503
    assert caught.value.body["type"] == "service_unavailable"
    assert "Overloaded" in caught.value.body["message"]
    assert len(anthropic_server.requests) == 3  # retried (num_retries defaults to 2)


def test_overloaded_then_success_is_retried_transparently(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(error_reply(529, "overloaded_error", "Overloaded"))
    reply = claude.openai().chat.completions.create(model="claude", messages=HI)
    assert reply.choices[0].message.content == anthropic_server.text
    assert len(anthropic_server.requests) == 2


def test_rate_limit_429_keeps_status_and_retry_after(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        *[
            error_reply(
                429, "rate_limit_error", "Number of requests has exceeded your rate limit", headers={"retry-after": "0"}
            )
        ]
        * 3
    )
    with pytest.raises(openai.RateLimitError) as caught:
        claude.openai().chat.completions.create(model="claude", messages=HI)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "0"
    assert "rate limit" in caught.value.body["message"]


def test_invalid_request_400_is_passed_on_and_not_retried(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(
        error_reply(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum")
    )
    with pytest.raises(openai.BadRequestError) as caught:
        claude.openai().chat.completions.create(model="claude", messages=HI)
    assert "prompt is too long" in caught.value.body["message"]
    assert caught.value.body["type"] == "invalid_request_error"
    assert len(anthropic_server.requests) == 1


def test_rejected_upstream_key_is_a_gateway_credential_error(
    start: Any, make_config: Any, anthropic_server: FakeAnthropic
) -> None:
    gw = start(make_config(anthropic_server, params={"api_key": "sk-ant-wrong"}))
    with pytest.raises(openai.APIStatusError) as caught:
        gw.openai().chat.completions.create(model="claude", messages=HI)
    assert caught.value.status_code == 502
    assert caught.value.body["type"] == "upstream_auth_error"
    assert "sk-ant-wrong" not in str(caught.value.body)  # secrets never in errors


def test_overloaded_on_stream_open_is_a_503_before_any_chunk(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(*[error_reply(529, "overloaded_error", "Overloaded")] * 3)
    with pytest.raises(openai.InternalServerError) as caught:
        list(claude.openai().chat.completions.create(model="claude", messages=HI, stream=True))
    assert caught.value.status_code == 503


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"logprobs": True}, "logprobs"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"n": 2}, "n"),
        ({"seed": 7}, "seed"),
    ],
)
def test_unsupported_parameter_is_a_400_naming_it_and_the_provider(
    claude: Any, anthropic_server: FakeAnthropic, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        claude.openai().chat.completions.create(model="claude", messages=HI, **extra)
    body = caught.value.body
    assert body["param"] == param
    assert f"anthropic does not support the parameter '{param}'" in body["message"]
    assert "drop_params" in body["message"]
    assert anthropic_server.requests == []


def test_drop_params_drops_with_a_warning_header(start: Any, make_config: Any, anthropic_server: FakeAnthropic) -> None:
    gw = start(make_config(anthropic_server, litellm_settings={"drop_params": True}))
    raw = gw.openai().chat.completions.with_raw_response.create(
        model="claude", messages=HI, presence_penalty=0.5, seed=3, logprobs=False, n=1
    )
    assert raw.headers["x-gateway-dropped-params"] == "presence_penalty,seed"
    assert raw.parse().choices[0].message.content == anthropic_server.text
    sent = anthropic_server.last_json
    assert "presence_penalty" not in sent and "seed" not in sent


def test_drop_params_on_the_deployment_alone(start: Any, make_config: Any, anthropic_server: FakeAnthropic) -> None:
    gw = start(make_config(anthropic_server, params={"drop_params": True}))
    raw = gw.openai().chat.completions.with_raw_response.create(model="claude", messages=HI, frequency_penalty=1)
    assert raw.headers["x-gateway-dropped-params"] == "frequency_penalty"


@pytest.mark.parametrize(
    ("request_extra", "expected"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "bad name!", "parameters": {"type": "object"}}}]},
            "tools[0].function.name",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]},
            "tools[0].function.parameters",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "nope"}}]},
            "tools[0].function.parameters",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}],
                    }
                ]
            },
            "messages[0].content[0].image_url",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@@"}}],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]},
            "messages[0].content[0].image_url",
        ),
        ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}],
                    }
                ]
            },
            "messages[0].content[0]",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "tool", "tool_call_id": "call_1", "content": "r"},
                ]
            },
            "messages[1].tool_call_id",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                    },
                    {"role": "user", "content": "y"},
                ]
            },
            "messages[1].tool_calls",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "r"},
                ]
            },
            "messages[1].tool_calls[0].function.arguments",
        ),
        ({"temperature": 1.5}, "temperature"),
        (
            {
                "tool_choice": {"type": "function", "function": {"name": "missing"}},
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
            "tool_choice",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}}},
            "response_format",
        ),
    ],
)
def test_bad_input_is_a_clear_400_before_any_upstream_call(
    claude: Any, anthropic_server: FakeAnthropic, request_extra: dict[str, Any], expected: str
) -> None:
    body = {"model": "claude", "messages": HI, **request_extra}
    reply = httpx.post(
        f"{claude.base_url}/chat/completions", json=body, headers={"authorization": "Bearer sk-test-master"}
    )
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == expected, error
    assert error["type"] == "invalid_request_error"
    assert anthropic_server.requests == []
    # the gateway keeps serving
    assert claude.openai().chat.completions.create(model="claude", messages=HI).choices[0].message.content


def test_an_answer_that_is_not_a_message_is_a_502(claude: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(*[AnthropicReply(json=["not", "a", "message"])] * 3)
    with pytest.raises(openai.APIStatusError) as caught:
        claude.openai().chat.completions.create(model="claude", messages=HI)
    assert caught.value.status_code == 502
    assert "not an object" in caught.value.body["message"]
