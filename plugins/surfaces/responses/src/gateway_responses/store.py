"""Stored responses: what ``GET /v1/responses/{id}`` answers and ``previous_response_id`` continues.

One row per stored response, in the gateway's database (``gateway.storage``), so every worker sees
it.  A row belongs to the principal (key) that created it: any other key is told it does not exist,
exactly as for an id that never existed or whose time ran out (OpenAI keeps responses 30 days).
``context`` holds the conversation up to and including this response's output as Responses items,
so continuing a conversation is one read, whatever its length.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()

responses = Table(
    "gateway_responses",
    metadata,
    Column("id", String(64), primary_key=True),
    #: ``Principal.id`` of the key that created it (never the raw key)
    Column("owner", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("response", JSON, nullable=False),
    #: this turn's input items
    Column("input_items", JSON, nullable=False),
    #: every item of the conversation so far: earlier turns, this input, this output
    Column("context", JSON, nullable=False),
    Index("ix_gateway_responses_expires_at", "expires_at"),
)

#: how long a stored response can be read or continued (OpenAI's retention)
RETENTION = dt.timedelta(days=30)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ResponseStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, response: dict[str, Any], owner: str, input_items: list[Any], context: list[Any]) -> None:
        now = _now()
        async with self.engine.begin() as conn:
            await conn.execute(
                responses.insert().values(
                    id=response["id"],
                    owner=owner,
                    created_at=now,
                    expires_at=now + RETENTION,
                    response=response,
                    input_items=input_items,
                    context=context,
                )
            )

    async def load(self, response_id: str, owner: str) -> dict[str, Any] | None:
        """The row, or None when it does not exist, has expired or belongs to another key."""
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(responses).where(
                            responses.c.id == response_id, responses.c.owner == owner, responses.c.expires_at > _now()
                        )
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    async def delete(self, response_id: str, owner: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(responses).where(responses.c.id == response_id, responses.c.owner == owner)
            )
        return bool(result.rowcount)

    async def purge_expired(self) -> int:
        """Delete the responses whose time is over; the number deleted."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(responses).where(responses.c.expires_at <= _now()))
        return int(result.rowcount or 0)
