"""Fixtures: a PostgreSQL database and a Redis key prefix per test session, gateway processes.

PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) are the real services of
the development machines and CI.  Each session creates its own database and drops it at the end;
every test uses its own Redis key prefix, so parallel runs never see each other's counters.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.testing import postgres_database

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))  # the helper modules next to this file

from spend_helpers import GatewayProcess, redis_command, redis_keys  # noqa: E402


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (dropped afterwards)."""
    with postgres_database("spend_test") as url:
        yield url


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """A database of its own for one test (the ledger starts empty)."""
    with postgres_database("spend_test") as url:
        yield url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test; its keys are deleted afterwards."""
    prefix = f"spendtest-{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = redis_keys(f"{{{prefix}}}:*")
    if keys:
        redis_command("DEL", *keys)


@pytest.fixture
def gateway_processes(tmp_path: Path) -> Iterator[Any]:
    started: list[GatewayProcess] = []

    def start(
        config: dict[str, Any], env: dict[str, str] | None = None, workdir: Path | None = None, count: int = 1
    ) -> Any:
        """Start ``count`` gateways (concurrently); one process, or a list when ``count`` > 1."""
        processes = [GatewayProcess(config, workdir or tmp_path, env).launch() for _ in range(count)]
        started.extend(processes)
        for process in processes:
            process.start()
        return processes[0] if count == 1 else processes

    try:
        yield start
    finally:
        for process in started:
            process.stop()
