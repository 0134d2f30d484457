"""The typed chat request: an OpenAI body decoded and encoded back is the same JSON, whatever it holds,
and a hook's change reaches the encoded body exactly where it was made."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import GATEWAY_ONLY_FIELDS, BadRequestError
from gateway.chat import ChatRequest, Text, ToolCall, decode_openai_chat, encode_openai_chat

names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
    max_leaves=8,
)
# members no type covers: never one of the names the codec types
unknown = st.dictionaries(names.map(lambda n: "x_" + n), json_values, max_size=2)
cache = st.one_of(st.none(), st.just({"type": "ephemeral"}))


def _with(base: dict[str, Any], extra: dict[str, Any], cache_control: Any = None) -> dict[str, Any]:
    out = {**base, **extra}
    if cache_control is not None:
        out["cache_control"] = cache_control
    return out


text_part = st.builds(lambda t, e, c: _with({"type": "text", "text": t}, e, c), st.text(max_size=30), unknown, cache)
image_part = st.builds(
    lambda url, detail, e, inner: {
        "type": "image_url",
        "image_url": _with({"url": url}, inner, None) | ({"detail": detail} if detail else {}),
        **e,
    },
    st.sampled_from(["https://example.com/a.png", "data:image/png;base64,iVBORw0KGgo="]),
    st.sampled_from([None, "low", "high"]),
    unknown,
    unknown,
)
file_part = st.builds(
    lambda e: {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}, **e}, unknown
)
odd_part = st.one_of(
    st.just({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}), st.text(max_size=5)
)
parts = st.lists(st.one_of(text_part, image_part, file_part, odd_part), max_size=3)
content = st.one_of(st.text(max_size=30), parts, st.none())
tool_call = st.builds(
    lambda i, n, a, e: {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}, **e},
    st.integers(0, 99),
    names,
    st.sampled_from(['{"a": 1}', "{}", ""]),
    unknown,
)
user_msg = st.builds(
    lambda c, e, n: _with({"role": "user", "content": c}, e) | ({"name": n} if n else {}),
    content,
    unknown,
    st.one_of(st.none(), names),
)
system_msg = st.builds(
    lambda r, c, e: _with({"role": r, "content": c}, e),
    st.sampled_from(["system", "developer"]),
    st.one_of(st.text(max_size=20), st.lists(text_part, max_size=2)),
    unknown,
)
assistant_msg = st.builds(
    lambda c, calls, e: (
        _with({"role": "assistant", "content": c}, e) | ({"tool_calls": calls} if calls is not None else {})
    ),
    st.one_of(st.none(), st.text(max_size=20), st.lists(text_part, max_size=2)),
    st.one_of(st.none(), st.just([]), st.lists(tool_call, min_size=1, max_size=2)),
    unknown,
)
tool_msg = st.builds(
    lambda i, c, e: _with({"role": "tool", "tool_call_id": f"call_{i}", "content": c}, e),
    st.integers(0, 99),
    st.one_of(st.text(max_size=20), st.lists(text_part, max_size=2)),
    unknown,
)
function_tool = st.builds(
    lambda n, d, p, s, e, c: (
        {
            "type": "function",
            "function": _with(
                {
                    "name": n,
                    **({"description": d} if d else {}),
                    **({"parameters": p} if p else {}),
                    **({"strict": s} if s is not None else {}),
                },
                e,
            ),
            **e,
        }
        | ({"cache_control": c} if c else {})
    ),
    names,
    st.one_of(st.none(), st.text(max_size=10)),
    st.one_of(st.none(), st.just({"type": "object", "properties": {"a": {"type": "string"}}})),
    st.one_of(st.none(), st.booleans()),
    unknown,
    cache,
)
builtin_tool = st.just({"type": "web_search_preview", "search_context_size": "low"})
top_level = st.fixed_dictionaries(
    {},
    optional={
        "stream": st.booleans(),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "n": st.integers(1, 4),
        "max_tokens": st.integers(1, 4000),
        "max_completion_tokens": st.integers(1, 4000),
        "seed": st.integers(0, 99),
        "stop": st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3)),
        "user": st.text(max_size=10),
        "tools": st.lists(st.one_of(function_tool, builtin_tool), max_size=3),
        "tool_choice": st.one_of(
            st.sampled_from(["auto", "none", "required"]),
            st.just({"type": "function", "function": {"name": "a"}}),
            st.just({"type": "allowed_tools", "mode": "auto", "tools": []}),
        ),
        "parallel_tool_calls": st.booleans(),
        "response_format": st.just({"type": "json_object"}),
        "stream_options": st.just({"include_usage": True}),
        "logprobs": st.booleans(),
        "reasoning_effort": st.just("low"),
        "metadata": st.just({"team": "a"}),
        "tags": st.just(["t"]),
        "fallbacks": st.just(["b"]),
    },
)
bodies = st.builds(
    lambda msgs, top, extra: {"model": "gpt-4o", "messages": msgs, **top, **extra},
    st.lists(st.one_of(user_msg, system_msg, assistant_msg, tool_msg), min_size=1, max_size=5),
    top_level,
    unknown,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)
@given(bodies)
def test_an_openai_body_encodes_back_to_the_same_members(body: dict[str, Any]) -> None:
    request = decode_openai_chat(body)
    expected = {k: v for k, v in body.items() if k not in GATEWAY_ONLY_FIELDS}
    assert encode_openai_chat(request, "gpt-4o") == expected
    # the gateway's own fields are set apart, never sent
    assert request.gateway == {k: v for k, v in body.items() if k in GATEWAY_ONLY_FIELDS}


def test_a_masked_text_changes_that_text_only() -> None:
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "my SSN is 123"}, {"type": "text", "text": "keep", "x_vendor": 1}],
            }
        ],
        "x_new_field": {"a": 1},
    }
    request = decode_openai_chat(body)
    first = request.messages[0].parts[0]
    assert isinstance(first, Text)
    first.text = "my SSN is <SSN>"
    out = encode_openai_chat(request, "upstream-model")
    assert out == {
        "model": "upstream-model",
        "x_new_field": {"a": 1},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "my SSN is <SSN>"},
                    {"type": "text", "text": "keep", "x_vendor": 1},
                ],
            }
        ],
    }


def test_a_changed_top_level_field_replaces_the_sent_one_under_its_spelling() -> None:
    request = decode_openai_chat(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 9, "stop": "x"}
    )
    request.max_tokens = 100
    request.stop = None
    out = encode_openai_chat(request, "m")
    assert out["max_completion_tokens"] == 100 and "max_tokens" not in out and "stop" not in out


def test_tool_calls_keep_their_arguments_as_sent() -> None:
    arguments = '{ "city" : "Paris" }'
    request = decode_openai_chat(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": arguments}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            ],
        }
    )
    call = request.messages[1].parts[0]
    assert isinstance(call, ToolCall) and call.input_object() == {"city": "Paris"}
    assert encode_openai_chat(request, "m")["messages"][1]["tool_calls"][0]["function"]["arguments"] == arguments


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages[0].content[0].text"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": 7}}]}
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": 3}}]},
            "tools[0].function",
        ),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2**70}, "n"),
        ({"messages": [{"role": "user", "content": "x"}], "stop": [1]}, "stop"),
    ],
)
def test_malformed_requests_are_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequestError) as info:
        decode_openai_chat({"model": "m", **body})
    assert info.value.param == param


def test_a_request_text_covers_every_text_part() -> None:
    request: ChatRequest = decode_openai_chat(
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hello"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "c", "content": "result"},
            ],
        }
    )
    assert request.text() == "be brief\nhello\nresult"
