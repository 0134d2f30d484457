"""``GET /health`` calls each deployment (admin keys only), reports why one is unhealthy, never
calls a deployment twice within a window (per fleet with Redis), and background checks take an
unhealthy deployment out of rotation when ``enable_health_check_routing`` is on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway import Principal, hookimpl
from gateway.testing import FakeUpstream, Reply, free_port

from .conftest import MASTER, REDIS_URL

AUTH = {"Authorization": f"Bearer {MASTER}"}
USER_KEY = "sk-health-user"


class UserKeys:
    """A plain (non-admin) key, as any auth plugin names one."""

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        return Principal(id="user-key", kind="virtual_key") if api_key == USER_KEY else None


@pytest.fixture
def upstreams() -> Iterator[dict[str, FakeUpstream]]:
    started = {name: FakeUpstream().start() for name in ("good", "failing", "hanging")}
    started["failing"].default = Reply(status=500, json={"error": {"message": "the model is overloaded"}})
    started["hanging"].default = Reply(hang=True)
    try:
        yield started
    finally:
        for upstream in started.values():
            upstream.stop()


def _deployment(group: str, model_id: str, api_base: str, **model_info: Any) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o", "api_base": api_base, "api_key": "sk-up"},
        "model_info": {"id": model_id, **model_info},
    }


def _four(upstreams: dict[str, FakeUpstream]) -> dict[str, Any]:
    return {
        "model_list": [
            _deployment("answers", "answers", upstreams["good"].base_url),
            _deployment("refuses", "refuses", f"http://127.0.0.1:{free_port()}/v1"),
            _deployment("fails", "fails", upstreams["failing"].base_url),
            _deployment("hangs", "hangs", upstreams["hanging"].base_url, health_check_timeout=1),
            {
                "model_name": "embed",
                "litellm_params": {
                    "model": "openai/text-embedding-3-small",
                    "api_base": upstreams["good"].base_url,
                    "api_key": "sk-up",
                },
                "model_info": {"id": "embed", "mode": "embedding"},
            },
        ],
        "general_settings": {"master_key": MASTER},
    }


def _by_id(health: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["model_id"]: e for e in health["healthy_endpoints"] + health["unhealthy_endpoints"]}


def test_health_calls_each_deployment_and_says_why_one_is_unhealthy(
    upstreams: dict[str, FakeUpstream], gateway_factory: Any
) -> None:
    gw = gateway_factory(_four(upstreams))
    answer = httpx.get(gw.url + "/health", headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    health = answer.json()
    assert [e["model_id"] for e in health["healthy_endpoints"]] == ["answers", "embed"]
    assert health["unhealthy_count"] == 3
    entries = _by_id(health)
    assert entries["answers"]["latency_ms"] >= 0
    assert "could not connect to the upstream of deployment refuses" in entries["refuses"]["error"]
    assert "500" in entries["fails"]["error"] and "overloaded" in entries["fails"]["error"]
    assert entries["hangs"]["error"] == "timed out after 1 s without an answer"
    # the address of an upstream is never in the answer
    assert "127.0.0.1" not in answer.text
    # each deployment got exactly one minimal request through its provider's normal path
    chats = [r for r in upstreams["good"].requests if r.path.endswith("/chat/completions")]
    embeddings = [r for r in upstreams["good"].requests if r.path.endswith("/embeddings")]
    assert len(chats) == 1 and chats[0].json["max_tokens"] == 1 and chats[0].json["model"] == "gpt-4o"
    assert len(embeddings) == 1 and embeddings[0].json["model"] == "text-embedding-3-small"
    assert chats[0].headers["authorization"] == "Bearer sk-up"
    assert len(upstreams["failing"].requests) == 1
    # the hanging call was given up (its connection closed), not left running
    assert len(upstreams["hanging"].requests) == 1

    # asked again within the window: the same results, and no upstream is called again
    again = httpx.get(gw.url + "/health", headers=AUTH, timeout=30).json()
    assert _by_id(again)["answers"]["checked_at"] == entries["answers"]["checked_at"]
    assert len(upstreams["good"].requests) == 2 and len(upstreams["failing"].requests) == 1
    assert len(upstreams["hanging"].requests) == 1


def test_health_of_one_model_and_of_a_model_that_does_not_exist(
    upstreams: dict[str, FakeUpstream], gateway_factory: Any
) -> None:
    gw = gateway_factory(_four(upstreams))
    one = httpx.get(gw.url + "/health", params={"model": "fails"}, headers=AUTH, timeout=30).json()
    assert [e["model_id"] for e in one["unhealthy_endpoints"]] == ["fails"] and one["healthy_count"] == 0
    assert upstreams["good"].requests == [] and upstreams["hanging"].requests == []
    missing = httpx.get(gw.url + "/health", params={"model": "nope"}, headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "model" and "nope" in missing.json()["error"]["message"]


def test_a_key_that_is_not_an_admin_calls_no_upstream(upstreams: dict[str, FakeUpstream], gateway_factory: Any) -> None:
    gw = gateway_factory(_four(upstreams), plugins=[("user_keys", UserKeys())])
    answer = httpx.get(gw.url + "/health", headers={"Authorization": f"Bearer {USER_KEY}"})
    assert answer.status_code == 200, answer.text
    # the router's view: nothing has failed yet, so every deployment it can call is listed healthy
    assert answer.json()["healthy_count"] == 5 and "latency_ms" not in answer.text
    assert all(not u.requests for u in upstreams.values())
    assert httpx.get(gw.url + "/health").status_code == 401


def test_two_instances_on_one_redis_check_each_deployment_once(
    upstreams: dict[str, FakeUpstream], gateway_factory: Any, redis_prefix: str
) -> None:
    config = {
        "model_list": [
            _deployment("answers", "answers", upstreams["good"].base_url),
            _deployment("fails", "fails", upstreams["failing"].base_url),
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"redis_url": REDIS_URL},
    }
    first, second = gateway_factory(config), gateway_factory(config)
    a = httpx.get(first.url + "/health", headers=AUTH, timeout=30).json()
    b = httpx.get(second.url + "/health", headers=AUTH, timeout=30).json()
    assert _by_id(a)["fails"]["error"] == _by_id(b)["fails"]["error"]
    assert _by_id(a)["answers"]["checked_at"] == _by_id(b)["answers"]["checked_at"]
    assert len(upstreams["good"].requests) == 1 and len(upstreams["failing"].requests) == 1


def test_background_checks_take_a_hanging_deployment_out_of_rotation(
    upstreams: dict[str, FakeUpstream], gateway_factory: Any
) -> None:
    config = {
        "model_list": [
            _deployment("gpt-4o", "good", upstreams["good"].base_url),
            _deployment("gpt-4o", "hanging", upstreams["hanging"].base_url, health_check_timeout=1),
        ],
        "general_settings": {"master_key": MASTER, "background_health_checks": True, "health_check_interval": 60},
        "router_settings": {"enable_health_check_routing": True, "num_retries": 0, "timeout": 30},
    }
    gw = gateway_factory(config)
    # the background round started with the gateway; /health waits for its result, calling nothing itself
    health = httpx.get(gw.url + "/health", headers=AUTH, timeout=30).json()
    entries = _by_id(health)
    assert entries["hanging"]["error"] == "timed out after 1 s without an answer"
    assert entries["hanging"]["cooldown_seconds_left"] > 0
    assert len(upstreams["hanging"].requests) == 1
    served = []
    for _ in range(12):
        reply = httpx.post(
            gw.base_url + "/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            headers=AUTH,
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        served.append(reply.headers["x-litellm-model-id"])
    assert set(served) == {"good"}
    assert len(upstreams["hanging"].requests) == 1  # only the health probe ever reached it


def test_without_the_routing_switch_an_unhealthy_deployment_stays_in_rotation(
    upstreams: dict[str, FakeUpstream], gateway_factory: Any
) -> None:
    config = {
        "model_list": [
            _deployment("gpt-4o", "good", upstreams["good"].base_url),
            _deployment("gpt-4o", "failing", upstreams["failing"].base_url),
        ],
        "general_settings": {"master_key": MASTER, "background_health_checks": True, "health_check_interval": 60},
    }
    gw = gateway_factory(config)
    health = httpx.get(gw.url + "/health", headers=AUTH, timeout=30).json()
    assert "cooldown_seconds_left" not in _by_id(health)["failing"]
    assert _by_id(health)["failing"]["error"]


def test_without_details_health_names_the_models_only(upstreams: dict[str, FakeUpstream], gateway_factory: Any) -> None:
    config = _four(upstreams)
    config["general_settings"]["health_check_details"] = False
    gw = gateway_factory(config)
    health = httpx.get(gw.url + "/health", headers=AUTH, timeout=30).json()
    assert health["healthy_endpoints"] == [{"model": "answers"}, {"model": "embed"}]
    assert {"model": "hangs"} in health["unhealthy_endpoints"] and health["unhealthy_count"] == 3


def test_a_health_check_interval_that_is_not_positive_is_refused(gateway_factory: Any) -> None:
    with pytest.raises(Exception, match="health_check_interval"):
        gateway_factory({"general_settings": {"master_key": MASTER, "health_check_interval": 0}})
