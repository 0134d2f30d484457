"""Database access: every statement the plugin runs, and the change log written with each change.

Writes go through :meth:`Store.write`, which bumps ``vk_version`` first, lets the caller run its
statements, appends the change-log rows and, after the commit, tells the cache synchroniser (which
publishes on Redis when configured).  Updates name only the fields the caller sent, in a single
``UPDATE``, so two admins changing different fields of one key never undo each other.  All values
travel as bound parameters: SQL-looking input is stored verbatim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import BadRequestError

from . import tables as t
from .hashing import custom_key_refused

Change = tuple[str, str]  # (kind, entity id)
OnCommit = Callable[[int, list[Change], bool], Awaitable[None]]


class Writer:
    """One write transaction: its connection, its change-log version and the changes it records."""

    __slots__ = ("conn", "version", "changes")

    def __init__(self, conn: AsyncConnection, version: int) -> None:
        self.conn = conn
        self.version = version
        self.changes: list[Change] = []

    def changed(self, kind: str, *entity_ids: str) -> None:
        self.changes.extend((kind, entity_id) for entity_id in entity_ids)


def as_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict (column names as plain ``str``, which orjson requires)."""
    return {str(name): value for name, value in row._mapping.items()}


def _row(row: Any) -> dict[str, Any] | None:
    return None if row is None else as_dict(row)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.on_commit: OnCommit | None = None

    # ------------------------------------------------------------------ transactions

    @asynccontextmanager
    async def write(self, *, revokes: bool = False) -> AsyncIterator[Writer]:
        """One write transaction.  ``revokes``: the change may take access away (block, delete ...)."""
        async with self.engine.begin() as conn:
            bumped = await conn.execute(
                sa.update(t.version)
                .where(t.version.c.id == 1)
                .values(version=t.version.c.version + 1)
                .returning(t.version.c.version)
            )
            writer = Writer(conn, int(bumped.scalar_one()))
            try:
                yield writer
            except IntegrityError as exc:
                # a unique alias or id taken by a concurrent request; the transaction rolls back
                field = _conflicting_field(exc)
                if field in ("token", "id"):  # a custom key a concurrent request just took
                    raise custom_key_refused() from None
                raise BadRequestError(
                    f"another row already uses this {field}; choose a different one", param=field
                ) from None
            if writer.changes:
                now = datetime.now(UTC)
                await conn.execute(
                    sa.insert(t.changes),
                    [
                        {"version": writer.version, "kind": k, "entity_id": e, "changed_at": now}
                        for k, e in writer.changes
                    ],
                )
        if writer.changes and self.on_commit is not None:
            await self.on_commit(writer.version, writer.changes, revokes)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ change log

    async def current_version(self) -> int:
        async with self.read() as conn:
            return int((await conn.execute(sa.select(t.version.c.version).where(t.version.c.id == 1))).scalar_one())

    async def changes_since(self, version: int, limit: int) -> list[tuple[int, str, str]]:
        query = (
            sa.select(t.changes.c.version, t.changes.c.kind, t.changes.c.entity_id)
            .where(t.changes.c.version > version)
            .order_by(t.changes.c.seq)
            .limit(limit)
        )
        async with self.read() as conn:
            return [(int(v), k, e) for v, k, e in (await conn.execute(query)).all()]

    async def prune_changes(self, before: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(t.changes).where(t.changes.c.changed_at < before))

    # ------------------------------------------------------------------ customers (request-time index)

    async def all_customers(self) -> list[dict[str, Any]]:
        async with self.read() as conn:
            return [as_dict(row) for row in (await conn.execute(sa.select(t.customers))).all()]

    async def all_tiers(self) -> list[dict[str, Any]]:
        async with self.read() as conn:
            return [as_dict(row) for row in (await conn.execute(sa.select(t.budgets))).all()]

    async def customer(self, user_id: str) -> dict[str, Any] | None:
        async with self.read() as conn:
            return await self.get(conn, t.customers, "user_id", user_id)

    # ------------------------------------------------------------------ auth look-ups

    async def all_tokens(self) -> tuple[list[tuple[str, str]], list[tuple[str, str, datetime]]]:
        """Every current secret hash with its key id, and every grace-period hash still valid."""
        async with self.read() as conn:
            current = [(a, b) for a, b in (await conn.execute(sa.select(t.keys.c.token, t.keys.c.id))).all()]
            old = (
                await conn.execute(
                    sa.select(t.old_tokens.c.token, t.old_tokens.c.key_id, t.old_tokens.c.expires_at).where(
                        t.old_tokens.c.expires_at > datetime.now(UTC)
                    )
                )
            ).all()
        return current, [(a, b, c) for a, b, c in old]

    async def tokens_of(self, key_id: str) -> tuple[str | None, list[tuple[str, datetime]]]:
        async with self.read() as conn:
            token = (await conn.execute(sa.select(t.keys.c.token).where(t.keys.c.id == key_id))).scalar_one_or_none()
            old = (
                await conn.execute(
                    sa.select(t.old_tokens.c.token, t.old_tokens.c.expires_at).where(t.old_tokens.c.key_id == key_id)
                )
            ).all()
        return token, [(a, b) for a, b in old]

    async def owner_of_token(self, token: str) -> tuple[str, datetime | None] | None:
        """``(key id, grace expiry or None)`` for a secret hash, or None when nobody owns it."""
        async with self.read() as conn:
            key_id = (await conn.execute(sa.select(t.keys.c.id).where(t.keys.c.token == token))).scalar_one_or_none()
            if key_id is not None:
                return key_id, None
            old = (
                await conn.execute(
                    sa.select(t.old_tokens.c.key_id, t.old_tokens.c.expires_at).where(t.old_tokens.c.token == token)
                )
            ).first()
        return (old[0], old[1]) if old is not None else None

    async def auth_record(
        self, key_id: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None] | None:
        """The key with its team, user and organization rows (one connection, cold path only)."""
        async with self.read() as conn:
            key = _row((await conn.execute(sa.select(t.keys).where(t.keys.c.id == key_id))).first())
            if key is None:
                return None
            team = user = org = None
            if key["team_id"]:
                team = _row((await conn.execute(sa.select(t.teams).where(t.teams.c.team_id == key["team_id"]))).first())
            if key["user_id"]:
                user = _row((await conn.execute(sa.select(t.users).where(t.users.c.user_id == key["user_id"]))).first())
            if team is not None and team.get("organization_id"):
                org = await self.get(conn, t.organizations, "organization_id", team["organization_id"])
        return key, team, user, org

    # ------------------------------------------------------------------ generic row helpers

    @staticmethod
    async def get(conn: AsyncConnection, table: sa.Table, column: str, value: Any) -> dict[str, Any] | None:
        return _row((await conn.execute(sa.select(table).where(table.c[column] == value))).first())

    @staticmethod
    async def insert(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any]) -> None:
        await conn.execute(sa.insert(table).values(**values))

    @staticmethod
    async def update(conn: AsyncConnection, table: sa.Table, column: str, value: Any, values: Mapping[str, Any]) -> int:
        """One ``UPDATE`` of exactly the given fields; returns the number of rows changed."""
        if not values:
            return 0
        result = await conn.execute(sa.update(table).where(table.c[column] == value).values(**values))
        return int(result.rowcount or 0)

    @staticmethod
    async def delete_keys(w: Writer, *where: Any) -> list[str]:
        """Delete the keys matching ``where`` (and their grace-period secrets); record the changes."""
        key_ids = [str(i) for i in (await w.conn.execute(sa.select(t.keys.c.id).where(*where))).scalars().all()]
        if key_ids:
            await w.conn.execute(sa.delete(t.old_tokens).where(t.old_tokens.c.key_id.in_(key_ids)))
            await w.conn.execute(sa.delete(t.keys).where(t.keys.c.id.in_(key_ids)))
            w.changed("key", *key_ids)
        return key_ids

    @staticmethod
    async def token_in_use(conn: AsyncConnection, token: str) -> bool:
        """Whether a secret hash is taken: a key's current secret or token id, or a grace-period secret."""
        found = (
            await conn.execute(
                sa.select(t.keys.c.id)
                .where(sa.or_(t.keys.c.token == token, t.keys.c.id == token))
                .union_all(sa.select(t.old_tokens.c.key_id).where(t.old_tokens.c.token == token))
                .limit(1)
            )
        ).first()
        return found is not None

    @staticmethod
    async def select_column(conn: AsyncConnection, column: sa.Column[Any], *where: Any) -> list[Any]:
        return list((await conn.execute(sa.select(column).where(*where))).scalars().all())

    @staticmethod
    async def page(
        conn: AsyncConnection, table: sa.Table, where: Iterable[Any], order: sa.Column[Any], page: int, size: int
    ) -> tuple[list[dict[str, Any]], int]:
        conditions = list(where)
        total = (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions))).scalar_one()
        rows = (
            await conn.execute(
                sa.select(table).where(*conditions).order_by(order).offset((page - 1) * size).limit(size)
            )
        ).all()
        return [as_dict(r) for r in rows], int(total)


def _conflicting_field(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    for field in ("key_alias", "token", "team_id", "user_id"):
        if field in text:
            return field
    return "id"
