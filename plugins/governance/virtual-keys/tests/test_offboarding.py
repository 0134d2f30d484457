"""Offboarding across processes: two real ``gateway`` processes share one database (and Redis).

A key blocked or deleted through one process is refused by the other on the very next request:
with Redis the change is pushed before the admin call answers; without Redis the admin call
answers only after one poll interval (``revocation_wait``), by which time every worker has polled.
The model behind both processes is the OpenAI provider pointed at ``FakeUpstream``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from vk_testkit import MASTER, Database

from gateway.testing import FakeUpstream, free_port

pytest.importorskip("gateway_openai", reason="the two processes serve the model through gateway-openai")

GATEWAY_CLI = Path(sys.executable).with_name("gateway")
REDIS_URL = "redis://127.0.0.1:6379/0"


class GatewayProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "LITELLM_SALT_KEY")}
        env.update(GATEWAY_LOAD_PLUGINS="virtual_keys,openai", GATEWAY_LOG_FORMAT="json")
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(GATEWAY_CLI), "--config", str(config), "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited with {self.process.returncode}; see {self.log.name}")
            try:
                if self.http.get("/health/liveliness").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gateway on port {self.port} did not start; see {self.log.name}")

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {MASTER}"})
        assert response.status_code == 200, response.text
        return response.json()

    def chat(self, key: str) -> int:
        return self.http.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        ).status_code

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(params=["poll", "redis"])
def two_gateways(
    request: pytest.FixtureRequest, database: Database, fake_upstream: FakeUpstream, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    settings: dict[str, Any] = {}
    if request.param == "redis":
        settings = {"redis_url": REDIS_URL, "redis_channel": f"vk-test-{uuid.uuid4().hex}"}
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "gpt-4o",
                        "litellm_params": {
                            "model": "openai/gpt-4o",
                            "api_base": fake_upstream.base_url,
                            "api_key": "sk-upstream",
                        },
                    }
                ],
                "general_settings": {"master_key": MASTER, "database_url": database.url},
                "plugins": {"virtual_keys": settings},
            }
        )
    )
    first = GatewayProcess(config, tmp_path / "first.log")
    second = GatewayProcess(config, tmp_path / "second.log")
    try:
        first.wait_ready()
        second.wait_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_offboarding_on_one_process_refuses_the_key_on_the_other(two_gateways: Any) -> None:
    first, second = two_gateways
    key = first.admin("/key/generate", {"user_id": "leaver@", "team_id": "engineering", "models": ["gpt-4o"]})["key"]
    assert second.chat(key) == 200 and first.chat(key) == 200  # the second process learns the new key

    first.admin("/key/block", {"key": key})
    assert second.chat(key) == 401
    first.admin("/key/unblock", {"key": key})

    other = first.admin("/key/generate", {"user_id": "stayer"})["key"]
    assert second.chat(other) == 200
    second.admin("/key/delete", {"keys": [key]})
    assert first.chat(key) == 401
    assert first.chat(other) == 200

    # whole people and teams: all of their keys stop on the other process too
    personal = first.admin("/key/generate", {"user_id": "gone"})["key"]
    team_key = first.admin("/key/generate", {"team_id": "dissolved"})["key"]
    assert second.chat(personal) == 200 and second.chat(team_key) == 200
    first.admin("/user/delete", {"user_ids": ["gone"]})
    assert second.chat(personal) == 401
    first.admin("/team/delete", {"team_ids": ["dissolved"]})
    assert second.chat(team_key) == 401
