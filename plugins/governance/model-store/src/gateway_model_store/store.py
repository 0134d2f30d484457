"""The ``ms_models`` table and the ``ms_version`` counter, on the gateway's SQL store.

Every write bumps ``ms_version`` in the same transaction: a worker that reads a new version
reloads the table (it is small: one row per deployment) and sees every committed change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .crypto import Sealer

metadata = sa.MetaData()
models = sa.Table(
    "ms_models",
    metadata,
    sa.Column("model_id", sa.String(255), primary_key=True),
    sa.Column("model_name", sa.String(255), nullable=False),
    sa.Column("litellm_params", sa.Text, nullable=False),
    sa.Column("model_info", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(255)),
    sa.Column("updated_by", sa.String(255)),
)
version = sa.Table(
    "ms_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)


@dataclass(slots=True)
class StoredModel:
    model_id: str
    model_name: str
    #: the sealed ``litellm_params``; :meth:`Store.params` opens it
    sealed: str
    model_info: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    created_by: str | None

    def entry(self, params: dict[str, Any]) -> dict[str, Any]:
        """The ``model_list`` entry it stores."""
        return {"model_name": self.model_name, "litellm_params": params, "model_info": {**self.model_info}}


class Store:
    def __init__(self, engine: AsyncEngine, sealer: Sealer) -> None:
        self.engine = engine
        self.sealer = sealer

    def params(self, row: StoredModel) -> dict[str, Any]:
        loaded: dict[str, Any] = orjson.loads(self.sealer.open(row.sealed))
        return loaded

    async def current_version(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(version.c.version).where(version.c.id == 1))
        return int(value or 0)

    async def all(self) -> list[StoredModel]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(models).order_by(models.c.created_at, models.c.model_id))).all()
        return [_stored(row) for row in rows]

    async def get(self, model_id: str) -> StoredModel | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(models).where(models.c.model_id == model_id))).first()
        return _stored(row) if row is not None else None

    async def insert(self, entry: dict[str, Any], model_id: str, by: str | None) -> bool:
        """Store a new model; False when the id is taken (nothing written)."""
        now = datetime.now(UTC)
        row = {
            "model_id": model_id,
            "model_name": entry["model_name"],
            "litellm_params": self._seal(entry["litellm_params"]),
            "model_info": entry.get("model_info") or {},
            "created_at": now,
            "updated_at": now,
            "created_by": by,
            "updated_by": by,
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(models.insert().values(**row))
                await _bump(conn)
        except sa.exc.IntegrityError:  # the id is taken (or was, by a concurrent insert)
            return False
        return True

    async def update(self, entry: dict[str, Any], model_id: str, by: str | None) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                models.update()
                .where(models.c.model_id == model_id)
                .values(
                    model_name=entry["model_name"],
                    litellm_params=self._seal(entry["litellm_params"]),
                    model_info=entry.get("model_info") or {},
                    updated_at=datetime.now(UTC),
                    updated_by=by,
                )
            )
            if not result.rowcount:
                return False
            await _bump(conn)
        return True

    async def delete(self, model_id: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(models.delete().where(models.c.model_id == model_id))
            if not result.rowcount:
                return False
            await _bump(conn)
        return True

    def _seal(self, params: dict[str, Any]) -> str:
        return self.sealer.seal(orjson.dumps(params))


async def _bump(conn: AsyncConnection) -> None:
    # an UPDATE takes the row lock: concurrent writers commit one after the other, each with its own version
    await conn.execute(version.update().where(version.c.id == 1).values(version=version.c.version + 1))


def _stored(row: Any) -> StoredModel:
    return StoredModel(
        model_id=row.model_id,
        model_name=row.model_name,
        sealed=row.litellm_params,
        model_info=dict(row.model_info or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )
