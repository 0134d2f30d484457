"""Chat through a running gateway with the official ``openai`` SDK, against the local Gemini API.

Wire shapes are cited in ``gateway_gemini.testing`` (https://ai.google.dev/api/generate-content and the
pages listed there); the fake server refuses what the real API refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_gemini.testing import API_KEY, FakeGemini, GeminiReply, text_response

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def test_plain_chat_translates_both_ways(proxy: Any, gemini: FakeGemini) -> None:
    reply = proxy.openai().chat.completions.create(
        model="gemini-flash", messages=[{"role": "user", "content": "Hi"}], temperature=0.2, max_tokens=50
    )
    assert reply.choices[0].message.content == "Hello from Gemini."
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (7, 3, 10)
    sent = gemini.requests[-1]
    assert sent.path == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == API_KEY and "key" not in sent.query  # the key never goes in the URL
    assert sent.body == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50},
    }


def test_multi_turn_with_system_merges_consecutive_turns(proxy: Any, gemini: FakeGemini) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Question one."},
        {"role": "user", "content": [{"type": "text", "text": "Question two."}]},
    ]
    proxy.openai().chat.completions.create(model="gemini-flash", messages=messages, stop=["END"])
    body = gemini.requests[-1].body
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hello"}]},
        {"role": "model", "parts": [{"text": "Hi."}]},
        {"role": "user", "parts": [{"text": "Question one."}, {"text": "Question two."}]},
    ]
    assert body["generationConfig"] == {"stopSequences": ["END"]}


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "$schema": "http://json-schema.org/draft-07/schema#",
            "additionalProperties": False,
            "properties": {
                "city": {"type": "string"},
                "unit": {"anyOf": [{"$ref": "#/$defs/unit"}, {"type": "null"}]},
                "days": {"type": ["integer", "null"], "format": "uint8"},
            },
            "required": ["city"],
            "$defs": {"unit": {"type": "string", "enum": ["C", "F"]}},
        },
    },
}


def function_call_response(*calls: tuple[str, dict[str, Any]], signature: str | None = None) -> dict[str, Any]:
    parts = [{"functionCall": {"name": name, "args": args}} for name, args in calls]
    if signature:
        parts[0]["thoughtSignature"] = signature
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 5, "totalTokenCount": 25},
    }


def test_tool_call_round_trip(proxy: Any, gemini: FakeGemini) -> None:
    gemini.enqueue(
        GeminiReply(
            json=function_call_response(
                ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"}), signature="c2lnbmF0dXJl"
            )
        )
    )
    client = proxy.openai()
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    first = client.chat.completions.create(
        model="gemini-flash", messages=messages, tools=[WEATHER_TOOL], tool_choice="auto"
    )
    calls = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city":"Paris"}'),
        ("get_weather", '{"city":"Oslo"}'),
    ]
    declaration = gemini.requests[-1].body["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters"]["properties"]["unit"] == {"nullable": True, "type": "string", "enum": ["C", "F"]}
    assert gemini.requests[-1].body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}

    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages += [
        {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 18}'},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "cold"},
    ]
    second = client.chat.completions.create(model="gemini-flash", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "Hello from Gemini."
    contents = gemini.requests[-1].body["contents"]
    assert contents[1]["parts"][0] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": "c2lnbmF0dXJl",
    }
    assert contents[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"output": {"temp": 18}}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "cold"}}},
        ],
    }


def test_forced_tool_choice_and_json_schema_response_format(proxy: Any, gemini: FakeGemini) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "tags": {"type": "array"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    proxy.openai().chat.completions.create(
        model="gemini-flash",
        messages=[{"role": "user", "content": "x"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": True}},
    )
    body = gemini.requests[-1].body
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert body["generationConfig"]["responseSchema"]["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
    }


def test_image_input_is_sent_inline(proxy: Any, gemini: FakeGemini) -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    proxy.openai().chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": content}])
    assert gemini.requests[-1].body["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": PNG}}


@pytest.mark.parametrize(
    ("gemini_reason", "openai_reason"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("OTHER", "stop"),
    ],
)
def test_finish_reason_mapping(proxy: Any, gemini: FakeGemini, gemini_reason: str, openai_reason: str) -> None:
    gemini.enqueue(GeminiReply(json=text_response("partial", finish=gemini_reason)))
    reply = proxy.openai().chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].finish_reason == openai_reason


def test_usage_reports_cached_and_thinking_tokens_and_keeps_thoughts_out_of_content(
    proxy: Any, gemini: FakeGemini
) -> None:
    usage = {
        "promptTokenCount": 100,
        "cachedContentTokenCount": 60,
        "candidatesTokenCount": 10,
        "thoughtsTokenCount": 30,
        "totalTokenCount": 140,
    }
    data = text_response("The answer.", usage=usage)
    data["candidates"][0]["content"]["parts"].insert(0, {"text": "Let me think...", "thought": True})
    gemini.enqueue(GeminiReply(json=data))
    raw = proxy.openai().chat.completions.with_raw_response.create(
        model="gemini-flash", messages=[{"role": "user", "content": "x"}]
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == "The answer."
    assert raw.http_response.json()["choices"][0]["message"]["reasoning_content"] == "Let me think..."
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (100, 40, 140)
    assert reply.usage.prompt_tokens_details.cached_tokens == 60
    assert reply.usage.completion_tokens_details.reasoning_tokens == 30


def test_blocked_prompt_is_a_content_filter_finish(proxy: Any, gemini: FakeGemini) -> None:
    gemini.enqueue(
        GeminiReply(
            json={
                "promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4},
            }
        )
    )
    reply = proxy.openai().chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].finish_reason == "content_filter"
    assert reply.usage.prompt_tokens == 4


def test_a_gemini_wildcard_group_calls_the_requested_models_url(gemini: Any, gateway_factory: Any) -> None:
    import gateway_gemini
    from gateway_gemini.testing import gemini_config

    config = gemini_config(gemini)
    entry = config["model_list"][0]
    entry["model_name"] = "gemini/*"
    entry["litellm_params"]["model"] = "gemini/*"
    proxy = gateway_factory(config, plugins=[gateway_gemini], load_entrypoints=False)
    for name in ("gemini-2.0-flash", "gemini-1.5-pro"):
        reply = proxy.openai().chat.completions.create(
            model=f"gemini/{name}", messages=[{"role": "user", "content": "Hi"}]
        )
        assert reply.choices[0].message.content
        assert gemini.requests[-1].path == f"/v1beta/models/{name}:generateContent"
