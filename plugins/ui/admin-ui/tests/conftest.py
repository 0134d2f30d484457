"""A real gateway (uvicorn, free port) with the admin UI and the plugins whose API it shows: mock
models, virtual keys and the spend ledger, on SQLite (one file per test) or PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.testing import postgres_database

sys.path.insert(0, str(Path(__file__).parent))

from ui_testkit import MASTER, ui_config


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        return
    with postgres_database("ui_test") as url:
        yield url


@pytest.fixture
def ui_gateway(database_url: str, tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend,admin_ui")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    gw = gateway_factory(ui_config(database_url, tmp_path))
    assert gw.master_key == MASTER
    return gw
