"""The OpenAI-compatible surface, driven by the official openai SDK against a running gateway."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from gateway import fake_openai
from gateway.testing import FakeUpstream, Reply

from .conftest import MASTER, openai_config

MESSAGES = [{"role": "user", "content": "Say hello"}]


def test_chat_completion_returns_upstream_answer_and_usage(proxy: Any, fake_upstream: FakeUpstream) -> None:
    reply = proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == fake_upstream.content
    assert reply.usage.prompt_tokens == fake_openai.prompt_tokens(MESSAGES)
    assert reply.usage.completion_tokens == fake_openai.count_tokens(fake_upstream.content)


def test_gateway_only_fields_never_reach_the_upstream(proxy: Any, fake_upstream: FakeUpstream) -> None:
    proxy.openai().chat.completions.create(
        model="gpt-4o", messages=MESSAGES, user="end-user-1", extra_body={"metadata": {"team": "x"}, "fallbacks": ["a"]}
    )
    sent = fake_upstream.requests[-1].json
    assert sent["user"] == "end-user-1"
    assert "metadata" not in sent and "fallbacks" not in sent


def test_streaming_reassembles_exactly_and_ends_with_done(proxy: Any, fake_upstream: FakeUpstream) -> None:
    stream = proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake_upstream.content
    # the client did not ask for usage: the usage-only chunk the gateway requested upstream is hidden
    assert all(c.usage is None for c in chunks)
    assert fake_upstream.requests[-1].json["stream_options"] == {"include_usage": True}

    raw = httpx.post(
        proxy.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {MASTER}"},
        json={"model": "gpt-4o", "messages": MESSAGES, "stream": True},
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_streaming_usage_chunk_when_the_client_asks(proxy: Any, fake_upstream: FakeUpstream) -> None:
    stream = proxy.openai().chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == fake_openai.count_tokens(fake_upstream.content)
    assert chunks[-1].usage.prompt_tokens == fake_openai.prompt_tokens(MESSAGES)


def test_embeddings_and_text_completions(proxy: Any, fake_upstream: FakeUpstream) -> None:
    client = proxy.openai()
    emb = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [d.embedding for d in emb.data] == [fake_openai.embedding_vector("a"), fake_openai.embedding_vector("b")]
    assert fake_upstream.requests[-1].path == "/v1/embeddings"
    text = client.completions.create(model="gpt-4o", prompt="Once upon a time")
    assert text.choices[0].text == fake_upstream.content
    assert fake_upstream.requests[-1].path == "/v1/completions"


def test_models_list_names_every_model_group(proxy: Any) -> None:
    ids = sorted(m.id for m in proxy.openai().models.list())
    assert ids == ["gpt-4o", "text-embedding-3-small"]


def test_every_response_carries_a_request_id(proxy: Any) -> None:
    ok = httpx.get(proxy.url + "/health/liveliness")
    missing = httpx.get(proxy.url + "/nowhere")
    denied = httpx.post(proxy.base_url + "/chat/completions", json={})
    ids = {r.headers["x-request-id"] for r in (ok, missing, denied)}
    assert len(ids) == 3 and all(i.startswith("req_") for i in ids)
    echoed = httpx.get(proxy.url + "/health/liveliness", headers={"x-request-id": "trace-abc.1"})
    assert echoed.headers["x-request-id"] == "trace-abc.1"
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


# --------------------------------------------------------------------------- client errors


def test_no_key_and_wrong_key_are_401(proxy: Any) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        proxy.openai(api_key="sk-wrong").chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert wrong.value.status_code == 401
    none = httpx.post(proxy.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES})
    assert none.status_code == 401 and "No api key" in none.json()["error"]["message"]
    malformed = httpx.post(
        proxy.base_url + "/chat/completions",
        headers={"Authorization": MASTER},
        json={"model": "gpt-4o", "messages": MESSAGES},
    )
    assert malformed.status_code == 401 and "Bearer" in malformed.json()["error"]["message"]


def test_unknown_model_is_404(proxy: Any) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        proxy.openai().chat.completions.create(model="nope", messages=MESSAGES)
    assert err.value.body["param"] == "model"
    assert "/v1/models" in err.value.body["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"model": "gpt-4o"}', "'messages' is required"),
        (b'{"model": "gpt-4o", "messages": "hi"}', "'messages' must be a list"),
        (b'{"model": "gpt-4o", "messages": []}', "'messages' is empty"),
        (b'{"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}', "messages[0].role"),
        (b'{"model": "gpt-4o", "messages": [{"role": ["user"], "content": "x"}]}', "messages[0].role"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "n": true}', "'n' must be an integer"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "n": -2}', "'n' must be at least 1"),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}',
            "'temperature' must be a number",
        ),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
            "'max_tokens' must be at least 1",
        ),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "'model' is required"),
    ],
)
def test_bad_bodies_are_400_with_a_message_that_says_the_fix(proxy: Any, body: bytes, fragment: str) -> None:
    resp = httpx.post(proxy.base_url + "/chat/completions", headers={"Authorization": f"Bearer {MASTER}"}, content=body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert fragment in error["message"]
    assert error["type"] == "invalid_request_error" and error["code"] == "400"


def test_sdk_raises_bad_request_for_a_wrong_type(proxy: Any) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_body={"n": "two"})
    assert err.value.body["param"] == "n"


def test_oversized_body_is_413(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(
        openai_config(fake_upstream, general_settings={"master_key": MASTER, "max_request_size_mb": 0.01})
    )
    big = "x" * 20_000
    with pytest.raises(openai.APIStatusError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": big}])
    assert err.value.status_code == 413
    assert "max_request_size_mb" in err.value.body["message"]
    assert fake_upstream.requests == []
    # still serving
    assert proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES).choices


# --------------------------------------------------------------------------- upstream errors


def _one_try(upstream: FakeUpstream, **settings: Any) -> dict[str, Any]:
    return openai_config(upstream, router_settings={"num_retries": 0, **settings})


def test_upstream_429_passes_on_with_retry_after(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(_one_try(fake_upstream))
    fake_upstream.enqueue(Reply(status=429, json={"error": {"message": "slow down"}}, headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.response.headers["retry-after"] == "7"
    assert "slow down" in err.value.body["message"]


def test_upstream_5xx_is_retried_then_passed_on(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream, router_settings={"num_retries": 1}))
    fake_upstream.enqueue(Reply(status=503, json={"error": {"message": "overloaded"}}))
    ok = proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert ok.choices[0].message.content == fake_upstream.content
    assert len(fake_upstream.requests) == 2

    fake_upstream.enqueue(*[Reply(status=500, body=b"<html>oops</html>")] * 2)
    with pytest.raises(openai.InternalServerError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.status_code == 500
    assert "oops" in err.value.body["message"] and "2 attempts" in err.value.body["message"]


def test_upstream_400_is_not_retried(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream, router_settings={"num_retries": 3}))
    fake_upstream.enqueue(
        Reply(status=400, json={"error": {"message": "bad tool schema", "type": "invalid_request_error"}})
    )
    with pytest.raises(openai.BadRequestError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert "bad tool schema" in err.value.body["message"]
    assert len(fake_upstream.requests) == 1


def test_upstream_that_hangs_gives_a_timeout_error(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    config = _one_try(fake_upstream)
    config["model_list"][0]["litellm_params"]["timeout"] = 0.5
    proxy = gateway_factory(config)
    fake_upstream.enqueue(Reply(hang=True))
    with pytest.raises(openai.APIStatusError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.status_code == 504
    assert err.value.body["type"] == "timeout" and "did not answer" in err.value.body["message"]
    assert proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES).choices


def test_upstream_non_json_answer(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(_one_try(fake_upstream))
    fake_upstream.enqueue(Reply(status=200, body=b"<html>proxy login page</html>"))
    with pytest.raises(openai.InternalServerError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert err.value.status_code == 502 and "not JSON" in err.value.body["message"]


def test_upstream_unreachable(gateway_factory: Any) -> None:
    from gateway.testing import free_port

    config = {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": f"http://127.0.0.1:{free_port()}/v1"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }
    proxy = gateway_factory(config)
    with pytest.raises(openai.InternalServerError) as err:
        proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert "could not connect" in err.value.body["message"]
    assert "sk-" not in err.value.body["message"]


def _chunks(content: str) -> list[dict[str, Any]]:
    return list(fake_openai.chat_chunks("gpt-4o", content, prompt=3))


def test_stream_closed_early_ends_with_an_error_event(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(_one_try(fake_upstream))
    fake_upstream.enqueue(Reply(stream=_chunks("abcdefghij"), break_after=3, done=False))
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received, "chunks sent before the break reach the client"
    assert "closed the stream early" in str(err.value.message)


def test_broken_sse_event_ends_with_an_error_event(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(_one_try(fake_upstream))
    events: list[Any] = _chunks("hello")[:2] + [b"data: {this is not json\n\n"]
    fake_upstream.enqueue(Reply(stream=events))
    with pytest.raises(openai.APIError) as err:
        list(proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "not JSON" in str(err.value.message)
    # the worker keeps serving
    assert proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES).choices


def test_stream_without_done_ends_cleanly(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(_one_try(fake_upstream))
    fake_upstream.enqueue(Reply(stream=_chunks("complete text"), done=False))
    chunks = list(proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "complete text"


def test_stream_start_failure_is_retried_on_another_attempt(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream, router_settings={"num_retries": 1}))
    fake_upstream.enqueue(Reply(status=502, body=b"bad gateway"))
    chunks = list(proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == fake_upstream.content
    assert len(fake_upstream.requests) == 2
