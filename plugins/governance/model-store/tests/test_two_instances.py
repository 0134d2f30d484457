"""Must show: /model/new on instance A is served by instance B, a second gateway process on the
same database and Redis, within a second; /model/update and /model/delete likewise.  The test
polls B until it serves the change (an upper bound of 15 s, far above the 0.5 s poll interval,
so a loaded machine cannot fail it; the time it took is printed, not asserted)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from ms_testkit import MASTER

from gateway.testing import FakeUpstream

pytestmark = pytest.mark.redis
BOUND = 15.0
HEADERS = {"authorization": f"Bearer {MASTER}"}


def chat(url: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=HEADERS, timeout=10)


def until(condition: Callable[[], bool], what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > BOUND:
            pytest.fail(f"{what}: not within {BOUND} s")
        time.sleep(0.02)
    took = time.monotonic() - started
    print(f"{what}: {took:.3f} s")
    return took


def test_a_model_added_on_one_instance_is_served_by_the_other(
    gateway_processes: Any, database_url: str, fake_upstream: FakeUpstream
) -> None:
    second_upstream = FakeUpstream().start()
    try:
        config = {
            "model_list": [
                {
                    "model_name": "yaml-model",
                    "litellm_params": {"model": "openai/y", "api_key": "sk-y", "api_base": fake_upstream.base_url},
                }
            ],
            "general_settings": {"master_key": MASTER, "database_url": database_url, "store_model_in_db": True},
            "router_settings": {"redis_url": "redis://127.0.0.1:6379/0"},
        }
        env = {"GATEWAY_LOAD_PLUGINS": "openai,model_store", "LITELLM_SALT_KEY": "two-instances-salt"}
        a = gateway_processes(config, env=env)
        b = gateway_processes(config, env=env)
        name = f"runtime-{uuid.uuid4().hex[:8]}"
        assert chat(b.url, name).status_code == 404

        body = {
            "model_name": name,
            "litellm_params": {"model": "openai/first", "api_key": "sk-runtime", "api_base": fake_upstream.base_url},
            "model_info": {"id": name},
        }
        created = httpx.post(f"{a.url}/model/new", json=body, headers=HEADERS, timeout=10)
        assert created.status_code == 200, created.text
        assert chat(a.url, name).status_code == 200  # the writing instance serves it before answering
        until(lambda: chat(b.url, name).status_code == 200, "B serves the model A added")
        assert fake_upstream.requests[-1].json["model"] == "first"

        update = {"model_info": {"id": name}, "litellm_params": {"api_base": second_upstream.base_url}}
        assert httpx.post(f"{a.url}/model/update", json=update, headers=HEADERS, timeout=10).status_code == 200
        until(
            lambda: chat(b.url, name).status_code == 200 and len(second_upstream.requests) > 0,
            "B calls the upstream A's update names",
        )

        deleted = httpx.post(f"{a.url}/model/delete", json={"id": name}, headers=HEADERS, timeout=10)
        assert deleted.status_code == 200
        until(lambda: chat(b.url, name).status_code == 404, "B stops routing the model A deleted")
        assert chat(b.url, name).json()["error"]["code"] == "model_not_found"
        assert chat(b.url, "yaml-model").status_code == 200
    finally:
        second_upstream.stop()
