"""A local Redis Cluster (or Valkey cluster) for tests: three masters on free ports in a temp dir.

``redis-server --cluster-enabled yes`` on each port, then ``redis-cli --cluster create ...
--cluster-replicas 0 --cluster-yes`` assigns the 16384 slots, and we wait until every node says
``cluster_state:ok``.  The nodes are stopped (by the pids we started) when the context ends.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster-bus port (port + 10000, so below 55536) is free too."""
    while True:
        port = random.randint(20000, 55000)
        if _free(port) and _free(port + 10000):
            return port


def _wait_port(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster node on port {port} did not start") from None
            time.sleep(0.05)


def _cli(cli: str, port: int, *args: str) -> str:
    return subprocess.run([cli, "-p", str(port), *args], capture_output=True, text=True, timeout=30, check=True).stdout


@contextmanager
def local_redis_cluster(
    workdir: Path, server: str = "redis-server", cli: str = "redis-cli", masters: int = 3
) -> Iterator[list[int]]:
    """Start a ``masters``-node cluster with its files under ``workdir``; yields the node ports."""
    server_path, cli_path = shutil.which(server), shutil.which(cli)
    if server_path is None or cli_path is None:
        raise FileNotFoundError(f"{server} / {cli} not installed")
    ports = [cluster_port() for _ in range(masters)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node = workdir / f"node-{port}"
            node.mkdir(parents=True)
            processes.append(
                subprocess.Popen(
                    [server_path, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                     "--cluster-config-file", "nodes.conf", "--dir", str(node), "--save", "",
                     "--appendonly", "no", "--logfile", str(node / "log")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        deadline = time.monotonic() + 30
        for port in ports:
            _wait_port(port, deadline)
        _cli(cli_path, ports[0], "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes")  # fmt: skip
        for port in ports:
            while "cluster_state:ok" not in _cli(cli_path, port, "cluster", "info"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node {port} never reached cluster_state:ok")
                time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
