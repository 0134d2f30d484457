"""Fixtures: a fresh database per test on SQLite and PostgreSQL, and real gateway processes.

``database_url`` runs each test twice: on a new SQLite file and on a new PostgreSQL database.
``gateway_processes`` starts the ``gateway`` command (every installed plugin found by entry point
unless ``GATEWAY_LOAD_PLUGINS`` says otherwise), each stopped at the end of the test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.testing import postgres_database

sys.path.insert(0, str(Path(__file__).parent))

from ms_testkit import GatewayProcess


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    request.applymarker(pytest.mark.postgres)
    with postgres_database("model_store_test") as url:
        yield url


@pytest.fixture
def gateway_processes(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    started: list[GatewayProcess] = []

    def start(config: dict[str, Any] | Path, *, env: dict[str, str] | None = None, workers: int = 1) -> GatewayProcess:
        if isinstance(config, Path):
            path = config
        else:
            path = tmp_path / f"gateway-{len(started)}.yaml"
            path.write_text(yaml.safe_dump(config))
        process = GatewayProcess(path, tmp_path, env or {}, workers)
        started.append(process)
        return process.wait_ready()

    try:
        yield start
    finally:
        for process in started:
            process.stop()
