"""Tags (LiteLLM's ``/tag/*``): a named budget shared by every request that carries the tag.

A request carries tags in its body (``metadata.tags``, ``tags``), the ``x-litellm-tags`` header,
or its key's ``metadata.tags`` (core's ``gateway.routing.request_tags`` reads them all).  Every
worker keeps every tag row in memory (loaded at start-up, then kept current by the change log
like customers): gateway-spend's ``gateway_tag_scopes`` is answered with dict look-ups.  Unlike a
budget tier, a tag's budget is one counter: ``max_budget: 10`` on ``engineering`` caps what every
request tagged ``engineering`` spends together, across keys, teams and customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from gateway import BudgetScope

from . import tables as t
from .principal import scope
from .tiers import LIMIT_FIELDS, Tiers, with_tier

#: the tag table (migration vk0005); ``tag_name`` is the tag requests carry
tags = sa.Table(
    "vk_tags",
    t.metadata,
    sa.Column("tag_name", sa.String(255), primary_key=True),
    sa.Column("description", sa.Text),
    #: a budget tier whose limits fill in the ones the tag leaves unset
    sa.Column("budget_id", sa.String(255), index=True),
    *t._limits(),
    *t._stamps(),
)


def tag_scope(row: Mapping[str, Any], tiers: Tiers) -> BudgetScope | None:
    """The tag's budget and limits (None when it sets none: it is then only a name)."""
    row = with_tier(row, tiers)
    if all(row.get(name) is None for name in LIMIT_FIELDS):
        return None
    return scope("tag", row["tag_name"], row, None)


class Tags:
    """Every tag of the database with a budget or limit, by name (one worker's copy)."""

    def __init__(self) -> None:
        self.scopes: dict[str, BudgetScope] = {}

    def replace_all(self, rows: Iterable[Mapping[str, Any]], tiers: Tiers) -> None:
        found = {row["tag_name"]: tag_scope(row, tiers) for row in rows}
        self.scopes = {name: s for name, s in found.items() if s is not None}

    def put(self, name: str, row: Mapping[str, Any] | None, tiers: Tiers) -> None:
        found = tag_scope(row, tiers) if row is not None else None
        if found is None:
            self.scopes.pop(name, None)
        else:
            self.scopes[name] = found

    def scopes_for(self, names: Iterable[str]) -> list[BudgetScope] | None:
        scopes = self.scopes
        if not scopes:
            return None
        found = [scopes[name] for name in names if name in scopes]
        return found or None


async def all_tags(store: Any) -> list[dict[str, Any]]:
    """Every tag row (start-up, and when a budget tier changed)."""
    async with store.read() as conn:
        return [dict(row._mapping) for row in (await conn.execute(sa.select(tags))).all()]


async def one_tag(store: Any, name: str) -> dict[str, Any] | None:
    async with store.read() as conn:
        return await store.get(conn, tags, "tag_name", name)
