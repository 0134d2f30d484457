"""The Anthropic codec: a Messages request decoded and encoded back for an ``anthropic/`` deployment is
the same JSON (cache breakpoints, signed thinking, server tools, fields added after this code), and
the same request for an OpenAI-format deployment is translated with what cannot go reported."""

from __future__ import annotations

from typing import Any

from gateway_anthropic.decode import decode_messages_request
from gateway_anthropic.encode import encode_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.chat import Text, encode_openai_chat

names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=12))
unknown = st.dictionaries(names.map(lambda n: "x_" + n), scalars, max_size=2)
cache = st.one_of(st.none(), st.just({"type": "ephemeral"}), st.just({"type": "ephemeral", "ttl": "1h"}))


def _with(block: dict[str, Any], extra: dict[str, Any], cache_control: Any = None) -> dict[str, Any]:
    out = {**block, **extra}
    if cache_control is not None:
        out["cache_control"] = cache_control
    return out


text = st.builds(lambda t, e, c: _with({"type": "text", "text": t}, e, c), st.text(max_size=20), unknown, cache)
image = st.builds(
    lambda e, c, url: _with(
        {"type": "image", "source": {"type": "url", "url": url}}
        if url
        else {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        e,
        c,
    ),
    unknown,
    cache,
    st.one_of(st.none(), st.just("https://example.com/cat.png")),
)
document = st.builds(
    lambda e, title: (
        _with({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "some text"}}, e)
        | ({"title": title} if title else {})
    ),
    unknown,
    st.one_of(st.none(), st.text(max_size=8)),
)
search_result = st.just(
    {"type": "search_result", "source": "https://x", "title": "t", "content": [{"type": "text", "text": "found"}]}
)
tool_result = st.builds(
    lambda i, c, err, cc: (
        _with({"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": c}, {}, cc)
        | ({"is_error": err} if err is not None else {})
    ),
    st.integers(0, 9),
    st.one_of(st.text(max_size=10), st.lists(text, max_size=2)),
    st.one_of(st.none(), st.booleans()),
    cache,
)
tool_use = st.builds(
    lambda i, n, inp, c: _with({"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": inp}, {}, c),
    st.integers(0, 9),
    names,
    st.dictionaries(names, scalars, max_size=2),
    cache,
)
thinking = st.one_of(
    st.builds(
        lambda t, s: {"type": "thinking", "thinking": t, "signature": s},
        st.text(max_size=10),
        st.text(min_size=1, max_size=10),
    ),
    st.just({"type": "redacted_thinking", "data": "EmwKAhgB"}),
)
user = st.builds(
    lambda c: {"role": "user", "content": c},
    st.one_of(
        st.text(min_size=1, max_size=20),
        st.lists(st.one_of(text, image, document, search_result, tool_result), min_size=1, max_size=3),
    ),
)
assistant = st.builds(
    lambda c: {"role": "assistant", "content": c},
    st.one_of(st.text(max_size=20), st.lists(st.one_of(thinking, text, tool_use), max_size=3)),
)
custom_tool = st.builds(
    lambda n, d, e, c: _with(
        {"name": n, "input_schema": {"type": "object", "properties": {}}} | ({"description": d} if d else {}), e, c
    ),
    names,
    st.one_of(st.none(), st.text(max_size=8)),
    unknown,
    cache,
)
server_tool = st.just({"type": "web_search_20250305", "name": "web_search", "max_uses": 3})
top = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(st.text(max_size=20), st.lists(text, min_size=1, max_size=2)),
        "stream": st.booleans(),
        "temperature": st.floats(0, 1),
        "top_p": st.floats(0, 1),
        "top_k": st.integers(1, 50),
        "stop_sequences": st.lists(st.text(max_size=5), max_size=2),
        "metadata": st.just({"user_id": "u-1"}),
        "thinking": st.just({"type": "enabled", "budget_tokens": 2048}),
        "tools": st.lists(st.one_of(custom_tool, server_tool), max_size=3),
        "tool_choice": st.one_of(
            st.just({"type": "auto"}),
            st.just({"type": "any", "disable_parallel_tool_use": True}),
            st.just({"type": "none"}),
        ),
        "context_management": st.just({"edits": [{"type": "clear_tool_uses_20250919"}]}),
        "service_tier": st.just("auto"),
        "output_config": st.just({"effort": "low"}),
        "tags": st.just(["team-a"]),
    },
)
bodies = st.builds(
    lambda msgs, t, extra: {"model": "claude", "max_tokens": 1024, "messages": msgs, **t, **extra},
    st.lists(st.one_of(user, assistant), min_size=1, max_size=4),
    top,
    unknown,
)


def _anthropic(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return encode_request(
        decode_messages_request(body),
        body["model"],
        default_max_tokens=4096,
        drop_params=False,
        response_headers={},
        **kw,
    ).body


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)
@given(bodies)
def test_an_anthropic_body_reaches_an_anthropic_upstream_as_sent(body: dict[str, Any]) -> None:
    assert _anthropic(body) == {k: v for k, v in body.items() if k != "tags"}


def test_a_masked_system_text_changes_only_that_text() -> None:
    body = {
        "model": "claude",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "secret 42", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hi"}],
        "context_management": {"edits": []},
    }
    request = decode_messages_request(body)
    part = request.messages[0].parts[0]
    assert isinstance(part, Text)
    part.text = "secret <N>"
    out = encode_request(request, "claude-x", default_max_tokens=1, drop_params=False, response_headers={}).body
    assert out == {
        **body,
        "model": "claude-x",
        "system": [{"type": "text", "text": "secret <N>", "cache_control": {"type": "ephemeral"}}],
    }


def test_for_an_openai_format_upstream_what_has_no_openai_form_is_dropped_and_named() -> None:
    body = {
        "model": "claude",
        "max_tokens": 50,
        "system": "be brief",
        "top_k": 5,
        "context_management": {"edits": []},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "metadata": {"user_id": "u1"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "r"},
                    {"type": "text", "text": "and?"},
                ],
            },
        ],
    }
    dropped: list[str] = []
    out = encode_openai_chat(decode_messages_request(body), "gpt-4o", dropped)
    assert out == {
        "model": "gpt-4o",
        "max_tokens": 50,
        "user": "u1",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "r"},
            {"role": "user", "content": "and?"},
        ],
    }
    assert dropped == ["context_management", "top_k", "thinking"]
