"""The shared SQL store: one async SQLAlchemy engine per gateway, and per-plugin Alembic migrations.

Needs the ``sql`` extra (``pip install 'gateway[sql]'``: SQLAlchemy 2 async, Alembic, aiosqlite,
asyncpg).  Core never imports this package unless a plugin (or ``gateway db``) asks for it.

Which database
    ``general_settings.database_url`` or, when unset, the ``DATABASE_URL`` environment variable.
    ``postgresql://`` and ``postgres://`` URLs (what LiteLLM users have) are served by asyncpg
    (``sslmode=`` becomes asyncpg's ``ssl=``).  Behind PgBouncer in transaction mode, add
    ``?pgbouncer=true`` (Prisma's and so LiteLLM's spelling): no prepared statement is then reused
    across transactions, which such a pooler cannot carry (docs/scaling.md).  ``sqlite:///path`` URLs use aiosqlite.  With no
    URL at all the store is the SQLite file ``gateway.db`` next to the config file (the current
    directory when the config is not a file).  SQLite runs in WAL mode with a busy timeout, so
    several worker processes can share the file.

Deadlines
    On PostgreSQL every operation of the serving engine is bounded by
    ``general_settings.database_timeout`` (default 5 s): connecting, each query, and waiting for a
    pooled connection (LiteLLM's ``database_connection_timeout``, when set, bounds the last two
    waits instead).  A database that accepts connections but never answers thus fails a request
    with ``TimeoutError`` within that time; the kernel answers 503 with ``retry-after`` when such an
    error (or a refused or dropped connection) escapes a request hook or a plugin route
    (``gateway._unavailable``), so plugins need no code of their own for it.  Migrations run on a
    separate engine without the query deadline.

Public API (everything else in the package is private)
    ``get_engine(gateway) -> AsyncEngine``
        The gateway's engine, created on first use (no I/O) and kept in
        ``gateway.state["storage"]``.  Use it from ``async def`` code only, after the lifespan
        entered :func:`open_storage`.
    ``open_storage(gateway)``
        Async context manager for a plugin's ``gateway_lifespan``.  The first plugin to enter it
        applies every pending *safe* migration of every plugin (see below); the last one to leave
        disposes the engine.  Entering it several times (one per plugin) is the intended use.
    ``database_url(config) -> str``
        The SQLAlchemy URL the gateway uses (for messages and tests; it may hold a password).
    ``postgres_connect_args(raw_url) -> dict``
        The asyncpg ``connect_args`` a PostgreSQL URL as the operator wrote it asks for: with
        ``?pgbouncer=true`` no prepared statement is reused (for a plugin's own engine).
    ``is_postgres(gateway) -> bool``
        For the odd statement that differs between the two (``ON CONFLICT`` works on both).
    ``upgrade(gateway, *, allow_destructive=False) -> list[str]`` / ``current(gateway)``
        What ``gateway db upgrade`` / ``gateway db current`` run; also usable from tests.
    ``MigrationError``
        A migration could not run (destructive without the flag, broken script, ...).

Migrations
    A plugin implements ``gateway_register_migrations(register)`` and calls
    ``register("<plugin name>", "<package>:<directory>")`` (or an absolute path).  The directory
    holds ``versions/*.py`` Alembic revision files; no ``env.py`` or ``alembic.ini`` is needed.
    Each plugin has its own version table ``gateway_alembic_<name>``, so plugins upgrade
    independently.  A revision whose module sets ``destructive = True`` (or whose ``upgrade()``
    calls ``op.drop_table``/``op.drop_column`` without saying ``destructive = False``) is never
    applied at start-up: the gateway refuses to start and says to run
    ``gateway db upgrade --allow-destructive``.  Start-up migrations take a lock (a PostgreSQL
    advisory lock, or a lock file next to the SQLite file), so workers starting together apply
    each revision once.  ``GATEWAY_DB_AUTO_MIGRATE=0`` turns start-up migrations off.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("gateway.storage needs the sql extra: pip install 'gateway[sql]'") from exc

from gateway.storage._engine import database_url, get_engine, is_postgres, open_storage, postgres_connect_args
from gateway.storage._migrations import MigrationError, current, upgrade

__all__ = [
    "get_engine",
    "open_storage",
    "database_url",
    "postgres_connect_args",
    "is_postgres",
    "upgrade",
    "current",
    "MigrationError",
]
