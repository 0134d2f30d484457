"""general_settings' security and money controls, over real HTTP with the real SDKs: allowed_ips,
allowed_routes, enforce_user_param and global_max_parallel_requests (per worker, and shared by two
gateways through a real Redis).  Refusals are in the client's own format."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import gateway_anthropic
import gateway_openai
import httpx
import openai
import pytest

from gateway import ConfigError, Gateway, Principal, hookimpl
from gateway.testing import FakeUpstream, Reply, RunningGateway, start_gateway

MASTER = "sk-access-master"
USER_KEY = "sk-access-user"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class UserKeys:
    """A plain (non-admin) caller: the gateway_auth hook is how any auth plugin names one."""

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        if api_key == USER_KEY:
            return Principal(id="user-key", kind="virtual_key")
        return None


PLUGINS: list[Any] = [("openai", gateway_openai), ("anthropic", gateway_anthropic), ("user_keys", UserKeys())]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def start(upstream: FakeUpstream) -> Iterator[Callable[..., RunningGateway]]:
    running: list[RunningGateway] = []
    upstream.script.clear()
    upstream.default = None

    def factory(general: dict[str, Any], **sections: Any) -> RunningGateway:
        config = {
            "model_list": [
                {"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url,
                                                         "api_key": "sk-up"}},
                {"model_name": "embed", "litellm_params": {"model": "openai/text-embedding-3-small",
                                                           "api_base": upstream.base_url, "api_key": "sk-up"}},
            ],
            "general_settings": {"master_key": MASTER, **general},
            **sections,
        }  # fmt: skip
        gw = start_gateway(config, plugins=PLUGINS, load_entrypoints=False)
        running.append(gw)
        return gw

    yield factory
    for gw in running:
        gw.stop()


def chat(gw: RunningGateway, key: str = MASTER, **extra: Any) -> Any:
    return gw.openai(api_key=key).chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "hi"}], **extra
    )


def claude(gw: RunningGateway, key: str = MASTER, **extra: Any) -> Any:
    client = anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)
    return client.messages.create(model="gpt", max_tokens=50, messages=[{"role": "user", "content": "hi"}], **extra)


# ------------------------------------------------------------------------------------------ allowed_ips


def test_a_client_whose_address_is_not_allowed_is_refused_before_auth_in_its_own_format(
    start: Callable[..., RunningGateway], upstream: FakeUpstream
) -> None:
    gw = start({"allowed_ips": ["10.0.0.0/8", "192.168.1.7"]})
    calls = len(upstream.requests)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat(gw)
    assert "IP address 127.0.0.1 not allowed" in refused.value.message
    assert "general_settings.allowed_ips" in refused.value.message
    with pytest.raises(anthropic.PermissionDeniedError) as refused_anthropic:
        claude(gw)
    assert refused_anthropic.value.body["type"] == "error"  # Anthropic's envelope
    assert "not allowed" in refused_anthropic.value.body["error"]["message"]
    # before auth: a missing key is refused for its address, not for the key
    no_key = httpx.post(gw.base_url + "/chat/completions", json={"model": "gpt", "messages": []})
    assert no_key.status_code == 403
    # admin and plugin routes too, OpenAI-shaped, with the request ids
    models = httpx.get(gw.base_url + "/models", headers={"Authorization": f"Bearer {MASTER}"})
    assert models.status_code == 403 and models.json()["error"]["code"] == "403"
    assert models.headers.get("x-litellm-call-id")
    forwarded = httpx.post(
        gw.url + "/openai/v1/chat/completions", json={}, headers={"Authorization": f"Bearer {MASTER}"}
    )
    assert forwarded.status_code == 403  # pass-through routes too
    # the load balancer's probes stay open; they say nothing about the set-up
    assert httpx.get(gw.url + "/health/liveliness").status_code == 200
    assert httpx.get(gw.url + "/health/readiness").status_code == 200
    assert httpx.get(gw.url + "/health", headers={"Authorization": f"Bearer {MASTER}"}).status_code == 403
    assert len(upstream.requests) == calls  # nothing reached the upstream


def test_an_allowed_address_or_network_is_served(start: Callable[..., RunningGateway]) -> None:
    gw = start({"allowed_ips": ["127.0.0.0/8", "::1"]})
    assert chat(gw).choices[0].message.content
    assert httpx.get(gw.base_url + "/models", headers={"Authorization": f"Bearer {MASTER}"}).status_code == 200


def test_an_address_that_is_not_one_stops_start_up_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"general_settings\.allowed_ips\[1\]: .10\.0\.0\.300. is not an IP address"):
        Gateway({"general_settings": {"allowed_ips": ["10.0.0.1", "10.0.0.300"]}}, load_entrypoints=False)


# ------------------------------------------------------------------------------------------ allowed_routes


def test_a_key_that_is_not_an_admin_may_call_only_the_allowed_routes(start: Callable[..., RunningGateway]) -> None:
    gw = start({"allowed_routes": ["/chat/completions"]})
    assert chat(gw, USER_KEY).choices[0].message.content  # /v1/chat/completions: the /v1 form of the entry
    with pytest.raises(openai.PermissionDeniedError) as refused:
        gw.openai(api_key=USER_KEY).embeddings.create(model="embed", input="hi")
    assert "/v1/embeddings is not allowed" in refused.value.message
    assert "general_settings.allowed_routes" in refused.value.message
    with pytest.raises(anthropic.PermissionDeniedError) as refused_anthropic:
        claude(gw, USER_KEY)
    assert refused_anthropic.value.body["error"]["type"] == "permission_error"
    models = httpx.get(gw.base_url + "/models", headers={"Authorization": f"Bearer {USER_KEY}"})
    assert models.status_code == 403
    # a pass-through route too: the key must not reach the provider's whole API around the list
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    forwarded = httpx.post(
        gw.url + "/openai/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {USER_KEY}"}
    )
    assert forwarded.status_code == 403 and "allowed_routes" in forwarded.json()["error"]["message"]
    # the master key is not limited, as in LiteLLM
    assert gw.openai().embeddings.create(model="embed", input="hi").data
    assert httpx.get(gw.base_url + "/models", headers={"Authorization": f"Bearer {MASTER}"}).status_code == 200


def test_litellms_route_groups_and_prefixes_work(start: Callable[..., RunningGateway]) -> None:
    gw = start({"allowed_routes": ["LiteLLMRoutes.llm_api_routes", "/health/*"]})
    assert chat(gw, USER_KEY).choices[0].message.content
    assert gw.openai(api_key=USER_KEY).embeddings.create(model="embed", input="hi").data
    assert claude(gw, USER_KEY).content
    assert httpx.get(gw.base_url + "/models", headers={"Authorization": f"Bearer {USER_KEY}"}).status_code == 200
    assert httpx.get(gw.url + "/health", headers={"Authorization": f"Bearer {USER_KEY}"}).status_code == 403
    assert httpx.get(gw.url + "/health/readiness").status_code == 200
    # LiteLLM counts its vendor pass-through routes as model routes
    forwarded = httpx.post(
        gw.url + "/openai/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {USER_KEY}"},
    )
    assert forwarded.status_code == 200


def test_openai_routes_are_openais_formats_only(start: Callable[..., RunningGateway]) -> None:
    gw = start({"allowed_routes": ["openai_routes"]})
    assert chat(gw, USER_KEY).choices[0].message.content
    assert gw.openai(api_key=USER_KEY).embeddings.create(model="embed", input="hi").data
    with pytest.raises(anthropic.PermissionDeniedError):
        claude(gw, USER_KEY)


def test_an_unknown_route_group_stops_start_up() -> None:
    with pytest.raises(ConfigError, match=r"allowed_routes.*'chat_routes'.*llm_api_routes"):
        Gateway({"general_settings": {"allowed_routes": ["chat_routes"]}}, load_entrypoints=False)


# ------------------------------------------------------------------------------------------ enforce_user_param


def test_a_model_request_without_its_end_user_is_refused_naming_the_field(start: Callable[..., RunningGateway]) -> None:
    gw = start({"enforce_user_param": True})
    with pytest.raises(openai.BadRequestError) as refused:
        chat(gw)
    assert refused.value.status_code == 400
    assert refused.value.body["param"] == "user" and "'user' is required" in refused.value.message
    assert chat(gw, user="alice").choices[0].message.content
    with pytest.raises(openai.BadRequestError):
        gw.openai().embeddings.create(model="embed", input="hi")
    assert gw.openai().embeddings.create(model="embed", input="hi", user="alice").data
    with pytest.raises(anthropic.BadRequestError) as refused_anthropic:
        claude(gw)
    assert refused_anthropic.value.body["error"]["type"] == "invalid_request_error"
    assert "'metadata.user_id' is required" in refused_anthropic.value.body["error"]["message"]
    assert claude(gw, metadata={"user_id": "alice"}).content


# ------------------------------------------------------------------------------------------ global_max_parallel_requests


async def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def _idle(gw: RunningGateway) -> None:
    """The answer reaches the client just before its request's ``finally`` gives the slot back."""
    await _wait_for(lambda: gw.gateway.parallel.in_flight == 0, "the last request to give its slot back")


async def _hold_one_slot(gw: RunningGateway, upstream: FakeUpstream) -> asyncio.Task[Any]:
    """A request the upstream never answers: it holds its slot until its client gives up."""
    upstream.enqueue(Reply(hang=True))
    busy = len(upstream.abandoned)
    client = httpx.AsyncClient(timeout=60)
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hold"}]}
    headers = {"Authorization": f"Bearer {MASTER}"}
    task = asyncio.create_task(client.post(gw.base_url + "/chat/completions", json=body, headers=headers))
    task.add_done_callback(lambda _: asyncio.ensure_future(client.aclose()))
    await _wait_for(lambda: upstream.in_flight >= 1, "the held request to reach the upstream")
    task.busy_before = busy  # type: ignore[attr-defined]
    return task


async def _let_go(task: asyncio.Task[Any], upstream: FakeUpstream) -> None:
    """The held request's client leaves: the gateway cancels the upstream call and frees the slot."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    busy = task.busy_before  # type: ignore[attr-defined]
    await _wait_for(lambda: len(upstream.abandoned) > busy, "the gateway to cancel the held upstream call")


def test_over_the_cap_a_request_gets_429_with_retry_after_and_a_slot_always_comes_back(
    start: Callable[..., RunningGateway], upstream: FakeUpstream
) -> None:
    gw = start({"global_max_parallel_requests": 1})

    async def scenario() -> None:
        held = await _hold_one_slot(gw, upstream)
        with pytest.raises(openai.RateLimitError) as refused:
            await gw.async_openai().chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}])
        assert refused.value.response.headers["retry-after"] == "1"
        assert "global_max_parallel_requests" in refused.value.message
        async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=MASTER, max_retries=0) as client:
            with pytest.raises(anthropic.RateLimitError) as refused_anthropic:
                await client.messages.create(model="gpt", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        assert refused_anthropic.value.body["error"]["type"] == "rate_limit_error"
        # a pass-through call counts against the cap too: it is a model call by another route
        forwarded = await _forward(gw)
        assert forwarded.status_code == 429 and forwarded.headers["retry-after"] == "1"
        await _let_go(held, upstream)
        # the slot came back when the client left; and after each answer, success or failure
        await _wait_for(lambda: upstream.in_flight == 0, "the upstream to finish")
        for reply in (Reply(), Reply(status=400, json={"error": {"message": "bad", "type": "invalid_request_error"}})):
            upstream.enqueue(reply)
            try:
                await gw.async_openai().chat.completions.create(
                    model="gpt", messages=[{"role": "user", "content": "y"}]
                )
            except openai.BadRequestError:
                pass
            await _idle(gw)
        stream = await gw.async_openai().chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": "z"}], stream=True
        )
        assert [chunk async for chunk in stream]
        await _idle(gw)
        assert (await _forward(gw)).status_code == 200  # a forwarded call's slot comes back too
        await _idle(gw)
        assert (await gw.async_openai().embeddings.create(model="embed", input="z")).data

    asyncio.run(scenario())


async def _forward(gw: RunningGateway) -> httpx.Response:
    """A call through the /openai pass-through route."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            gw.url + "/openai/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
            headers={"Authorization": f"Bearer {MASTER}"},
        )


@pytest.fixture
def redis_prefix(monkeypatch: pytest.MonkeyPatch) -> str:
    prefix = f"test-access-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("GATEWAY_ROUTER_REDIS_PREFIX", prefix)
    return prefix


def test_the_cap_is_shared_by_every_instance_through_redis(
    start: Callable[..., RunningGateway], upstream: FakeUpstream, redis_prefix: str
) -> None:
    """Two gateways (two instances) on one Redis: a request in flight on one fills the cap for both;
    a slot whose worker died (its lease no longer renewed) does not block anyone."""
    import redis

    shared = {"router_settings": {"redis_url": REDIS_URL}}
    first = start({"global_max_parallel_requests": 1}, **shared)
    second = start({"global_max_parallel_requests": 1}, **shared)
    assert first.gateway.parallel.shared and second.gateway.parallel.shared

    async def scenario() -> None:
        held = await _hold_one_slot(first, upstream)
        with pytest.raises(openai.RateLimitError):
            await second.async_openai().chat.completions.create(
                model="gpt", messages=[{"role": "user", "content": "x"}]
            )
        await _let_go(held, upstream)
        await _wait_for(lambda: upstream.in_flight == 0, "the upstream to finish")
        # the removal runs in the background after the answer: wait until the set is empty
        store = redis.Redis.from_url(REDIS_URL)
        await _wait_for(lambda: store.zcard(redis_prefix + "parallel") == 0, "the slot to be handed back")
        assert (await second.async_openai().chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": "y"}])).id  # fmt: skip
        await _wait_for(lambda: store.zcard(redis_prefix + "parallel") == 0, "the slot to be handed back")
        # a worker killed mid-request left its slot; its lease ended, so it counts no more
        store.zadd(redis_prefix + "parallel", {"dead-worker:0": 1.0})
        assert (await first.async_openai().chat.completions.create(
            model="gpt", messages=[{"role": "user", "content": "z"}])).id  # fmt: skip
        store.close()

    asyncio.run(scenario())


def test_when_redis_is_unreachable_the_cap_is_not_skipped(start: Callable[..., RunningGateway]) -> None:
    with httpx.Client() as probe:  # a port nobody listens on
        del probe
    gw = start({"global_max_parallel_requests": 5}, router_settings={"redis_url": "redis://127.0.0.1:1/0"})
    with pytest.raises(openai.InternalServerError) as refused:
        chat(gw)
    assert refused.value.status_code == 503
    assert refused.value.response.headers["retry-after"] == "1"
    assert "global_max_parallel_requests" in refused.value.message


@pytest.mark.parametrize(
    ("router", "says"),
    [({}, "per worker"), ({"redis_url": REDIS_URL}, "across every worker and instance")],
)
def test_start_up_says_whether_the_cap_is_shared_or_per_worker(
    tmp_path: Path, router: dict[str, str], says: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "general_settings:\n  global_max_parallel_requests: 50\n"
        + (f"router_settings:\n  redis_url: {router['redis_url']}\n" if router else "")
    )
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai"}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(config)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in (done.stdout + done.stderr).splitlines() if "global_max_parallel_requests" in line)
    assert says in line and "50" in line
