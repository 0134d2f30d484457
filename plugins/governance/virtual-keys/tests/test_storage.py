"""``gateway.storage``: which database a config means, per-plugin migrations, and their safety rules.

These live here because this plugin is the store's first user; they exercise the core package
through its public API (``gateway.storage``) and the ``gateway db`` command.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from vk_testkit import MASTER, Database

from gateway import ConfigError, Gateway, hookimpl
from gateway.storage import MigrationError, current, database_url, get_engine, open_storage, upgrade
from gateway.testing import free_port

GATEWAY_CLI = Path(sys.executable).with_name("gateway")


def _config(source: Any) -> Any:
    """The validated configuration of a gateway built from ``source`` (core's plugins only)."""
    return Gateway(source, load_entrypoints=False).config


def test_database_urls_operators_write_map_to_async_drivers(tmp_path: Path) -> None:
    def url(value: str | None) -> str:
        return database_url(_config({"general_settings": {"database_url": value}}))

    assert url("postgres://u:p@db:5432/gw") == "postgresql+asyncpg://u:p@db:5432/gw"
    assert url("postgresql://u@db/gw?sslmode=require&application_name=x") == "postgresql+asyncpg://u@db/gw?ssl=require"
    assert url("postgresql+psycopg2://u@db/gw") == "postgresql+asyncpg://u@db/gw"
    assert url("sqlite:////var/lib/gw.db") == "sqlite+aiosqlite:////var/lib/gw.db"
    with pytest.raises(ConfigError, match="unsupported database scheme 'mysql'"):
        url("mysql://u@db/gw")
    config_file = tmp_path / "conf" / "config.yaml"
    config_file.parent.mkdir()
    config_file.write_text("general_settings: {master_key: sk-x}\n")
    assert database_url(_config(config_file)) == f"sqlite+aiosqlite:///{tmp_path / 'conf' / 'gateway.db'}"


def test_database_url_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://env@db/gw")
    assert database_url(_config({})) == "postgresql+asyncpg://env@db/gw"


def _migrations(tmp_path: Path, destructive_second: bool) -> Path:
    versions = tmp_path / "demo_migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "d1_create.py").write_text(
        textwrap.dedent("""
        import sqlalchemy as sa
        from alembic import op
        revision, down_revision = "d1", None
        def upgrade():
            op.create_table("demo_items", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20)))
    """)
    )
    # distinct file names: Alembic keeps loaded revision modules by file name for the whole process
    (versions / ("d2_drop.py" if destructive_second else "d2_add.py")).write_text(
        textwrap.dedent(f"""
        import sqlalchemy as sa
        from alembic import op
        revision, down_revision = "d2", "d1"
        def upgrade():
            {'op.drop_column("demo_items", "name")' if destructive_second else 'op.add_column("demo_items", sa.Column("note", sa.String(20)))'}
    """)
    )
    return tmp_path / "demo_migrations"


class DemoPlugin:
    gateway_plugin_name = "demo"

    def __init__(self, location: Path) -> None:
        self.location = location

    @hookimpl
    def gateway_register_migrations(self, register: Any) -> None:
        register("demo", str(self.location))


def _gateway(database: Database, *plugins: Any) -> Gateway:
    return Gateway(
        {"general_settings": {"master_key": MASTER, "database_url": database.url}},
        plugins=plugins,
        load_entrypoints=False,
    )


def test_additive_migrations_run_at_start_up_once_per_plugin(empty_database: Database, tmp_path: Path) -> None:
    gateway = _gateway(empty_database, DemoPlugin(_migrations(tmp_path, destructive_second=False)))

    async def run() -> dict[str, Any]:
        async with open_storage(gateway), open_storage(gateway):  # two plugins holding the store
            report = await current(gateway)
            assert await upgrade(gateway) == []  # nothing left to do
        return report

    report = asyncio.run(run())
    assert report["demo"] == {"current": ["d2"], "head": ["d2"], "pending": [], "destructive_pending": []}
    assert "storage" in gateway.state and gateway.state["storage"].engine is None  # disposed by the last user


def test_destructive_migrations_need_the_explicit_flag(empty_database: Database, tmp_path: Path) -> None:
    gateway = _gateway(empty_database, DemoPlugin(_migrations(tmp_path, destructive_second=True)))

    async def run() -> None:
        with pytest.raises(MigrationError, match="--allow-destructive"):
            async with open_storage(gateway):
                pass
        status = await current(gateway)
        assert status["demo"]["destructive_pending"] == ["d2"] and status["demo"]["current"] == []
        assert await upgrade(gateway, allow_destructive=True) == ["demo:d1", "demo:d2"]
        await get_engine(gateway).dispose()

    asyncio.run(run())


def test_workers_starting_together_apply_each_revision_once(empty_database: Database, tmp_path: Path) -> None:
    location = _migrations(tmp_path, destructive_second=False)
    gateways = [_gateway(empty_database, DemoPlugin(location)) for _ in range(3)]

    async def run() -> list[list[str]]:
        applied = await asyncio.gather(*(upgrade(g) for g in gateways))
        for g in gateways:
            await get_engine(g).dispose()
        return list(applied)

    applied = asyncio.run(run())
    assert sorted(applied, key=len) == [[], [], ["demo:d1", "demo:d2"]]


def test_gateway_db_command(empty_database: Database, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"general_settings": {"master_key": MASTER, "database_url": empty_database.url}}))
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "virtual_keys"}

    def db(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GATEWAY_CLI), "db", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    before = db("current")
    assert before.returncode == 0 and "current (empty)" in before.stdout and "pending vk0001" in before.stdout
    upgraded = db("upgrade")
    assert upgraded.returncode == 0 and "applied virtual_keys:vk0001" in upgraded.stdout
    assert "applied virtual_keys:vk0002" in upgraded.stdout  # customers
    assert "applied virtual_keys:vk0003" in upgraded.stdout  # budget tiers
    assert "applied virtual_keys:vk0004" in upgraded.stdout  # organizations
    # at the head, whichever revision is the latest
    assert re.search(r"current (vk\d{4})  head \1", upgraded.stdout) and "pending" not in upgraded.stdout


def test_unreachable_database_fails_start_up_with_a_clear_message(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    gateway = Gateway(
        {"general_settings": {"master_key": MASTER, "database_url": f"postgresql://gw:s3cret@127.0.0.1:{port}/gw"}},
        plugins=[DemoPlugin(_migrations(tmp_path, destructive_second=False))],
        load_entrypoints=False,
    )

    async def run() -> None:
        async with open_storage(gateway):
            pass

    with pytest.raises(ConfigError) as failed:
        asyncio.run(run())
    message = str(failed.value)
    assert f"127.0.0.1:{port}/gw" in message and "s3cret" not in message and "DATABASE_URL" in message
