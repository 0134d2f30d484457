"""Fixtures: a fresh database per test on SQLite *and* PostgreSQL, gateways serving real HTTP.

PostgreSQL: one uniquely named database per test session (dropped at the end), emptied before
each test.  SQLite: a new file per test.  Gateways are real uvicorn servers; clients are httpx
(admin API) and the official ``openai`` SDK (model routes).  The model behind the gateway is a
small provider registered by the test kit (``echo/<model>``) that answers with
``gateway.fake_openai``, so the suite needs nothing but core and this plugin.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gateway.testing import postgres_database

if TYPE_CHECKING:
    from gateway.testing import RunningGateway

sys.path.insert(0, str(Path(__file__).parent))

from vk_testkit import MASTER, Api, Database, NoopGuardrailPlugin, start, vk_config

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
VK_TABLES = (
    "vk_old_tokens, vk_keys, vk_team_members, vk_users, vk_teams, vk_changes, vk_customers, vk_budgets, "
    "vk_organization_members, vk_organizations, vk_tags"
)


# --------------------------------------------------------------------------- databases


def _pg(sql: str, database: str = "test") -> Any:
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"vk_test_{uuid.uuid4().hex[:12]}"
    _pg(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Any) -> Database:
    if request.param == "sqlite":
        return Database("sqlite", f"sqlite:///{tmp_path / 'gateway.db'}")
    name = request.getfixturevalue("pg_database")
    if _pg("SELECT to_regclass('vk_keys') IS NOT NULL AS present", name)[0]["present"]:
        _pg(f"TRUNCATE {VK_TABLES} RESTART IDENTITY CASCADE", name)
    return Database("postgres", f"postgresql://postgres@127.0.0.1:5432/{name}")


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Database]:
    """A database no test used before (PostgreSQL: created for this test, dropped after it)."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'empty.db'}")
        return
    with postgres_database("vk_empty") as url:
        yield Database("postgres", url)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "REDIS_URL",
        "LITELLM_SALT_KEY",
        "GATEWAY_SALT_KEY",
        "DATABASE_URL",
        "LITELLM_MASTER_KEY",
        "GATEWAY_MASTER_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def gateway_for(database: Database) -> Iterator[Any]:
    """``gateway_for(**settings)`` -> (running gateway, Api with the master key); stopped after the test."""
    started: list[tuple[RunningGateway, Api]] = []

    def make(
        *extra_plugins: Any,
        master_key: str | None = MASTER,
        guardrails: tuple[str, ...] = (),
        enforcer: bool = True,
        litellm_settings: dict[str, Any] | None = None,
        **settings: Any,
    ) -> tuple[RunningGateway, Api]:
        if guardrails:
            extra_plugins = (*extra_plugins, NoopGuardrailPlugin())
        config = vk_config(database.url, master_key=master_key, guardrails=guardrails, **settings)
        if litellm_settings:
            config["litellm_settings"] = litellm_settings
        running = start(config, *extra_plugins, enforcer=enforcer)
        api = Api(running, master_key)
        started.append((running, api))
        return running, api

    try:
        yield make
    finally:
        for running, api in started:
            api.close()
            running.stop()


@pytest.fixture
def api(gateway_for: Any) -> Api:
    return gateway_for()[1]
