"""Per-plugin Alembic migrations, run without ``env.py``: registry, safety check, lock, runner."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import Script, ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from gateway._errors import PluginError
from gateway._hooks import PerPlugin, call_startup_hook
from gateway._registry import Registry
from gateway.storage._engine import Storage, storage_of

if TYPE_CHECKING:
    from gateway._gateway import Gateway

VERSION_TABLE_PREFIX = "gateway_alembic_"
_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
_DROPS = re.compile(r"\bop\.(drop_table|drop_column)\b")


class MigrationError(Exception):
    """A migration cannot run; the message says why and what to do."""


def version_table(name: str) -> str:
    return VERSION_TABLE_PREFIX + name.replace("-", "_")


def registry(gateway: Gateway) -> dict[str, str]:
    """plugin name -> script directory, collected once from ``gateway_register_migrations``."""
    storage = storage_of(gateway)
    if storage.migrations is None:
        found: Registry[str] = Registry("migrations name", remedy="each plugin needs its own name")

        def registrar(plugin: str) -> Any:
            def register(name: str, script_location: str | Path) -> None:
                if not _NAME.match(name):
                    raise PluginError(f"plugin {plugin!r} registers migrations under the invalid name {name!r}")
                found.add(plugin, name, resolve_location(script_location))

            return register

        call_startup_hook(gateway.pm, "gateway_register_migrations", register=PerPlugin(registrar), gateway=gateway)
        storage.migrations = dict(found.items())
    return storage.migrations


def resolve_location(location: str | Path) -> str:
    """``package:dir`` (like Alembic's own ``script_location``) or a path, to an absolute path."""
    text_location = str(location)
    if ":" in text_location and not Path(text_location).is_absolute():
        package, _, sub = text_location.partition(":")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise PluginError(f"migration location {text_location!r}: package {package!r} not found")
        path = Path(next(iter(spec.submodule_search_locations))) / sub
    else:
        path = Path(text_location)
    if not (path / "versions").is_dir():
        raise PluginError(f"migration location {text_location!r} has no versions/ directory ({path})")
    return str(path)


def is_destructive(script: Script) -> bool:
    declared = getattr(script.module, "destructive", None)
    if declared is not None:
        return bool(declared)
    upgrade_fn = getattr(script.module, "upgrade", None)
    try:
        source = inspect.getsource(upgrade_fn) if upgrade_fn else ""
    except (OSError, TypeError):
        return False
    return bool(_DROPS.search(source))


def _pending(script_dir: ScriptDirectory, heads: tuple[str, ...]) -> list[Script]:
    """Revisions between the current heads and the newest, oldest first."""
    lower = heads if heads else None
    revisions = list(script_dir.iterate_revisions("heads", lower))
    return [r for r in reversed(revisions) if r is not None]


def _run_for_plugin(connection: Connection, name: str, location: str, allow_destructive: bool) -> list[str]:
    script_dir = ScriptDirectory(location)
    table = version_table(name)
    context = MigrationContext.configure(connection, opts={"version_table": table})
    pending = _pending(script_dir, tuple(context.get_current_heads()))
    if not pending:
        return []
    destructive = [r.revision for r in pending if is_destructive(r)]
    if destructive and not allow_destructive:
        raise MigrationError(
            f"migrations of {name!r} include destructive revisions ({', '.join(destructive)}) that may delete data; "
            "back the database up, then run: gateway db upgrade --allow-destructive"
        )

    def upgrade_steps(rev: Any, _context: Any) -> Any:
        return script_dir._upgrade_revs("heads", rev)

    context = MigrationContext.configure(connection, opts={"version_table": table, "fn": upgrade_steps})
    with Operations.context(context):
        context.run_migrations()
    return [f"{name}:{r.revision}" for r in pending]


def _lock_id(name: str) -> int:
    return zlib.crc32(b"gateway-migrations:" + name.encode()) & 0x7FFFFFFF


@contextmanager
def _sqlite_file_lock(storage: Storage) -> Iterator[None]:
    """Serialise migrations of processes sharing one SQLite file (blocking; start-up only)."""
    path = storage.sqlite_file()
    if path is None:
        yield
        return
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def upgrade(gateway: Gateway, *, allow_destructive: bool = False) -> list[str]:
    """Apply every plugin's pending migrations; return ``["plugin:revision", ...]`` applied."""
    storage = storage_of(gateway)
    plugins = registry(gateway)
    if not plugins:
        return []
    engine = storage.migration_engine()
    applied: list[str] = []
    if storage.is_sqlite:
        lock = _sqlite_file_lock(storage)
        await asyncio.to_thread(lock.__enter__)
    try:
        for name, location in plugins.items():
            async with engine.begin() as conn:
                if not storage.is_sqlite:
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(name)})
                applied += await conn.run_sync(_run_for_plugin, name, location, allow_destructive)
    finally:
        if storage.is_sqlite:
            lock.__exit__(None, None, None)
        else:
            await engine.dispose()
    return applied


def _status(connection: Connection, name: str, location: str) -> dict[str, Any]:
    script_dir = ScriptDirectory(location)
    context = MigrationContext.configure(connection, opts={"version_table": version_table(name)})
    current_heads = tuple(context.get_current_heads())
    pending = _pending(script_dir, current_heads)
    return {
        "current": list(current_heads),
        "head": list(script_dir.get_heads()),
        "pending": [r.revision for r in pending],
        "destructive_pending": [r.revision for r in pending if is_destructive(r)],
    }


async def current(gateway: Gateway) -> dict[str, dict[str, Any]]:
    """Per plugin: ``current`` and ``head`` revisions, ``pending`` ones and which are destructive."""
    engine = storage_of(gateway).get_engine()
    report: dict[str, dict[str, Any]] = {}
    async with engine.connect() as conn:
        for name, location in registry(gateway).items():
            report[name] = await conn.run_sync(_status, name, location)
    return report
