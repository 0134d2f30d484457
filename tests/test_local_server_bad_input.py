"""A local model server misbehaving behind the gateway (issue 24, "Bad input").

The server down: a 502 that names the deployment (never its address).  An answer that is not JSON
or a stream that breaks: a clean error in the client's format, and the worker keeps serving.  A
model that emits half a UTF-8 character: the text is replaced (U+FFFD), the answer goes through.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from gateway.testing import FakeUpstream, Reply, free_port

MASTER = "sk-master"
HI = [{"role": "user", "content": "hi"}]


def config(api_base: str) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "local",
                "litellm_params": {"model": "openai/smollm2", "api_base": api_base},
                "model_info": {"id": "llama-cpp-1"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }


def chunk(content: str | bytes, finish: str | None = None) -> bytes:
    text = content.encode() if isinstance(content, str) else content
    return (
        b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"smollm2","choices":[{"index":0,'
        b'"delta":{"content":"' + text + b'"},"finish_reason":' + (b'"stop"' if finish else b"null") + b"}]}\n\n"
    )


def still_serves(gw: Any) -> None:
    answer = gw.openai().chat.completions.create(model="local", messages=HI)
    assert answer.choices[0].message.content


def test_a_server_that_is_down_is_a_502_naming_the_deployment(gateway_factory: Any) -> None:
    port = free_port()
    gw = gateway_factory(config(f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(openai.APIStatusError) as caught:
        gw.openai().chat.completions.create(model="local", messages=HI)
    assert caught.value.status_code == 502
    assert "deployment llama-cpp-1 (local)" in caught.value.message and str(port) not in caught.value.message
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as refused:
        client.messages.create(model="local", max_tokens=10, messages=HI)
    assert refused.value.status_code == 502 and "llama-cpp-1" in refused.value.message
    assert refused.value.body["type"] == "error"  # type: ignore[index]  # Anthropic's envelope


def test_an_answer_that_is_not_json_is_a_clean_502(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(config(fake_upstream.base_url))
    fake_upstream.enqueue(Reply(body=b"<html>Internal error</html>", headers={"content-type": "text/html"}))
    with pytest.raises(openai.APIStatusError) as caught:
        gw.openai().chat.completions.create(model="local", messages=HI)
    assert caught.value.status_code == 502 and "not JSON" in caught.value.message
    still_serves(gw)


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([chunk("Hel"), b"data: {not json\n\n"], id="an event that is not JSON"),
        pytest.param([chunk("Hel"), b"data: [1, 2]\n\n"], id="an event that is not an object"),
        pytest.param([chunk("Hel"), chunk("lo"), chunk("!")], id="the connection dropped"),
    ],
)
def test_a_broken_stream_ends_with_an_error_event(
    fake_upstream: FakeUpstream, gateway_factory: Any, events: list[bytes]
) -> None:
    gw = gateway_factory(config(fake_upstream.base_url))
    dropped = len(events) == 3
    fake_upstream.enqueue(Reply(stream=events, break_after=2 if dropped else None, done=not dropped))
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for part in gw.openai().chat.completions.create(model="local", messages=HI, stream=True):
            received.extend(c.delta.content or "" for c in part.choices)
    assert received[:1] == ["Hel"]  # what came before the break reached the client
    assert "openai" in str(caught.value.message)
    still_serves(gw)
    # an Anthropic client of the same stream gets Anthropic's error event
    fake_upstream.enqueue(Reply(stream=events, break_after=2 if dropped else None, done=not dropped))
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(model="local", max_tokens=10, messages=HI) as stream:
            list(stream)
    still_serves(gw)


@pytest.mark.parametrize(
    "broken",
    [pytest.param(b"caf\xc3", id="raw bytes"), pytest.param(b"caf\\ud83d", id="a lone surrogate escape")],
)
def test_half_a_character_in_a_stream_is_replaced(
    fake_upstream: FakeUpstream, gateway_factory: Any, broken: bytes
) -> None:
    gw = gateway_factory(config(fake_upstream.base_url))
    fake_upstream.enqueue(Reply(stream=[chunk(broken), chunk(" ok", finish="stop")]))
    stream = gw.openai().chat.completions.create(model="local", messages=HI, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "caf\ufffd ok"
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    fake_upstream.enqueue(Reply(stream=[chunk(broken), chunk(" ok", finish="stop")]))
    with client.messages.stream(model="local", max_tokens=10, messages=HI) as anthropic_stream:
        assert "".join(anthropic_stream.text_stream) == "caf\ufffd ok"


@pytest.mark.parametrize("broken", [b"caf\xc3", b"caf\\ud83d"], ids=["raw bytes", "a lone surrogate escape"])
def test_half_a_character_in_an_answer_is_replaced(
    fake_upstream: FakeUpstream, gateway_factory: Any, broken: bytes
) -> None:
    gw = gateway_factory(config(fake_upstream.base_url))
    body = (
        b'{"id":"c1","object":"chat.completion","created":1,"model":"smollm2","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"' + broken + b'"},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}'
    )
    fake_upstream.enqueue(Reply(body=body, headers={"content-type": "application/json"}))
    answer = gw.openai().chat.completions.create(model="local", messages=HI)
    assert answer.choices[0].message.content == "caf\ufffd"
