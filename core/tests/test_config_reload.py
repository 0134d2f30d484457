"""Reloading the config file without a restart (SIGHUP, POST /config/reload), on a real ``gateway``
process: under load no request fails and a stream in flight completes on the deployment it started
on, even when the new file removes its model; a malformed file keeps the running config, is logged
and shows on /health/readiness/details; with ``--workers 2`` every worker reloads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway import fake_openai
from gateway.testing import FakeUpstream, Reply, free_port

MASTER = "sk-reload-master-0123456789"
HEADERS = {"authorization": f"Bearer {MASTER}"}
GATEWAY = str(Path(sys.executable).parent / "gateway")
#: an upper bound for "eventually": far above what a reload takes, so a loaded machine cannot fail it
BOUND = 20.0


def entry(name: str, upstream: FakeUpstream) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {"model": f"openai/{name}", "api_base": upstream.base_url, "api_key": "k"},
    }


def config(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"model_list": list(entries), "general_settings": {"master_key": MASTER}}


class Served:
    def __init__(self, tmp_path: Path, first: dict[str, Any], *extra: str) -> None:
        self.port = free_port()
        self.config_path = tmp_path / "gateway.yaml"
        self.config_path.write_text(yaml.safe_dump(first))
        self.log_path = tmp_path / "gateway.log"
        env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai", "GATEWAY_LOG_FORMAT": "json"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [GATEWAY, "--config", str(self.config_path), "--port", str(self.port), *extra],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        until(self.ready, "the gateway starts")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"gateway exited:\n{self.log()[-3000:]}")
        try:
            return httpx.get(self.url + "/health/readiness", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rewrite(self, content: dict[str, Any] | str) -> None:
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_path)  # whole, as an editor or a deploy tool writes it

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {BOUND} s")
        time.sleep(0.05)


def chat(url: str, model: str, client: httpx.Client | None = None) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if client is not None:
        return client.post(f"{url}/v1/chat/completions", json=body, headers=HEADERS)
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=HEADERS, timeout=10)


class Load:
    """Requests to one model group, back to back, until stopped: on a kept-alive connection and on
    new ones in turn; every status is kept."""

    def __init__(self, url: str, model: str) -> None:
        self.url, self.model = url, model
        self.statuses: list[int | str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=10) as kept:
            while not self._stop.is_set():
                for client in (kept, None):
                    try:
                        self.statuses.append(chat(self.url, self.model, client).status_code)
                    except httpx.HTTPError as exc:
                        self.statuses.append(type(exc).__name__)

    def stop(self) -> list[int | str]:
        self._stop.set()
        self._thread.join(30)
        return self.statuses


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(first: dict[str, Any], *extra: str) -> Served:
        process = Served(tmp_path, first, *extra)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def readiness_config(url: str) -> dict[str, Any]:
    answer = httpx.get(url + "/health/readiness/details", headers=HEADERS, timeout=10)
    config_part: dict[str, Any] = answer.json()["config"]
    return config_part


def test_sighup_under_load_fails_no_request_and_a_stream_in_flight_completes(
    served: Callable[..., Served], fake_upstream: FakeUpstream
) -> None:
    slow_upstream = FakeUpstream().start()
    try:
        gateway = served(config(entry("steady", fake_upstream), entry("slow", slow_upstream)))
        content = "one two three four five six seven eight nine ten"
        chunks = list(fake_openai.chat_chunks("slow", content, prompt=3, pieces=10))
        slow_upstream.enqueue(Reply(stream=chunks, chunk_delay=0.3))
        load = Load(gateway.url, "steady")
        received: list[str] = []
        body = {"model": "slow", "messages": [{"role": "user", "content": "x"}], "stream": True}
        with httpx.stream(
            "POST", gateway.url + "/v1/chat/completions", json=body, headers=HEADERS, timeout=30
        ) as stream:
            lines = stream.iter_lines()
            received.append(next(line for line in lines if line.startswith("data: ")))
            # the new file drops the streaming model's group and adds one
            gateway.rewrite(config(entry("steady", fake_upstream), entry("added", fake_upstream)))
            gateway.proc.send_signal(signal.SIGHUP)
            until(lambda: chat(gateway.url, "added").status_code == 200, "the reloaded file's new model is served")
            received += [line for line in lines if line.startswith("data: ")]
        text = "".join(
            chunk["choices"][0]["delta"].get("content") or ""
            for chunk in (httpx.Response(200, content=line[6:]).json() for line in received if line != "data: [DONE]")
            if chunk.get("choices")
        )
        assert text == content and received[-1] == "data: [DONE]"
        assert chat(gateway.url, "slow").json()["error"]["code"] == "model_not_found"

        # a malformed file: the running config stays, the error is logged and reported
        gateway.rewrite("model_list: [\n  - model_name: broken\n")
        gateway.proc.send_signal(signal.SIGHUP)
        until(lambda: readiness_config(gateway.url).get("status") == "reload_failed", "the failed reload is reported")
        report = readiness_config(gateway.url)
        assert "not valid YAML" in report["error"]
        assert httpx.get(gateway.url + "/health/readiness/details", headers=HEADERS).status_code == 200
        assert chat(gateway.url, "added").status_code == 200
        assert '"config_reload_failed"' in gateway.log()

        # the admin route says the same, and once the file is fixed, reloads
        refused = httpx.post(gateway.url + "/config/reload", headers=HEADERS, timeout=10)
        assert refused.status_code == 400 and "the running config stays" in refused.json()["error"]["message"]
        gateway.rewrite(config(entry("steady", fake_upstream)))
        reloaded = httpx.post(gateway.url + "/config/reload", headers=HEADERS, timeout=10)
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["model_groups"] == ["steady"]
        assert readiness_config(gateway.url)["status"] == "ok"
        assert chat(gateway.url, "added").status_code == 404

        statuses = load.stop()
        assert len(statuses) > 20
        assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    finally:
        slow_upstream.stop()


def test_config_reload_is_for_admins_only(served: Callable[..., Served], fake_upstream: FakeUpstream) -> None:
    gateway = served(config(entry("steady", fake_upstream)))
    assert httpx.post(gateway.url + "/config/reload", timeout=10).status_code == 401
    assert httpx.post(gateway.url + "/config/reload", headers={"authorization": "Bearer wrong"}).status_code == 401


def test_with_two_workers_a_sighup_reloads_every_worker(
    served: Callable[..., Served], fake_upstream: FakeUpstream
) -> None:
    gateway = served(config(entry("steady", fake_upstream)), "--workers", "2")
    until(lambda: gateway.log().count('"gateway_ready"') == 2, "both workers start")
    gateway.rewrite(config(entry("steady", fake_upstream), entry("added", fake_upstream)))
    signalled = len(gateway.log())
    gateway.proc.send_signal(signal.SIGHUP)  # to the supervisor, as an operator or systemd sends it

    def pids_on_the_new_file() -> set[str]:
        # a worker that reloaded, or one the supervisor started after the signal (it replaces a worker
        # that missed its health ping, which a loaded machine can cause): either serves the new file
        return {
            line.split('"pid":')[1].split(",")[0].strip("} ")
            for line in gateway.log()[signalled:].splitlines()
            if '"config_reloaded"' in line or '"gateway_ready"' in line
        }

    try:
        until(lambda: len(pids_on_the_new_file()) >= 2, "both workers serve the new file")
    except BaseException:
        print(gateway.log()[-6000:])  # the supervisor's and workers' own account, for the failure report
        raise
    # new connections go to either worker: each serves the new model
    assert all(chat(gateway.url, "added").status_code == 200 for _ in range(20))
    assert gateway.proc.poll() is None
