"""The ledger database: idempotent batch inserts, daily roll-ups, totals.

``insert_batch`` writes request rows with ``ON CONFLICT (request_id) DO NOTHING`` and adds only
the rows that were really inserted to the daily roll-up, in the same transaction: shipping the
same record twice (a retry after a lost commit acknowledgement, a replay after ``kill -9``) changes
nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .tables import DAILY_DIMENSIONS, DAILY_SUMS, SCOPE_COLUMNS, from_picos, metadata, spend_daily, spend_logs


_ONE_DAY = timedelta(days=1)


def async_url(url: str) -> str:
    """``postgresql://`` / ``sqlite:///`` URLs with the async drivers this plugin ships with."""
    for plain, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                          ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(plain):
            return driver + url[len(plain):]
    return url


def utc(epoch: float) -> datetime:
    """Epoch seconds to the naive-UTC datetimes the tables store."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def row_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """A write-ahead record (JSON types) to a ``gateway_spend_logs`` row."""
    row = {c.name: record.get(c.name) for c in spend_logs.columns}
    row["start_time"] = utc(record["start_time"])
    row["end_time"] = utc(record["end_time"])
    for name in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "cache_creation_tokens",
                 "reasoning_tokens", "spend_pico"):
        row[name] = int(row[name] or 0)
    row["usage_estimated"] = bool(row["usage_estimated"])
    row["cache_hit"] = bool(row["cache_hit"])
    return row


class LedgerStore:
    """The ledger tables in one database (SQLite file or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, *, owns_engine: bool) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        #: an engine of our own is disposed by ``close``; the gateway's shared one is not
        self.owns_engine = owns_engine

    @classmethod
    def from_url(cls, url: str) -> LedgerStore:
        """A store with its own engine (``plugins.spend.database_url``)."""
        url = async_url(url)
        kwargs: dict[str, Any] = {}
        if url.startswith("postgresql"):
            kwargs.update(pool_size=5, max_overflow=5, pool_pre_ping=True, pool_timeout=5,
                          connect_args={"timeout": 5, "command_timeout": 30})
        return cls(create_async_engine(url, **kwargs), owns_engine=True)

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    async def create_tables(self) -> None:
        """Create missing tables and indexes (never alters or drops anything).

        Only for a database of the plugin's own; the gateway's shared database gets the Alembic
        revisions in ``migrations/`` instead (``gateway db upgrade``, or at start-up).
        """
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self.owns_engine:
            await self.engine.dispose()

    # ------------------------------------------------------------------ writing

    async def insert_batch(self, records: list[dict[str, Any]]) -> int:
        """Insert rows, skipping request ids already present; returns how many were new."""
        if not records:
            return 0
        rows = [row_from_record(r) for r in records]
        stmt = self._insert(spend_logs).on_conflict_do_nothing(index_elements=["request_id"]).returning(
            spend_logs.c.request_id
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt, rows)
            inserted = {r[0] for r in result.fetchall()}
            fresh = [row for row in rows if row["request_id"] in inserted]
            if fresh:
                await self._add_to_daily(conn, fresh)
        return len(fresh)

    async def _add_to_daily(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        totals: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(DAILY_SUMS, 0))
        for row in rows:
            dims = (row["start_time"].date(), *((row[d] or "") for d in DAILY_DIMENSIONS))
            sums = totals[dims]
            sums["prompt_tokens"] += row["prompt_tokens"]
            sums["completion_tokens"] += row["completion_tokens"]
            sums["cached_tokens"] += row["cached_tokens"]
            sums["spend_pico"] += row["spend_pico"]
            sums["api_requests"] += 1
            sums["successful_requests" if row["status"] == "success" else "failed_requests"] += 1
        values = [{"day": dims[0], **dict(zip(DAILY_DIMENSIONS, dims[1:], strict=True)), **sums}
                  for dims, sums in sorted(totals.items(), key=lambda item: str(item[0]))]
        stmt = self._insert(spend_daily)
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", *DAILY_DIMENSIONS],
            set_={name: getattr(spend_daily.c, name) + getattr(stmt.excluded, name) for name in DAILY_SUMS},
        )
        await conn.execute(stmt, values)

    # ------------------------------------------------------------------ reading

    async def spend_since(self, scope: str, scope_id: str, start: float) -> Decimal:
        """Spend of one scope since ``start`` (epoch seconds; 0 = ever), from the request rows."""
        query = select(func.coalesce(func.sum(spend_logs.c.spend_pico), 0))
        if scope != "global":
            column = SCOPE_COLUMNS.get(scope)
            if column is None:
                return Decimal(0)
            query = query.where(getattr(spend_logs.c, column) == scope_id)
        if start > 0:
            query = query.where(spend_logs.c.start_time >= utc(start))
        async with self.engine.connect() as conn:
            return from_picos(int((await conn.execute(query)).scalar_one()))

    async def totals(self, scope: str, ids: list[str]) -> dict[str, Decimal]:
        """All-time spend per id of ``scope``, from the daily roll-up."""
        column = SCOPE_COLUMNS.get(scope)
        if column is None or not ids:
            return dict.fromkeys(ids, Decimal(0))
        col = getattr(spend_daily.c, column)
        query = select(col, func.sum(spend_daily.c.spend_pico)).where(col.in_(ids)).group_by(col)
        async with self.engine.connect() as conn:
            found = {row[0]: from_picos(int(row[1] or 0)) for row in await conn.execute(query)}
        return {i: found.get(i, Decimal(0)) for i in ids}

    async def logs(self, filters: dict[str, Any], start: date | None, end: date | None, limit: int, offset: int
                   ) -> tuple[list[dict[str, Any]], int]:
        """Request rows matching ``filters`` (column -> value), newest first, and the total count."""
        conditions = [getattr(spend_logs.c, column) == value for column, value in filters.items()]
        if start is not None:
            conditions.append(spend_logs.c.start_time >= datetime.combine(start, datetime.min.time()))
        if end is not None:
            conditions.append(spend_logs.c.start_time < datetime.combine(end, datetime.min.time()) + _ONE_DAY)
        query = select(spend_logs).where(*conditions).order_by(spend_logs.c.start_time.desc(),
                                                               spend_logs.c.request_id).limit(limit).offset(offset)
        count = select(func.count()).select_from(spend_logs).where(*conditions)
        async with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query)]
            total = int((await conn.execute(count)).scalar_one())
        return rows, total

    async def daily_rows(self, start: date, end: date, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Roll-up rows for ``start``..``end`` (inclusive)."""
        conditions = [spend_daily.c.day >= start, spend_daily.c.day <= end]
        conditions += [getattr(spend_daily.c, column) == value for column, value in filters.items()]
        query = select(spend_daily).where(*conditions).order_by(spend_daily.c.day)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

