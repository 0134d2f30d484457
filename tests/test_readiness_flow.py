"""``/health/readiness/details`` with the plugins that keep data: the database they share (checked
with a query) and gateway-spend's ledger backlog, reported by the plugins without core naming them."""

# ruff: noqa: F811 - the fixture imported from the governance flow test is a parameter of the same name

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway.testing import run_sql

# sibling test modules by their plain name: core/tests is a package named "tests", so
# "tests.<module>" does not name them reliably (it depends on the order pytest collects in)
sys.path.insert(0, str(Path(__file__).parent))
from test_governance_flow import MASTER, MESSAGES, admin, governed  # noqa: F401 - fixture


@pytest.fixture
def pg_database() -> Iterator[str]:
    name = f"readiness_{uuid.uuid4().hex[:12]}"
    try:
        run_sql(f"CREATE DATABASE {name}")
    except OSError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({exc})")
    try:
        yield name
    finally:
        run_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_details_show_the_database_and_the_spend_ledger(governed: Any) -> None:
    client = openai.OpenAI(
        base_url=governed.base_url, api_key=admin(governed, "POST", "/key/generate", json={}).json()["key"]
    )
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    answer = admin(governed, "GET", "/health/readiness/details")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "healthy"
    assert report["database"]["status"] == "connected" and report["database"]["backend"] == "sqlite"
    ledger = report["spend_ledger"]
    assert ledger["status"] == "ok" and ledger["counters"] == "memory"
    assert ledger["backlog_bytes"] >= 0 and ledger["dead_letters"] == 0 and ledger["database_down_seconds"] is None
    assert report["plugins"]["spend"]["distribution"] == "gateway-spend"
    assert report["plugins"]["virtual_keys"]["status"] == "loaded"
    # nothing secret: the database URL (it may hold a password) is not shown
    assert "sqlite+aiosqlite" not in answer.text


def test_details_show_a_postgresql_database(
    pg_database: str, tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    gw = gateway_factory(
        {
            "model_list": [{"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o"}}],
            "general_settings": {
                "master_key": MASTER,
                "database_url": f"postgresql://postgres@127.0.0.1:5432/{pg_database}",
            },
            "plugins": {"spend": {"wal_dir": str(tmp_path / "wal")}},
        }
    )
    answer = admin(gw, "GET", "/health/readiness/details")
    assert answer.status_code == 200, answer.text
    assert answer.json()["database"]["status"] == "connected"
    assert answer.json()["database"]["backend"] == "postgresql"
    assert pg_database not in answer.text  # the URL is never shown
