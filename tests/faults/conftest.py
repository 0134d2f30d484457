"""Fixtures of the fault tests: a fresh PostgreSQL database, a private Redis, gateway processes.

Every fault is made on something the test owns: its own ``redis-server``, a TCP forwarder in front
of PostgreSQL, its own gateway processes and upstream servers.  The machine's shared PostgreSQL and
Redis keep serving the other tests.  Each test's figures (requests served, ledger rows,
duplicates, recovery time) are printed in its output and again in pytest's summary.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # faults_support, next to this file

from faults_support import FIGURES, GatewayProcess, RedisServer

from gateway.testing import postgres_database


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("fault test figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def database() -> Iterator[str]:
    """A database of this test on the shared PostgreSQL server (dropped afterwards)."""
    with postgres_database("faults") as url:
        yield url


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A private ``redis-server`` the test may kill and restart."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[Any]:
    """``gateways(config, count=1, workers=1, workdir=None)``: started gateway processes, stopped afterwards."""
    started: list[GatewayProcess] = []

    def start(
        config: dict[str, Any], *, count: int = 1, workers: int = 1, workdir: Path | None = None, **kw: Any
    ) -> Any:
        processes = [GatewayProcess(config, workdir or tmp_path, workers=workers, **kw).launch() for _ in range(count)]
        started.extend(processes)
        for process in processes:
            process.wait_ready()
        return processes

    try:
        yield start
    finally:
        for process in started:
            process.stop()
