"""What the tests share: the master key and a real ``gateway`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.testing import free_port

MASTER = "sk-model-store-master-0123456789"
VENV_BIN = Path(sys.executable).parent


class GatewayProcess:
    def __init__(self, config_path: Path, workdir: Path, env: dict[str, str], workers: int = 1) -> None:
        self.config_path = config_path
        self.port = free_port()
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.env = {**os.environ, **env}
        self.env.pop("DATABASE_URL", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "gateway"), "--config", str(config_path), "--port", str(self.port)]
                + (["--workers", str(workers)] if workers > 1 else []),
                cwd=workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> GatewayProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if httpx.get(self.url + "/health/liveliness", timeout=2).status_code == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway did not start within {timeout} s:\n{self.log()[-3000:]}")

    def hangup(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
