"""A hit passes every gateway_post_call hook (an output guardrail sees cached answers too), and what
the cache keeps is the upstream's answer, never one a hook changed for one client."""

from __future__ import annotations

from typing import Any

import pytest
from cache_helpers import REDIS

from gateway import JSONResponseBody, hookimpl

pytestmark = pytest.mark.redis


class Redactor:
    """An output check standing in for a guardrail: it masks a word in every answer it sees."""

    gateway_plugin_name = "redactor"

    def __init__(self) -> None:
        self.seen = 0

    @hookimpl
    def gateway_post_call(self, ctx: Any, response: Any) -> None:
        if isinstance(response, JSONResponseBody):
            self.seen += 1
            message = response.data["choices"][0]["message"]
            message["content"] = message["content"].replace("upstream", "[masked]")
            response.changed()


def test_cached_answers_pass_the_post_call_hooks_and_the_cache_keeps_the_upstreams(
    cache_gateway: Any, fake_upstream: Any, namespace: str
) -> None:
    import redis

    redactor = Redactor()
    gw = cache_gateway({"type": "redis", **REDIS, "namespace": namespace}, extra=(redactor,))
    client = gw.openai()
    messages = [{"role": "user", "content": "say it"}]
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
    first = raw.parse()
    second = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert len(fake_upstream.requests) == 1
    assert redactor.seen == 2
    assert first.choices[0].message.content == second.choices[0].message.content == "Hello from the fake [masked]."
    # the stored entry is the upstream's own answer: each client's copy is checked again
    entry = redis.Redis(**REDIS).get(raw.headers["x-litellm-cache-key"])
    assert entry is not None and b"Hello from the fake upstream." in entry
