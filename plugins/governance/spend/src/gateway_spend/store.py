"""The ledger database: idempotent batch inserts, daily roll-ups, totals.

``insert_batch`` writes request rows with ``ON CONFLICT (request_id) DO NOTHING`` and adds only
the rows that were really inserted to the daily roll-up, in the same transaction: shipping the
same record twice (a retry after a lost commit acknowledgement, a replay after ``kill -9``, the
same record twice in one batch) changes nothing.

On PostgreSQL a batch of any size is one statement of one fixed text: the rows travel as one JSON
parameter (``json_to_recordset``), and the roll-up is computed from the ``RETURNING`` of the
insert in the same statement.  One text means one prepared statement per connection.  A
``VALUES`` list per row (SQLAlchemy's *insertmanyvalues*) gives a different text for every batch
size: asyncpg and SQLAlchemy then cache up to 100 prepared statements per pooled connection, each
holding a statement of up to hundreds of kilobytes, and PostgreSQL keeps a server-side plan for
each; that was the ledger's memory growth (``bench/ledger_memory.py``).

Every string is passed through :func:`~.limits.storable` on its way in, and the ids that budget
re-seeding asks for on their way to the query, so the two always agree.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from sqlalchemy import String, bindparam, func, inspect, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .limits import STRING_COLUMNS, TAG_CHARS, storable
from .tables import (
    DAILY_DIMENSIONS,
    DAILY_SUMS,
    LOG_ONLY_SCOPE_COLUMNS,
    SCOPE_COLUMNS,
    from_picos,
    metadata,
    spend_daily,
    spend_logs,
    spend_tags,
)

_ONE_DAY = timedelta(days=1)
#: plain ``str`` names (SQLAlchemy's are a ``str`` subclass, which orjson does not take as keys)
_LOG_COLUMNS = tuple(str(c.name) for c in spend_logs.columns)
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1
_TOKEN_COLUMNS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
)
#: what a dead letter keeps in the ledger: who spent how much and when (see :func:`skeleton_of`)
_SKELETON_FIELDS = (
    "request_id",
    "client_request_id",
    "response_id",
    "call_type",
    "api_key",
    "key_alias",
    "user_id",
    "team_id",
    "team_alias",
    "organization_id",
    "end_user",
    "requested_model",
    "model_group",
    "model_id",
    "model",
    "custom_llm_provider",
    "spend",
    "price_source",
    "status",
    "start_time",
    "end_time",
    "usage_estimated",
    "cache_hit",
    "cost_unknown",
    "request_tags",
)


def _pg_type(column: Any) -> str:
    """The PostgreSQL type ``json_to_recordset`` reads a column as (lengths are checked on insert)."""
    name = type(column.type).__name__
    return {
        "String": "text",
        "Text": "text",
        "Integer": "integer",
        "BigInteger": "bigint",
        "Boolean": "boolean",
        "DateTime": "timestamp",
        "Float": "double precision",
        "JSON": "json",
    }[name]


def _pg_insert_sql() -> str:
    """The one statement text of every PostgreSQL batch: insert new rows, roll them up, count them."""
    columns = [c.name for c in spend_logs.columns]
    quoted = ", ".join(f'"{c}"' for c in columns)
    record_type = ", ".join(f'"{c.name}" {_pg_type(c)}' for c in spend_logs.columns)
    dims = ", ".join(f"coalesce({d}, '')" for d in DAILY_DIMENSIONS)
    updates = ", ".join(f"{s} = gateway_spend_daily.{s} + excluded.{s}" for s in DAILY_SUMS)
    return f"""
WITH inserted AS (
    INSERT INTO gateway_spend_logs ({quoted})
    SELECT {quoted} FROM json_to_recordset(CAST(:rows AS json)) AS batch({record_type})
    ON CONFLICT (request_id) DO NOTHING
    RETURNING start_time, {", ".join(DAILY_DIMENSIONS)}, prompt_tokens, completion_tokens, cached_tokens,
              spend_pico, status, saved_pico, request_id, request_tags
), tagged AS (
    INSERT INTO gateway_spend_tags (request_id, tag, start_time, spend_pico)
    SELECT inserted.request_id, request_tag.tag, inserted.start_time, inserted.spend_pico
    FROM inserted CROSS JOIN LATERAL json_array_elements_text(
        CASE WHEN json_typeof(inserted.request_tags) = 'array' THEN inserted.request_tags ELSE '[]'::json END
    ) AS request_tag(tag)
    ON CONFLICT DO NOTHING
), rolled_up AS (
    INSERT INTO gateway_spend_daily (day, {", ".join(DAILY_DIMENSIONS)}, {", ".join(DAILY_SUMS)})
    SELECT CAST(start_time AS date), {dims}, sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
           sum(spend_pico), count(*), count(*) FILTER (WHERE status = 'success'),
           count(*) FILTER (WHERE status <> 'success'), sum(saved_pico)
    FROM inserted GROUP BY 1, {", ".join(str(i) for i in range(2, len(DAILY_DIMENSIONS) + 2))}
    ON CONFLICT (day, {", ".join(DAILY_DIMENSIONS)}) DO UPDATE SET {updates}
    RETURNING 1
)
SELECT count(*) FROM inserted"""


_PG_INSERT = text(_pg_insert_sql()).bindparams(bindparam("rows", type_=String))


def async_url(url: str) -> str:
    """``postgresql://`` / ``sqlite:///`` URLs with the async drivers this plugin ships with."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _without_param(url: str, name: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode(query)))


def utc(epoch: float) -> datetime:
    """Epoch seconds to the naive-UTC datetimes the tables store."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def row_from_record(record: dict[str, Any]) -> dict[str, Any]:
    """A write-ahead record (JSON types) to a ``gateway_spend_logs`` row (strings made storable)."""
    row = {name: record.get(name) for name in _LOG_COLUMNS}
    for name, limit in STRING_COLUMNS.items():
        value = row[name]
        if value is not None:
            row[name] = storable(str(value), limit)
    if row["error"] is not None:
        row["error"] = str(row["error"]).replace("\x00", "\ufffd")
    for name in ("metadata", "guardrail"):
        if row[name] is not None and b"\\u0000" in orjson.dumps(row[name]):
            row[name] = _without_nul(row[name])
    row["start_time"] = utc(record["start_time"])
    row["end_time"] = utc(record["end_time"])
    for name in (*_TOKEN_COLUMNS, "spend_pico", "saved_pico"):  # saved_pico: 0 in records written before it
        row[name] = int(row[name] or 0)
    row["usage_estimated"] = bool(row["usage_estimated"])
    row["cache_hit"] = bool(row["cache_hit"])
    row["cost_unknown"] = bool(row["cost_unknown"])  # records written before the column: False
    row["request_tags"] = _tags(row["request_tags"])
    return row


def _tags(value: Any) -> list[str] | None:
    """A record's ``request_tags`` as stored: each tag once, storable (None: no tags)."""
    if not isinstance(value, list):
        return None
    tags = list(dict.fromkeys(storable(tag, TAG_CHARS) for tag in value if isinstance(tag, str) and tag))
    return tags or None


def _without_nul(value: Any) -> Any:
    """A JSON value with every NUL character of its strings and keys replaced (PostgreSQL refuses them).

    Recursion is safe: records were encoded by orjson, which refuses nesting deeper than 254.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def skeleton_of(record: dict[str, Any], reason: str) -> dict[str, Any]:
    """What the ledger keeps of a record the database refused: its ids, cost and times.

    The full record goes to the dead-letter file; this row keeps its spend where budget
    re-seeding, reports and ``/key/info`` totals read it.  Nothing in it can be refused by a
    database that stores any row at all: strings are made storable, numbers fit their columns.
    """
    skeleton: dict[str, Any] = {name: record.get(name) for name in _SKELETON_FIELDS}
    for name in _TOKEN_COLUMNS:
        value = record.get(name)
        skeleton[name] = min(max(value, 0), _INT32) if isinstance(value, int) else 0
    pico = record.get("spend_pico")
    skeleton["spend_pico"] = min(max(pico, -_INT64), _INT64) if isinstance(pico, int) else 0
    saved = record.get("saved_pico")
    skeleton["saved_pico"] = min(max(saved, 0), _INT64) if isinstance(saved, int) else 0
    status = record.get("http_status")
    skeleton["http_status"] = status if isinstance(status, int) and 0 <= status <= _INT32 else None
    skeleton["metadata"] = {"dead_letter": reason[:1000]}
    skeleton["error"] = "the database refused this request's record; the full record is in the dead-letter file"
    return skeleton


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
            from gateway.storage import postgres_connect_args

            # ?pgbouncer=true: no prepared statement reused (a transaction-mode pooler cannot carry them)
            pooler = postgres_connect_args(url)
            url = _without_param(url, "pgbouncer")
            kwargs.update(
                pool_size=5,
                max_overflow=5,
                pool_pre_ping=True,
                pool_timeout=5,
                connect_args={"timeout": 5, "command_timeout": 30, **pooler},
            )
        return cls(create_async_engine(url, **kwargs), owns_engine=True)

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    async def create_tables(self) -> None:
        """Create missing tables, indexes and (added) columns; never drops or changes anything.

        Only for a database of the plugin's own; the gateway's shared database gets the Alembic
        revisions in ``migrations/`` instead (``gateway db upgrade``, or at start-up).
        """
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(_add_missing_columns)

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
        # the same request twice in one batch is one row and is rolled up once (the first copy wins)
        unique: dict[str, dict[str, Any]] = {}
        for record in records:
            row = row_from_record(record)
            unique.setdefault(row["request_id"], row)
        rows = list(unique.values())
        if self.dialect == "postgresql":
            payload = orjson.dumps(rows).decode()
            async with self.engine.begin() as conn:
                return int((await conn.execute(_PG_INSERT, {"rows": payload})).scalar_one())
        stmt = (
            self._insert(spend_logs)
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(spend_logs.c.request_id)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt, rows)
            inserted = {r[0] for r in result.fetchall()}
            fresh = [row for row in rows if row["request_id"] in inserted]
            if fresh:
                await self._add_to_daily(conn, fresh)
                tagged = [
                    {
                        "request_id": r["request_id"],
                        "tag": tag,
                        "start_time": r["start_time"],
                        "spend_pico": r["spend_pico"],
                    }
                    for r in fresh
                    for tag in r["request_tags"] or ()
                ]
                if tagged:
                    await conn.execute(self._insert(spend_tags).on_conflict_do_nothing(), tagged)
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
            sums["saved_pico"] += row["saved_pico"]
            sums["api_requests"] += 1
            sums["successful_requests" if row["status"] == "success" else "failed_requests"] += 1
        values = [
            {"day": dims[0], **dict(zip(DAILY_DIMENSIONS, dims[1:], strict=True)), **sums}
            for dims, sums in sorted(totals.items(), key=lambda item: str(item[0]))
        ]
        stmt = self._insert(spend_daily)
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", *DAILY_DIMENSIONS],
            set_={name: getattr(spend_daily.c, name) + getattr(stmt.excluded, name) for name in DAILY_SUMS},
        )
        await conn.execute(stmt, values)

    # ------------------------------------------------------------------ reading

    async def spend_since(self, scope: str, scope_id: str, start: float) -> Decimal:
        """Spend of one scope since ``start`` (epoch seconds; 0 = ever), from the request rows.

        Dead letters are included: their skeleton rows (:func:`skeleton_of`) carry their spend.
        """
        if scope == "tag":
            return await self._tag_spend_since(scope_id, start)
        query = select(func.coalesce(func.sum(spend_logs.c.spend_pico), 0))
        if scope != "global":
            column = SCOPE_COLUMNS.get(scope) or LOG_ONLY_SCOPE_COLUMNS.get(scope)
            if column is None:
                return Decimal(0)
            query = query.where(getattr(spend_logs.c, column) == storable(scope_id, STRING_COLUMNS[column]))
        if start > 0:
            query = query.where(spend_logs.c.start_time >= utc(start))
        async with self.engine.connect() as conn:
            return from_picos(int((await conn.execute(query)).scalar_one()))

    async def _tag_spend_since(self, tag: str, start: float) -> Decimal:
        query = select(func.coalesce(func.sum(spend_tags.c.spend_pico), 0)).where(
            spend_tags.c.tag == storable(tag, TAG_CHARS)
        )
        if start > 0:
            query = query.where(spend_tags.c.start_time >= utc(start))
        async with self.engine.connect() as conn:
            return from_picos(int((await conn.execute(query)).scalar_one()))

    async def _tag_totals(self, ids: list[str]) -> dict[str, Decimal]:
        stored = {i: storable(i, TAG_CHARS) for i in ids}
        query = (
            select(spend_tags.c.tag, func.sum(spend_tags.c.spend_pico))
            .where(spend_tags.c.tag.in_(set(stored.values())))
            .group_by(spend_tags.c.tag)
        )
        async with self.engine.connect() as conn:
            found = {row[0]: from_picos(int(row[1] or 0)) for row in await conn.execute(query)}
        return {i: found.get(stored[i], Decimal(0)) for i in ids}

    async def totals(self, scope: str, ids: list[str]) -> dict[str, Decimal]:
        """All-time spend per id of ``scope``, from the daily roll-up."""
        if scope == "tag" and ids:
            return await self._tag_totals(ids)
        column = SCOPE_COLUMNS.get(scope)
        if scope in LOG_ONLY_SCOPE_COLUMNS and ids:
            return await self._log_totals(LOG_ONLY_SCOPE_COLUMNS[scope], ids)
        if column is None or not ids:
            return dict.fromkeys(ids, Decimal(0))
        col = getattr(spend_daily.c, column)
        stored = {i: storable(i, STRING_COLUMNS[column]) for i in ids}
        query = select(col, func.sum(spend_daily.c.spend_pico)).where(col.in_(set(stored.values()))).group_by(col)
        async with self.engine.connect() as conn:
            found = {row[0]: from_picos(int(row[1] or 0)) for row in await conn.execute(query)}
        return {i: found.get(stored[i], Decimal(0)) for i in ids}

    async def _log_totals(self, column: str, ids: list[str]) -> dict[str, Decimal]:
        """All-time spend per id of a column the roll-up does not keep, from the request rows (indexed)."""
        col = getattr(spend_logs.c, column)
        stored = {i: storable(i, STRING_COLUMNS[column]) for i in ids}
        query = select(col, func.sum(spend_logs.c.spend_pico)).where(col.in_(set(stored.values()))).group_by(col)
        async with self.engine.connect() as conn:
            found = {row[0]: from_picos(int(row[1] or 0)) for row in await conn.execute(query)}
        return {i: found.get(stored[i], Decimal(0)) for i in ids}

    async def organization_rows(self, start: date, end: date, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Per day, organization, model group and key: the request rows summed (the roll-up has no
        organization dimension), in the roll-up's row shape so the report builds from either."""
        rows = await self._request_rows_by(spend_logs.c.organization_id, spend_logs, start, end, filters)
        for row in rows:
            row["organization_id"] = row["organization_id"] or ""
        return rows

    async def tag_rows(self, start: date, end: date, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Per day, tag, model group and key: the request rows of each tag summed (a request with
        two tags counts for both), in the roll-up's row shape so the report builds from either."""
        joined = spend_tags.join(spend_logs, spend_tags.c.request_id == spend_logs.c.request_id)
        return await self._request_rows_by(spend_tags.c.tag, joined, start, end, filters)

    async def _request_rows_by(
        self, dimension: Any, source: Any, start: date, end: date, filters: dict[str, str]
    ) -> list[dict[str, Any]]:
        """The request rows of ``source`` from ``start`` to ``end`` (days, inclusive) matching
        ``filters``, summed per day, ``dimension``, model group and key, as the roll-up's rows."""
        day = func.date(spend_logs.c.start_time).label("day")
        conditions = [
            spend_logs.c.start_time >= datetime.combine(start, datetime.min.time()),
            spend_logs.c.start_time < datetime.combine(end, datetime.min.time()) + _ONE_DAY,
        ]
        conditions += [
            getattr(spend_logs.c, column) == storable(value, STRING_COLUMNS[column])
            for column, value in filters.items()
        ]
        dims = (dimension, spend_logs.c.model_group, spend_logs.c.api_key)
        query = (
            select(
                day,
                *dims,
                func.sum(spend_logs.c.prompt_tokens).label("prompt_tokens"),
                func.sum(spend_logs.c.completion_tokens).label("completion_tokens"),
                func.sum(spend_logs.c.spend_pico).label("spend_pico"),
                func.sum(spend_logs.c.saved_pico).label("saved_pico"),
                func.count().label("api_requests"),
            )
            .select_from(source)
            .where(*conditions)
            .group_by(day, *dims)
        )
        async with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query)]
        for row in rows:
            if isinstance(row["day"], str):  # SQLite's date() is text
                row["day"] = date.fromisoformat(row["day"])
            for name in ("prompt_tokens", "completion_tokens", "spend_pico", "saved_pico", "api_requests"):
                row[name] = int(row[name] or 0)
            row["model_group"] = row["model_group"] or ""
            row["api_key"] = row["api_key"] or ""
        return rows

    async def logs(
        self, filters: dict[str, Any], start: date | None, end: date | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Request rows matching ``filters`` (column -> value), newest first, and the total count.

        ``request_id`` matches the gateway's id, the client's ``x-request-id`` (which a client
        may have sent with several requests: all of them are found) or the answer's own id
        (``chatcmpl-...``: LiteLLM's request id).
        """
        conditions = []
        for column, value in filters.items():
            if column in STRING_COLUMNS:
                value = storable(value, STRING_COLUMNS[column])
            if column == "request_id":
                conditions.append(
                    or_(
                        spend_logs.c.request_id == value,
                        spend_logs.c.client_request_id == value,
                        spend_logs.c.response_id == value,
                    )
                )
            else:
                conditions.append(getattr(spend_logs.c, column) == value)
        if start is not None:
            conditions.append(spend_logs.c.start_time >= datetime.combine(start, datetime.min.time()))
        if end is not None:
            conditions.append(spend_logs.c.start_time < datetime.combine(end, datetime.min.time()) + _ONE_DAY)
        query = (
            select(spend_logs)
            .where(*conditions)
            .order_by(spend_logs.c.start_time.desc(), spend_logs.c.request_id)
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(spend_logs).where(*conditions)
        async with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query)]
            total = int((await conn.execute(count)).scalar_one())
        return rows, total

    async def team_aliases(self, team_ids: list[str]) -> dict[str, str]:
        """Each team's alias as its most recent request row recorded it (teams without one are left out)."""
        found: dict[str, str] = {}
        async with self.engine.connect() as conn:
            for team_id in team_ids:
                query = (
                    select(spend_logs.c.team_alias)
                    .where(spend_logs.c.team_id == team_id, spend_logs.c.team_alias.is_not(None))
                    .order_by(spend_logs.c.start_time.desc())
                    .limit(1)
                )
                alias = (await conn.execute(query)).scalar_one_or_none()
                if alias:
                    found[team_id] = alias
        return found

    async def daily_rows(self, start: date, end: date, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Roll-up rows for ``start``..``end`` (inclusive)."""
        conditions = [spend_daily.c.day >= start, spend_daily.c.day <= end]
        conditions += [
            getattr(spend_daily.c, column) == storable(value, STRING_COLUMNS[column])
            for column, value in filters.items()
        ]
        query = select(spend_daily).where(*conditions).order_by(spend_daily.c.day)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]


#: columns added after the first release: (column DDL, index over it or None)
_ADDED_COLUMNS = {
    "client_request_id": ("VARCHAR(255)", "ix_gateway_spend_logs_client_request_id"),
    "response_id": ("VARCHAR(255)", "ix_gateway_spend_logs_response_id"),
    "cost_unknown": ("BOOLEAN NOT NULL DEFAULT FALSE", None),
    "organization_id": ("VARCHAR(255)", "ix_gateway_spend_logs_organization_start"),
    "request_tags": ("JSON", None),
}


def _add_missing_columns(conn: Any) -> None:
    """A plugin-owned ledger created by an earlier version gets the columns added since (additive)."""
    present = {c["name"] for c in inspect(conn).get_columns("gateway_spend_logs")}
    for name, (ddl, index) in _ADDED_COLUMNS.items():
        if name in present:
            continue
        conn.execute(text(f"ALTER TABLE gateway_spend_logs ADD COLUMN {name} {ddl}"))
        if index is not None:  # the index the table declares (it may span more columns than this one)
            next(i for i in spend_logs.indexes if i.name == index).create(conn)
