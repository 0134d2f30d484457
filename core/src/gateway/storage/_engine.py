"""The engine: URL resolution, one ``AsyncEngine`` per gateway, and its reference-counted lifetime."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from gateway._errors import ConfigError
from gateway._logs import get_logger

if TYPE_CHECKING:
    from gateway._config import GatewayConfig
    from gateway._gateway import Gateway

log = get_logger("gateway.storage")

STATE_KEY = "storage"
DEFAULT_SQLITE_FILE = "gateway.db"
#: milliseconds a SQLite writer waits for another process's write lock before failing
SQLITE_BUSY_TIMEOUT_MS = 10_000


def database_url(config: GatewayConfig) -> str:
    """The SQLAlchemy async URL for this config (see the package docstring for the rules)."""
    raw = _raw_database_url(config)
    if not raw:
        folder = config.path.resolve().parent if config.path is not None else Path.cwd()
        return f"sqlite+aiosqlite:///{folder / DEFAULT_SQLITE_FILE}"
    return normalise_url(raw)


def normalise_url(raw: str) -> str:
    """Map the URLs operators write to the async drivers the gateway uses."""
    scheme, rest = raw.split("://", 1) if "://" in raw else ("", raw)
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgres", "postgresql"):
        return _asyncpg_url("postgresql+asyncpg://" + rest)
    if base == "sqlite":
        return "sqlite+aiosqlite://" + rest
    raise ConfigError(
        f"general_settings.database_url / DATABASE_URL: unsupported database scheme {scheme or '(none)'!r}; "
        "use postgresql://user:password@host:5432/dbname or sqlite:///path/to/gateway.db"
    )


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _asyncpg_url(url: str) -> str:
    """asyncpg spells libpq's ``sslmode`` as ``ssl`` and rejects libpq-only query options (and
    ``pgbouncer``, read by :func:`postgres_connect_args`)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "sslmode":
            query.append(("ssl", value))
        elif name not in ("connect_timeout", "application_name", "options", "pgbouncer"):
            query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def behind_pgbouncer(raw_url: str) -> bool:
    """``?pgbouncer=true`` on the database URL: Prisma's spelling, so what LiteLLM users already have
    when their PostgreSQL is behind PgBouncer (or another transaction-mode pooler)."""
    query = dict(parse_qsl(urlsplit(raw_url).query, keep_blank_values=True))
    value = query.get("pgbouncer", "").strip().lower()
    if value in ("", "false", "0", "no", "off"):
        return False
    if value in ("true", "1", "yes", "on"):
        return True
    raise ConfigError(f"database URL: pgbouncer={value!r} is not a boolean; write ?pgbouncer=true or leave it out")


def postgres_connect_args(raw_url: str) -> dict[str, Any]:
    """asyncpg options for a PostgreSQL URL: with ``?pgbouncer=true``, no prepared statement is reused.

    A transaction-mode pooler gives each transaction whichever server connection is free, so a
    statement prepared in one transaction is missing in the next ("prepared statement
    __asyncpg_stmt_N__ does not exist"), and two clients' statements of the same name collide on
    one server connection.  asyncpg's cache and SQLAlchemy's are turned off, and the statements
    SQLAlchemy still prepares within a transaction get unique names.  The cost is a parse per query
    on the server, which is why it is not the default for a direct connection."""
    if not behind_pgbouncer(raw_url):
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__gateway_{uuid.uuid4().hex}__"


def _raw_database_url(config: GatewayConfig) -> str:
    return config.general_settings.database_url or os.environ.get("DATABASE_URL") or ""


class Storage:
    """Per-gateway store state: the engine, who holds it open, and the migration registry."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.url = database_url(gateway.config)
        self.engine: AsyncEngine | None = None
        self.users = 0
        self.lock: asyncio.Lock | None = None
        #: plugin name -> script location, filled on first use by migrations.registry()
        self.migrations: dict[str, str] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def sqlite_file(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.url.split(":///", 1)[1].split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None

    def get_engine(self) -> AsyncEngine:
        if self.engine is None:
            self.engine = _create_engine(self)
        return self.engine

    def migration_engine(self) -> AsyncEngine:
        """The engine migrations run on: on PostgreSQL a separate one without the query deadline,
        which the caller disposes of once done; SQLite has no such deadline (and an in-memory
        database exists only on its own engine), so there it is the serving engine."""
        if self.is_sqlite:
            return self.get_engine()
        return _create_engine(self, for_migrations=True)


def _create_engine(storage: Storage, *, for_migrations: bool = False) -> AsyncEngine:
    """The serving engine bounds every operation by ``general_settings.database_timeout``: a
    database that accepts connections but never answers (or a full pool) makes a request fail
    with a timeout, which the gateway answers with 503 and ``retry-after``, instead of hanging it
    (asyncpg's own connect timeout is 60 s and its queries have none).  Migrations run on an
    engine of their own without a query deadline: an index build or another worker's migration
    lock may rightly take longer."""
    general = storage.gateway.config.general_settings
    deadline = general.database_timeout
    kwargs: dict[str, Any] = {}
    if storage.is_sqlite:
        path = storage.sqlite_file()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif for_migrations:
        kwargs["poolclass"] = NullPool  # used once, at start-up
        kwargs["connect_args"] = {
            "timeout": general.database_connection_timeout or deadline,
            **postgres_connect_args(_raw_database_url(storage.gateway.config)),
        }
    else:
        kwargs["pool_size"] = general.database_connection_pool_limit or 10
        kwargs["max_overflow"] = 5
        kwargs["pool_pre_ping"] = True
        # LiteLLM's database_connection_timeout, when set, is how long to wait for a connection
        kwargs["pool_timeout"] = general.database_connection_timeout or deadline
        kwargs["connect_args"] = {
            "timeout": general.database_connection_timeout or deadline,
            "command_timeout": deadline,
            **postgres_connect_args(_raw_database_url(storage.gateway.config)),
        }
    engine = create_async_engine(storage.url, **kwargs)
    if storage.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif not behind_pgbouncer(_raw_database_url(storage.gateway.config)):
        event.listen(engine.sync_engine, "handle_error", _pooler_hint)
    return engine


#: PostgreSQL's answers when a prepared statement did not follow its client (a transaction-mode pooler)
_POOLER_SIGNS = ('prepared statement "__asyncpg_', "InvalidSQLStatementNameError", "DuplicatePreparedStatementError")
_hinted = False


def _pooler_hint(context: Any) -> None:
    """Say once what to change when the errors show a transaction-mode pooler the URL does not name."""
    global _hinted
    error = context.original_exception
    text = f"{type(error).__name__} {type(error.__cause__).__name__} {error}"
    if _hinted or not any(sign in text for sign in _POOLER_SIGNS):
        return
    _hinted = True
    log.error(
        "database_behind_transaction_pooler",
        error=str(error).splitlines()[0][:200],
        hint="PostgreSQL seems to be behind PgBouncer in transaction mode (prepared statements do not "
        "survive between transactions); add ?pgbouncer=true to DATABASE_URL / general_settings.database_url",
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers in other processes proceed while one writes; the busy timeout makes a
    # second writer wait instead of failing with "database is locked"
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def storage_of(gateway: Gateway) -> Storage:
    storage = gateway.state.get(STATE_KEY)
    if storage is None:
        storage = gateway.state[STATE_KEY] = Storage(gateway)
    return storage


def get_engine(gateway: Gateway) -> AsyncEngine:
    """The gateway's engine (created on first call; connecting happens on first use)."""
    return storage_of(gateway).get_engine()


def is_postgres(gateway: Gateway) -> bool:
    return not storage_of(gateway).is_sqlite


@asynccontextmanager
async def open_storage(gateway: Gateway) -> AsyncIterator[AsyncEngine]:
    """Hold the store open for one plugin's lifespan (see the package docstring)."""
    from gateway.storage._migrations import upgrade

    storage = storage_of(gateway)
    if storage.lock is None:
        storage.lock = asyncio.Lock()
    async with storage.lock:
        if storage.users == 0 and os.environ.get("GATEWAY_DB_AUTO_MIGRATE", "1") != "0":
            try:
                applied = await upgrade(gateway, allow_destructive=False)
            except (OSError, DBAPIError) as exc:
                raise ConfigError(
                    f"cannot open the database {safe_url(storage.url)}: {type(exc).__name__}: {exc}; check "
                    "general_settings.database_url / DATABASE_URL and that the server is running"
                ) from exc
            if applied:
                log.info("database_migrated", applied=applied)
        storage.users += 1
        if storage.users == 1:
            from gateway.http import add_readiness_check

            add_readiness_check(gateway, "database", lambda: _readiness(storage))
    try:
        yield storage.get_engine()
    finally:
        async with storage.lock:
            storage.users -= 1
            if storage.users == 0 and storage.engine is not None:
                engine, storage.engine = storage.engine, None
                await engine.dispose()


async def _readiness(storage: Storage) -> dict[str, Any]:
    """``/health/readiness/details``' database entry: one ``SELECT 1`` on the serving engine."""
    from sqlalchemy import text

    engine = storage.engine
    backend = "sqlite" if storage.is_sqlite else "postgresql"
    if engine is None:
        return {"status": "closed", "backend": backend}
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        # the URL is never shown whole: it may hold a password
        return {"status": "unreachable", "backend": backend, "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "connected", "backend": backend, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
