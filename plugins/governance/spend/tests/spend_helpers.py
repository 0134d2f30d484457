"""Helpers shared by the spend tests: configs, keys, and real gateway processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.testing import free_port

TESTS = Path(__file__).parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("SPEND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MASTER = "sk-master-spend-tests"


def model_entry(
    name: str = "m", *, input_cost: str = "0.000001", output_cost: str = "0.000002", **params: Any
) -> dict[str, Any]:
    """A mock deployment with exact per-token prices."""
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"mock/{name}",
            "input_cost_per_token": float(input_cost),
            "output_cost_per_token": float(output_cost),
            **params,
        },
    }


def key(
    key_hash: str,
    *scopes: dict[str, Any],
    team_id: str | None = None,
    user_id: str | None = None,
    alias: str | None = None,
    team_alias: str | None = None,
) -> dict[str, Any]:
    return {
        "key_hash": key_hash,
        "key_alias": alias,
        "team_id": team_id,
        "team_alias": team_alias,
        "user_id": user_id,
        "scopes": list(scopes),
    }


class GatewayProcess:
    """A real ``gateway`` process (the CLI), with the test auth plugin found by entry point."""

    def __init__(self, config: dict[str, Any], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"gateway-{self.port}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        dist = workdir / "entrypoints" / "spend_testauth-0.0.0.dist-info"
        dist.mkdir(parents=True, exist_ok=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: spend-testauth\nVersion: 0.0.0\n")
        (dist / "entry_points.txt").write_text("[gateway]\nspend_testauth = spend_testauth\n")
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS), str(dist.parent)]),
            "GATEWAY_LOG_FORMAT": "json",
            # only what these tests are about, whatever else is installed in the environment
            "GATEWAY_LOAD_PLUGINS": "mock,spend,spend_testauth",
            **(env or {}),
        }
        self.env.pop("DATABASE_URL", None)
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> GatewayProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "gateway"), "--config", str(self.config_path), "--port", str(self.port)],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def start(self, timeout: float = 30) -> GatewayProcess:
        if self.proc is None:
            self.launch()
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if httpx.get(self.url + "/health/liveliness", timeout=2).status_code == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gateway did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def admin(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def redis_command(*args: object) -> object:
    """One command on the test Redis with the plugin's own client (no other Redis library needed)."""
    import asyncio

    from gateway_spend.resp import RespClient

    async def run() -> object:
        client = RespClient(REDIS_URL, timeout=10)
        try:
            return await client.execute(*args)
        finally:
            await client.close()

    return asyncio.run(run())


def redis_keys(pattern: str) -> list[bytes]:
    found: list[bytes] = []
    cursor: object = b"0"
    for _ in range(100_000):
        cursor, batch = redis_command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)  # type: ignore[misc]
        found += batch
        if cursor == b"0":
            return found
    return found


class RedisServer:
    """A ``redis-server`` of one test on a free port, without persistence: a restart empties it.

    Restarting the shared Redis would disturb every other test running at the same time.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> None:
        """Stop and start again on the same port: every counter is gone, as after a crash."""
        self.stop()
        self.start()
