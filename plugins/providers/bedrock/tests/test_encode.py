"""The encoder for requests in another client format: an Anthropic Messages request (as ``/v1/messages``
decodes it) becomes the Converse request a Bedrock client would have written, and the members Converse
has no form for are dropped and named in ``x-gateway-dropped-params``, never refused.

Anthropic shapes: https://docs.anthropic.com/en/api/messages; Converse's: see ``encode.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_bedrock.encode import encode_request
from gateway_bedrock.testing import check_converse

from gateway import BadRequestError
from gateway.chat import ChatRequest, decode_openai_chat

anthropic = pytest.importorskip(
    "gateway_anthropic.decode", reason="gateway-anthropic (the /v1/messages decoder) is not installed"
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
EPHEMERAL = {"type": "ephemeral"}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": SCHEMA,
    "cache_control": EPHEMERAL,
}


def encode(request: ChatRequest, *, drop_params: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    body = encode_request(request, default_max_tokens=None, drop_params=drop_params, response_headers=headers)
    return body, headers


def messages_request(**body: Any) -> ChatRequest:
    return anthropic.decode_messages_request({"model": "claude-bedrock", "max_tokens": 100, **body})


def test_anthropic_conversation_with_tools_and_images_becomes_converse_messages() -> None:
    request = messages_request(
        system=[{"type": "text", "text": "Be terse.", "cache_control": EPHEMERAL}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather where this was taken?", "cache_control": EPHEMERAL},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Paris, by the look of it.", "signature": "c2ln"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "station offline"},
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                        ],
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        temperature=0.5,
        top_p=0.9,
        stop_sequences=["END"],
        metadata={"user_id": "u-1"},
    )
    body, headers = encode(request)
    check_converse(body)  # the rules the real API enforces (see gateway_bedrock.testing)
    assert body == {
        "system": [{"text": "Be terse."}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": "Weather where this was taken?"},
                    {"image": {"format": "png", "source": {"bytes": PNG}}},
                ],
            },
            {
                # the earlier thinking block is left out: Converse takes no Anthropic-signed reasoning here
                "role": "assistant",
                "content": [
                    {"text": "Checking."},
                    {"toolUse": {"toolUseId": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}},
                    {"toolUse": {"toolUseId": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "toolu_1", "content": [{"text": "18C"}]}},
                    {
                        "toolResult": {
                            "toolUseId": "toolu_2",
                            "content": [
                                {"text": "station offline"},
                                {"image": {"format": "png", "source": {"bytes": PNG}}},
                            ],
                            "status": "error",
                        }
                    },
                    {"text": "And tomorrow?"},
                ],
            },
        ],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "inputSchema": {"json": SCHEMA},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "get_weather"}},
        },
    }
    assert headers == {}, "everything here has a Converse form (cache_control only steers caching)"


def test_anthropic_members_without_a_converse_form_are_dropped_and_named_not_refused() -> None:
    request = messages_request(
        messages=[{"role": "user", "content": "Hi"}],
        thinking={"type": "enabled", "budget_tokens": 2048},
        top_k=20,
        context_management={"edits": [{"type": "clear_tool_uses_20250919"}]},
        tools=[WEATHER, {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
    )
    # drop_params is off: a refusal would answer a field the client's own API accepts
    body, headers = encode(request, drop_params=False)
    check_converse(body)  # the rules the real API enforces (see gateway_bedrock.testing)
    assert headers["x-gateway-dropped-params"].split(",") == [
        "context_management",
        "output_config.format",
        "thinking",
        "tool_choice.disable_parallel_tool_use",
        "tools[1]",
        "top_k",
    ]
    assert body == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "inferenceConfig": {"maxTokens": 100},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "inputSchema": {"json": SCHEMA},
                    }
                }
            ],
            "toolChoice": {"auto": {}},
        },
    }


def test_the_same_parameter_from_an_openai_client_is_refused_unless_drop_params() -> None:
    body = {"model": "claude-bedrock", "messages": [{"role": "user", "content": "Hi"}], "top_k": 20}
    with pytest.raises(BadRequestError) as caught:
        encode(decode_openai_chat(body))
    assert caught.value.param == "top_k" and "bedrock does not support the parameter 'top_k'" in str(caught.value)
    _, headers = encode(decode_openai_chat(body), drop_params=True)
    assert headers["x-gateway-dropped-params"] == "top_k"


@pytest.mark.parametrize(
    ("content", "param", "says"),
    [
        (
            [{"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}],
            "messages[0].content[0].image_url",
            "Bedrock takes image bytes, not URLs",
        ),
        (
            [{"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}}],
            "messages[0].content[0].image_url",
            "image type 'image/bmp' is not supported",
        ),
        (
            [{"type": "search_result", "source": "https://x", "title": "t", "content": []}],
            "messages[0].content[0]",
            "content part type 'search_result' is not supported by Bedrock",
        ),
    ],
    ids=["image-url", "bmp", "search-result"],
)
def test_content_converse_cannot_take_is_a_400_naming_the_part(content: list[Any], param: str, says: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        encode(messages_request(messages=[{"role": "user", "content": content}]))
    assert caught.value.param == param and says in str(caught.value)


def test_tool_history_without_tools_is_refused_as_converse_would() -> None:
    request = messages_request(
        messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "1"}]},
        ]
    )
    with pytest.raises(BadRequestError) as caught:
        encode(request)
    assert caught.value.param == "tools" and "needs the tool definitions" in str(caught.value)
