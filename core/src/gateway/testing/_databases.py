"""A fresh PostgreSQL database per test (or session), dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

#: the server tests create their databases on (``GATEWAY_TEST_POSTGRES`` overrides it)
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _server() -> str:
    return os.environ.get("GATEWAY_TEST_POSTGRES", POSTGRES_SERVER).rstrip("/")


def run_sql(sql: str, database: str = "test") -> None:
    """Run one statement on ``database`` of the test server (a fresh connection, closed after)."""
    import asyncpg  # type: ignore[import-untyped]  # untyped; installed with gateway[sql]

    async def run() -> None:
        conn = await asyncpg.connect(f"{_server()}/{database}")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def postgres_database(prefix: str = "gateway_test") -> Iterator[str]:
    """The URL of a new, empty database on the test server; dropped (connections closed) on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_server()}/{name}"
    finally:
        run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
