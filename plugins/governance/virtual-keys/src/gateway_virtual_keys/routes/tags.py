"""``/tag/*``: new, info, update, delete, list (LiteLLM's tag budgets, docs/proxy/tag_budgets).

A tag is a name requests carry (``metadata.tags``, ``tags``, ``x-litellm-tags``, or their key's
``metadata.tags``) with a budget and limits shared by every request carrying it: gateway-spend
charges it in the same atomic admission as the key's own budget.  Fields as LiteLLM's
``TagNewRequest``: ``name``, ``description``, ``budget_id`` (a tier filling in the limits left
unset), ``max_budget``, ``soft_budget``, ``budget_duration``, ``tpm_limit``, ``rpm_limit``,
``max_parallel_requests``.  ``models`` / ``model_info`` (LiteLLM adds the tag to those
deployments for tag routing) are refused unless empty: here deployments carry their tags in the
config (``litellm_params.tags``).  An admin key writes, an admin or admin-viewer key reads.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import Field, field_validator
from starlette.requests import Request

from gateway import BadRequestError

from ..bodies import MAX_IDS, Count, Duration, Id, Money, SmallCount, Strict, parse, sent
from ..roles import Caller
from ..state import PluginState
from ..store import as_dict
from ..tags import tags as tag_table
from ..tiers import LIMIT_FIELDS, Tiers, with_tier
from .common import body_of, budget_reset_at, check_tier, find_row, jsonable, require_enforced, spend_of, stamps
from .customers import _tiers_of

MAX_DESCRIPTION = 10_000
ROUTING_FIELDS = ("models", "model_info")


class TagFields(Strict):
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    budget_id: Id | None = None
    max_budget: Money = None
    soft_budget: Money = None
    budget_duration: Duration = None
    tpm_limit: Count = None
    rpm_limit: Count = None
    max_parallel_requests: SmallCount = None
    #: LiteLLM's deployments for the tag: accepted only empty (see the module doc)
    models: list[Any] | None = None
    model_info: dict[str, Any] | None = None

    @field_validator(*ROUTING_FIELDS)
    @classmethod
    def _empty(cls, value: Any) -> Any:
        if value:
            raise ValueError(
                "is not served: a tag's deployments are the ones whose litellm_params.tags name it in the config "
                "(with router_settings.enable_tag_filtering); leave it empty"
            )
        return None


class NewTag(TagFields):
    name: Id


class UpdateTag(TagFields):
    name: Id


class TagInfo(Strict):
    names: list[Id] = Field(min_length=1, max_length=MAX_IDS)


class DeleteTag(Strict):
    name: Id


def _values(body: TagFields) -> dict[str, Any]:
    values = sent(body, "name", *ROUTING_FIELDS)
    if "description" in values:
        values["description"] = values["description"] or None
    return values


def _out(row: dict[str, Any], spend: Any, tiers: Tiers) -> dict[str, Any]:
    applied = with_tier(row, tiers)
    limits = {name: jsonable(row.get(name)) for name in LIMIT_FIELDS}
    table = {name: jsonable(applied.get(name)) for name in LIMIT_FIELDS}
    return {
        "name": row["tag_name"],
        "description": row.get("description"),
        "models": [],
        "model_info": {},
        "spend": float(spend),
        "budget_id": row.get("budget_id"),
        **limits,
        "budget_reset_at": budget_reset_at(applied.get("budget_duration")),
        # LiteLLM's litellm_budget_table: the limits that apply (the tier's where the tag sets none)
        "litellm_budget_table": {"budget_id": row.get("budget_id"), **table}
        if row.get("budget_id") or any(v is not None for v in table.values())
        else None,
        "created_at": jsonable(row.get("created_at")),
        "updated_at": jsonable(row.get("updated_at")),
        "created_by": row.get("created_by"),
    }


async def _answers(state: PluginState, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async with state.store.read() as conn:
        tiers = await _tiers_of(conn, rows)
    spend = await spend_of(state, "tag", [row["tag_name"] for row in rows])
    return [_out(row, spend[row["tag_name"]], tiers) for row in rows]


async def _answer(state: PluginState, name: str) -> dict[str, Any]:
    async with state.store.read() as conn:
        row = await find_row(conn, state, tag_table, "tag_name", name, "tag")
    return (await _answers(state, [row]))[0]


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/tag/new")
    body = parse(NewTag, await body_of(request, state))
    values = {k: v for k, v in _values(body).items() if v is not None}
    require_enforced(state, values, "tag")
    await check_tier(state, caller, "/tag/new", body.budget_id)
    async with state.store.write() as w:
        if await state.store.get(w.conn, tag_table, "tag_name", body.name) is not None:
            raise BadRequestError(
                f"'name': tag {body.name!r} exists already; change it with POST /tag/update", param="name"
            )
        await state.store.insert(w.conn, tag_table, {"tag_name": body.name, **values, **stamps(caller, new=True)})
        w.changed("tag", body.name)
    return await _answer(state, body.name)


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/tag/update")
    body = parse(UpdateTag, await body_of(request, state))
    values = _values(body)
    require_enforced(state, values, "tag")
    await check_tier(state, caller, "/tag/update", values.get("budget_id"))
    async with state.store.write() as w:
        await find_row(w.conn, state, tag_table, "tag_name", body.name, "tag")
        if values:
            await state.store.update(w.conn, tag_table, "tag_name", body.name, {**values, **stamps(caller, new=False)})
        w.changed("tag", body.name)
    return await _answer(state, body.name)


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    """LiteLLM's ``POST /tag/info`` with ``{"names": [...]}``: each tag by name (404 if one is missing)."""
    caller.require_reader("/tag/info")
    body = parse(TagInfo, await body_of(request, state))
    names = list(dict.fromkeys(body.names))
    async with state.store.read() as conn:
        rows = [await find_row(conn, state, tag_table, "tag_name", name, "tag") for name in names]
    return {answer["name"]: answer for answer in await _answers(state, rows)}


async def list_tags(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    caller.require_reader("/tag/list")
    async with state.store.read() as conn:
        found = await conn.execute(sa.select(tag_table).order_by(tag_table.c.created_at, tag_table.c.tag_name))
        rows = [as_dict(row) for row in found.all()]
    return await _answers(state, rows)


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    """Forget a tag's budget and limits; requests may still carry the name, and its spend stays in the ledger."""
    caller.require_admin("/tag/delete")
    body = parse(DeleteTag, await body_of(request, state))
    async with state.store.write() as w:
        await find_row(w.conn, state, tag_table, "tag_name", body.name, "tag")
        await w.conn.execute(sa.delete(tag_table).where(tag_table.c.tag_name == body.name))
        w.changed("tag", body.name)
    return {"message": f"Tag {body.name} deleted successfully", "name": body.name}
