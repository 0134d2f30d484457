"""Two gateways (two workers' worth of state) sharing Redis: an answer one stored, the other serves,
to OpenAI and Anthropic clients, streaming or not, without touching the upstream again."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import httpx
import pytest
from cache_helpers import MASTER, REDIS

pytestmark = pytest.mark.redis

QUESTION = "What is the capital of France?"


def _chat(client: Any, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": QUESTION}], **kwargs
    )


def _anthropic(gw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)


def test_second_gateway_serves_what_the_first_stored_in_both_formats_and_streams(
    cache_gateway: Any, fake_upstream: Any, namespace: str
) -> None:
    params = {"type": "redis", **REDIS, "namespace": namespace}
    first, second = cache_gateway(params), cache_gateway(params)

    stored = _chat(first.openai())
    assert len(fake_upstream.requests) == 1

    raw = second.openai().chat.completions.with_raw_response.create(
        model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": QUESTION}]
    )
    served = raw.parse()
    assert len(fake_upstream.requests) == 1, "the second gateway called the upstream"
    assert served.choices[0].message.content == stored.choices[0].message.content
    assert served.id != stored.id  # every answer has its own id (the ledger finds it by it)
    assert served.usage.total_tokens == stored.usage.total_tokens
    assert raw.headers["x-litellm-cache-key"].startswith(namespace + ":")

    # the same conversation from an Anthropic client, plain and streamed
    message = _anthropic(second).messages.create(
        model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": QUESTION}]
    )
    assert message.content[0].text == stored.choices[0].message.content
    assert message.usage.output_tokens == stored.usage.completion_tokens
    with _anthropic(first).messages.stream(
        model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": QUESTION}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == stored.choices[0].message.content
    assert final.usage.output_tokens == stored.usage.completion_tokens

    # an OpenAI stream, with its usage chunk
    chunks = list(_chat(second.openai(), stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == stored.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == stored.usage.total_tokens
    assert len(fake_upstream.requests) == 1, "a cached answer was not replayed"


def test_a_streamed_answer_is_stored_and_serves_plain_requests_and_the_other_way(
    cache_gateway: Any, fake_upstream: Any, namespace: str
) -> None:
    params = {"type": "redis", **REDIS, "namespace": namespace}
    first, second = cache_gateway(params), cache_gateway(params)
    streamed = "".join(c.choices[0].delta.content or "" for c in _chat(first.openai(), stream=True) if c.choices)
    assert len(fake_upstream.requests) == 1
    plain = _chat(second.openai())
    assert plain.choices[0].message.content == streamed
    assert plain.usage is not None and plain.usage.completion_tokens > 0  # the stream's usage was kept
    assert len(fake_upstream.requests) == 1

    other = [{"role": "user", "content": "Another question"}]
    stored = first.openai().chat.completions.create(model="gpt-4o", messages=other)
    replayed = list(second.openai().chat.completions.create(model="gpt-4o", messages=other, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in replayed if c.choices) == stored.choices[0].message.content
    assert replayed[-1].choices[0].finish_reason == "stop"
    assert len(fake_upstream.requests) == 2


def test_fifty_identical_concurrent_requests_make_one_upstream_call(
    cache_gateway: Any, fake_upstream: Any, namespace: str
) -> None:
    from gateway import fake_openai
    from gateway.testing import Reply

    # a slow upstream: every request arrives while the first is still waiting for its answer
    fake_upstream.default = lambda request: Reply(
        json=fake_openai.chat_completion("gpt-4o", "the one answer", prompt=5), delay=0.5
    )
    params = {"type": "redis", **REDIS, "namespace": namespace}
    gateways = [cache_gateway(params), cache_gateway(params)]

    async def run() -> list[Any]:
        clients = [gw.async_openai(timeout=30) for gw in gateways]
        calls = [
            clients[i % 2].chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "stampede"}])
            for i in range(50)
        ]
        return await asyncio.gather(*calls)

    answers = asyncio.run(run())
    assert {a.choices[0].message.content for a in answers} == {"the one answer"}
    assert len(fake_upstream.requests) == 1


def test_no_store_is_honoured_under_single_flight(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    from gateway import fake_openai
    from gateway.testing import Reply

    fake_upstream.default = lambda request: Reply(
        json=fake_openai.chat_completion("gpt-4o", "fresh", prompt=5), delay=0.3
    )
    gw = cache_gateway({"type": "redis", **REDIS, "namespace": namespace})
    messages = [{"role": "user", "content": "do not keep this"}]

    async def run() -> None:
        client = gw.async_openai(timeout=30)
        await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="gpt-4o", messages=messages, extra_body={"cache": {"no-store": True}}
                )
                for _ in range(5)
            )
        )

    asyncio.run(run())
    assert len(fake_upstream.requests) == 5  # none led, none waited on another's answer that is not kept
    gw.openai().chat.completions.create(model="gpt-4o", messages=messages)
    assert len(fake_upstream.requests) == 6, "a no-store answer was stored"
    gw.openai().chat.completions.create(model="gpt-4o", messages=messages)
    assert len(fake_upstream.requests) == 6


def test_redis_down_bypasses_the_cache_and_counts(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    from gateway.testing import free_port

    gw = cache_gateway({"type": "redis", "host": "127.0.0.1", "port": free_port(), "namespace": namespace})
    for _ in range(3):
        answer = _chat(gw.openai())
        assert answer.choices[0].message.content
    assert len(fake_upstream.requests) == 3
    stats = gw.gateway.state["cache"].stats
    # the first request found Redis down (once: it did not ask again); the next ones did not wait on it
    assert stats.counts["backend_errors"] == 1
    assert stats.counts["bypassed"] == 2
    stream = list(_chat(gw.openai(), stream=True))
    assert stream[-1].choices[0].finish_reason == "stop"
    ping = httpx.get(gw.url + "/cache/ping", headers={"Authorization": f"Bearer {MASTER}"})
    assert ping.status_code == 503
    assert "does not answer" in ping.json()["error"]["message"]


def test_corrupt_or_foreign_entries_are_misses(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    import redis

    gw = cache_gateway({"type": "redis", **REDIS, "namespace": namespace})
    raw = gw.openai().chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
    )
    key = raw.headers["x-litellm-cache-key"]
    client = redis.Redis(**REDIS)
    for bad in (b"not json", b'{"v": 1, "k": "embeddings", "t": 1, "d": {}}', b'{"v": 99}', b"[1, 2]"):
        client.set(key, bad)
        answer = gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
        assert answer.choices[0].message.content == fake_upstream.content
    client.close()
    assert len(fake_upstream.requests) == 5  # one store, four misses (each stored again)


def test_waiting_for_the_leader_is_bounded(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    from gateway import fake_openai
    from gateway.testing import Reply

    # the leader's upstream takes far longer than the followers agree to wait
    fake_upstream.default = lambda request: Reply(json=fake_openai.chat_completion("gpt-4o", "slow", prompt=5), delay=2)
    gw = cache_gateway(
        {"type": "redis", **REDIS, "namespace": namespace}, plugin={"single_flight_timeout_seconds": 0.1}
    )

    async def run() -> list[Any]:
        client = gw.async_openai(timeout=30)
        ask = [{"role": "user", "content": "slow one"}]
        return await asyncio.gather(*(client.chat.completions.create(model="gpt-4o", messages=ask) for _ in range(3)))

    answers = asyncio.run(run())
    assert [a.choices[0].message.content for a in answers] == ["slow"] * 3
    assert len(fake_upstream.requests) == 3  # the waiters gave up and called the upstream themselves
    assert gw.gateway.state["cache"].stats.counts["single_flight_timeouts"] == 2
