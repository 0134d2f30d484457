"""Tenant isolation, LiteLLM's per-request and per-key controls, the admin routes, bad input."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest
from cache_helpers import MASTER, REDIS

pytestmark = pytest.mark.redis


def ask(gw: Any, key: str = MASTER, content: str = "hello", model: str = "gpt-4o", **extra: Any) -> Any:
    return gw.openai(api_key=key).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], **extra
    )


def test_team_a_answer_is_not_served_to_team_b_unless_the_model_group_is_global(
    cache_gateway: Any, fake_upstream: Any, namespace: str
) -> None:
    gw = cache_gateway(
        {"type": "redis", **REDIS, "namespace": namespace}, plugin={"global_model_groups": ["shared-model"]}
    )
    ask(gw, "sk-team-a-1")
    ask(gw, "sk-team-a-2")  # another key of team A: the team's entry
    assert len(fake_upstream.requests) == 1
    ask(gw, "sk-team-b-1")
    assert len(fake_upstream.requests) == 2, "team A's answer was served to team B"
    ask(gw, "sk-solo-1")
    ask(gw, "sk-solo-2")  # keys without a team: each its own
    assert len(fake_upstream.requests) == 4

    # the opted-in model group: one entry for every tenant
    ask(gw, "sk-team-a-1", model="shared-model")
    ask(gw, "sk-team-b-1", model="shared-model")
    ask(gw, "sk-solo-1", model="shared-model")
    assert len(fake_upstream.requests) == 5


def test_request_controls_as_litellm_documents_them(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    gw = cache_gateway({"type": "redis", **REDIS, "namespace": namespace})
    ask(gw)
    assert len(fake_upstream.requests) == 1
    ask(gw, extra_body={"cache": {"no-cache": True}})  # not read, but stored again
    assert len(fake_upstream.requests) == 2
    ask(gw, extra_body={"cache": {"namespace": "other"}})  # another namespace: its own entries
    ask(gw, extra_body={"cache": {"namespace": "other"}})
    assert len(fake_upstream.requests) == 3
    ask(gw, extra_body={"cache": {"s-maxage": 0.000001}})  # only fresher entries are accepted
    assert len(fake_upstream.requests) == 4
    ask(gw, content="kept briefly", extra_body={"cache": {"ttl": 0.001}})
    import time

    time.sleep(0.05)
    ask(gw, content="kept briefly")
    assert len(fake_upstream.requests) == 6  # the entry had expired
    ask(gw)
    assert len(fake_upstream.requests) == 6


def test_per_key_metadata_cache_settings(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    gw = cache_gateway({"type": "redis", **REDIS, "namespace": namespace})
    ask(gw, "sk-solo-nostore")  # the key's metadata says {"cache": {"no-store": true}}
    ask(gw, "sk-solo-nostore")
    assert len(fake_upstream.requests) == 2


def test_default_off_mode_caches_only_what_asks_for_it(cache_gateway: Any, fake_upstream: Any) -> None:
    gw = cache_gateway({"type": "local", "mode": "default_off"})
    ask(gw)
    ask(gw)
    assert len(fake_upstream.requests) == 2
    ask(gw, extra_body={"cache": {"use-cache": True}})
    ask(gw, extra_body={"cache": {"use-cache": True}})
    assert len(fake_upstream.requests) == 3


def test_bad_controls_are_a_400_in_the_clients_format(cache_gateway: Any, fake_upstream: Any) -> None:
    gw = cache_gateway({"type": "local"})
    for bad, param in (
        ({"ttl": "soon"}, "cache.ttl"),
        ({"no-cache": "yes"}, "cache.no-cache"),
        ({"namespace": ""}, "cache.namespace"),
        ({"nocache": True}, "cache.nocache"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            ask(gw, extra_body={"cache": bad})
        assert caught.value.body["param"] == param  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as refused:
        anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0).messages.create(
            model="gpt-4o",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"cache": {"ttl": -1}},
        )
    assert refused.value.body["type"] == "error"  # type: ignore[index]
    assert "cache.ttl" in refused.value.body["error"]["message"]  # type: ignore[index]
    assert len(fake_upstream.requests) == 0


def test_an_answer_over_the_maximum_is_not_stored(cache_gateway: Any, fake_upstream: Any) -> None:
    gw = cache_gateway({"type": "local"}, plugin={"max_entry_bytes": 200})
    ask(gw)
    ask(gw)
    assert len(fake_upstream.requests) == 2
    assert gw.gateway.state["cache"].stats.counts["too_large"] == 2


def test_cache_ping_and_delete_are_admin_only(cache_gateway: Any, fake_upstream: Any, namespace: str) -> None:
    gw = cache_gateway({"type": "redis", **REDIS, "namespace": namespace})
    key = ask(gw).headers["x-litellm-cache-key"]
    member = {"Authorization": "Bearer sk-team-a-1"}
    admin = {"Authorization": f"Bearer {MASTER}"}
    assert httpx.get(gw.url + "/cache/ping", headers=member).status_code == 403
    assert httpx.post(gw.url + "/cache/delete", json={"keys": [key]}, headers=member).status_code == 403
    ping = httpx.get(gw.url + "/cache/ping", headers=admin)
    assert ping.status_code == 200 and ping.json()["status"] == "healthy" and ping.json()["cache_type"] == "redis"

    refused = httpx.post(gw.url + "/cache/delete", json={"keys": "all"}, headers=admin)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "keys"
    foreign = httpx.post(gw.url + "/cache/delete", json={"keys": ["session:1"]}, headers=admin)
    assert foreign.status_code == 400
    deleted = httpx.post(gw.url + "/cache/delete", json={"keys": [key]}, headers=admin)
    assert deleted.status_code == 200 and deleted.json() == {"status": "success", "deleted": 1}
    ask(gw)
    assert len(fake_upstream.requests) == 2  # deleted: a miss


def test_unsupported_cache_types_are_a_start_up_error(gateway_factory: Any) -> None:
    import gateway_cache

    from gateway import ConfigError

    with pytest.raises(ConfigError, match="'qdrant-semantic' is not served by gateway-cache"):
        gateway_factory(
            {
                "model_list": [],
                "litellm_settings": {"cache": True, "cache_params": {"type": "qdrant-semantic"}},
            },
            plugins=[("cache", gateway_cache)],
            load_entrypoints=False,
        )


def test_embeddings_completions_and_the_responses_api_are_cached(cache_gateway: Any, fake_upstream: Any) -> None:
    import gateway_responses

    gw = cache_gateway({"type": "local"}, extra=(("responses", gateway_responses),))
    client = gw.openai()
    first = client.embeddings.create(model="gpt-4o", input=["a", "b"])
    again = client.embeddings.create(model="gpt-4o", input=["a", "b"])
    assert again.data[1].embedding == first.data[1].embedding
    assert len(fake_upstream.requests) == 1
    text = client.completions.create(model="gpt-4o", prompt="once upon")
    assert client.completions.create(model="gpt-4o", prompt="once upon").choices[0].text == text.choices[0].text
    assert len(fake_upstream.requests) == 2

    # a chat answer serves the same conversation asked through the Responses API
    chat = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "respond"}])
    response = client.responses.create(model="gpt-4o", input="respond", store=False)
    assert response.output_text == chat.choices[0].message.content
    assert len(fake_upstream.requests) == 3
