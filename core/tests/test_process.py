"""The gateway as an operator runs it: the CLI, real processes, signals, client disconnects."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from gateway import fake_openai
from gateway.testing import FakeUpstream, Reply, free_port

from .conftest import MASTER, openai_config

GATEWAY = str(Path(sys.executable).with_name("gateway"))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GATEWAY, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_check_config_accepts_a_good_file_and_explains_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("model_list:\n  - model_name: gpt-4o\n    litellm_params: {model: mock/gpt-4o}\n")
    ok = run_cli("check-config", str(good))
    assert ok.returncode == 0 and "1 deployments in 1 model groups: gpt-4o" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list:\n  - model_name: gpt-4o\n    litellm_params: {model: mock/gpt-4o, tpm: many}\n")
    failed = run_cli("check-config", str(bad))
    assert failed.returncode == 2
    assert "bad.yaml line 3: model_list[0].litellm_params.tpm" in failed.stderr


def test_plugins_command_lists_plugins_and_their_hooks() -> None:
    out = run_cli("plugins")
    assert out.returncode == 0
    assert "openai" in out.stdout and "gateway-openai" in out.stdout
    assert "hooks: gateway_register_providers" in out.stdout


class GatewayProcess:
    """``gateway --config ... --port ...`` as a child process."""

    def __init__(self, config: dict[str, Any], tmp_path: Path, *extra: str) -> None:
        self.port = free_port()
        path = tmp_path / f"config-{self.port}.yaml"
        path.write_text(yaml.safe_dump(config))
        self.proc = subprocess.Popen(
            [GATEWAY, "--config", str(path), "--port", str(self.port), *extra],
            env={**os.environ, "GATEWAY_LOAD_PLUGINS": "openai,mock"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started = time.monotonic()
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/health/readiness", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start: {self.proc.stdout.read() if self.proc.stdout else ''}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=MASTER, max_retries=0)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return out


@pytest.fixture
def process_factory(tmp_path: Path) -> Any:
    started: list[GatewayProcess] = []

    def factory(config: dict[str, Any], *extra: str) -> GatewayProcess:
        process = GatewayProcess(config, tmp_path, *extra)
        started.append(process)
        return process

    yield factory
    for process in started:
        process.stop()


def test_graceful_shutdown_lets_an_in_flight_stream_finish(fake_upstream: FakeUpstream, process_factory: Any) -> None:
    gateway = process_factory(openai_config(fake_upstream))
    content = "one two three four five six seven eight"
    chunks = list(fake_openai.chat_chunks("gpt-4o", content, prompt=3, pieces=8))
    fake_upstream.enqueue(Reply(stream=chunks, chunk_delay=0.15))
    received: list[str] = []
    stream = gateway.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    )
    iterator = iter(stream)
    received.append(next(iterator).choices[0].delta.content or "")
    gateway.proc.send_signal(signal.SIGTERM)  # mid-stream
    for chunk in iterator:
        if chunk.choices:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == content
    gateway.proc.wait(timeout=30)
    # uvicorn re-raises SIGTERM once shutdown is complete, so the exit status names the signal
    assert gateway.proc.returncode in (0, -signal.SIGTERM)


def test_two_workers_serve(fake_upstream: FakeUpstream, process_factory: Any) -> None:
    gateway = process_factory(openai_config(fake_upstream), "--workers", "2")
    client = gateway.client()
    for _ in range(10):
        assert client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}]).choices


def test_client_disconnect_mid_stream_releases_the_upstream(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(openai_config(fake_upstream))
    # an upstream stream that would take 100 s to finish
    slow = list(fake_openai.chat_chunks("gpt-4o", "x" * 200, prompt=3, pieces=100))
    for _ in range(5):
        fake_upstream.enqueue(Reply(stream=slow, chunk_delay=1.0))
    for _ in range(5):
        with httpx.stream(
            "POST",
            proxy.base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {MASTER}"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True},
            timeout=10,
        ) as response:
            next(response.iter_raw())  # first bytes arrived; now hang up
    loop = proxy.server.loop
    assert loop is not None

    def gateway_state() -> tuple[int, int]:
        done = threading.Event()
        result: list[int] = []

        def probe() -> None:
            connector = proxy.gateway.upstream.session.connector
            result.extend([len(connector._acquired), len(asyncio.all_tasks(loop))])
            done.set()

        loop.call_soon_threadsafe(probe)
        done.wait(5)
        return result[0], result[1]

    deadline = time.monotonic() + 10
    while gateway_state()[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    acquired, tasks = gateway_state()
    assert acquired == 0, "every upstream connection was released after the clients left"
    assert tasks < 10, f"no tasks left behind by abandoned streams ({tasks} running)"
    # and the worker keeps serving
    assert proxy.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}]).choices
