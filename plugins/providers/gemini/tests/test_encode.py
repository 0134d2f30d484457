"""The encoder for requests in another client format: an Anthropic Messages request (as ``/v1/messages``
decodes it) becomes the Gemini request a Gemini client would have written, and the members Gemini has
no form for are dropped and named in ``x-gateway-dropped-params``, never refused.

Anthropic shapes: https://docs.anthropic.com/en/api/messages; Gemini's: see ``encode.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_gemini.encode import encode_request
from gateway_gemini.testing import check_request

from gateway import BadRequestError
from gateway.chat import ChatRequest, decode_openai_chat

anthropic = pytest.importorskip(
    "gateway_anthropic.decode", reason="gateway-anthropic (the /v1/messages decoder) is not installed"
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
EPHEMERAL = {"type": "ephemeral"}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "cache_control": EPHEMERAL,
}


def encode(request: ChatRequest, *, drop_params: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    body = encode_request(request, default_max_tokens=None, drop_params=drop_params, response_headers=headers)
    return body, headers


def messages_request(**body: Any) -> ChatRequest:
    return anthropic.decode_messages_request({"model": "gemini-flash", "max_tokens": 100, **body})


def test_anthropic_conversation_with_tools_and_images_becomes_gemini_contents() -> None:
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
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"temp": 18}'},
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
        tool_choice={"type": "any"},
        temperature=0.5,
        top_k=20,
        stop_sequences=["END"],
        metadata={"user_id": "u-1"},
    )
    body, headers = encode(request)
    check_request(body)  # the rules the real API enforces (see gateway_gemini.testing)
    assert body == {
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Weather where this was taken?"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                ],
            },
            {
                # the earlier thinking block is Anthropic's (its signature means nothing to Gemini): left out
                "role": "model",
                "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"output": {"temp": 18}}}},
                    {"functionResponse": {"name": "get_weather", "response": {"error": "station offline"}}},
                    {"text": "And tomorrow?"},
                    # a function response holds JSON only: the result's image follows it in the same turn
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    }
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        "generationConfig": {"temperature": 0.5, "topK": 20, "maxOutputTokens": 100, "stopSequences": ["END"]},
    }
    assert headers == {}, "everything here has a Gemini form (cache_control only steers caching)"


def test_anthropic_members_without_a_gemini_form_are_dropped_and_named_not_refused() -> None:
    request = messages_request(
        messages=[{"role": "user", "content": "Hi"}],
        thinking={"type": "enabled", "budget_tokens": 2048},
        context_management={"edits": [{"type": "clear_tool_uses_20250919"}]},
        tools=[WEATHER, {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        output_config={"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object"}}},
    )
    # drop_params is off: a refusal would answer a field the client's own API accepts
    body, headers = encode(request, drop_params=False)
    check_request(body)  # the rules the real API enforces (see gateway_gemini.testing)
    assert headers["x-gateway-dropped-params"].split(",") == [
        "context_management",
        "output_config.effort",
        "thinking",
        "tool_choice.disable_parallel_tool_use",
        "tools[1]",
    ]
    assert [d["name"] for d in body["tools"][0]["functionDeclarations"]] == ["get_weather"]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    # the structured output Anthropic asked for is Gemini's JSON mode; no thinking budget was set
    assert body["generationConfig"] == {
        "maxOutputTokens": 100,
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object"},
    }


def test_the_same_parameter_from_an_openai_client_is_refused_unless_drop_params() -> None:
    body = {"model": "gemini-flash", "messages": [{"role": "user", "content": "Hi"}], "thinking": {"type": "enabled"}}
    with pytest.raises(BadRequestError) as caught:
        encode(decode_openai_chat(body))
    assert caught.value.param == "thinking" and "gemini does not support the parameter 'thinking'" in str(caught.value)
    _, headers = encode(decode_openai_chat(body), drop_params=True)
    assert headers["x-gateway-dropped-params"] == "thinking"


@pytest.mark.parametrize(
    ("content", "param", "says"),
    [
        (
            [{"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}],
            "messages[0].content[0].image_url",
            "Gemini cannot fetch image URLs",
        ),
        (
            [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGODlhAQABAAAAACw="},
                }
            ],
            "messages[0].content[0].image_url",
            "image type 'image/gif' is not supported",
        ),
        (
            [{"type": "search_result", "source": "https://x", "title": "t", "content": []}],
            "messages[0].content[0]",
            "content part type 'search_result' is not supported by Gemini",
        ),
    ],
    ids=["image-url", "gif", "search-result"],
)
def test_content_gemini_cannot_take_is_a_400_naming_the_part(content: list[Any], param: str, says: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        encode(messages_request(messages=[{"role": "user", "content": content}]))
    assert caught.value.param == param and says in str(caught.value)


def test_anthropic_documents_are_sent_inline_or_as_text() -> None:
    content = [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Plain notes."}},
        {"type": "text", "text": "Summarise both."},
    ]
    body, _ = encode(messages_request(messages=[{"role": "user", "content": content}]))
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
        {"text": "Plain notes."},
        {"text": "Summarise both."},
    ]
