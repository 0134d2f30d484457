"""``/budget/*``: new, info, update, delete, list, settings (LiteLLM's budget tiers).

A tier is a named set of limits (``max_budget``, ``soft_budget``, ``budget_duration``,
``tpm_limit``, ``rpm_limit``, ``max_parallel_requests``) that keys, teams and customers point to
with ``budget_id``.  As LiteLLM documents it, each member gets the tier's limits for itself (its
own counters); a member's own value of a limit wins over the tier's.  An admin key writes, an
admin or admin-viewer key reads.  Deleting a tier that still has members is a 400 naming them.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from gateway import BadRequestError

from .. import tables as t
from ..bodies import BudgetInfo, DeleteBudget, NewBudget, UpdateBudget, parse, sent
from ..roles import Caller
from ..state import PluginState
from ..store import as_dict
from ..tags import tags as tag_table
from .common import body_of, find_row, require_enforced, row_out, stamps

#: what /budget/settings says of each limit field (LiteLLM's answer: one entry per field)
FIELD_DOCS = {
    "max_budget": ("float", "the most each member may spend (USD) per budget_duration"),
    "soft_budget": ("float", "spend at which an alert is sent; requests go on"),
    "budget_duration": ("str", "when the budget resets: 30s, 15m, 24h, 30d, 1mo"),
    "tpm_limit": ("int", "tokens per minute, per member"),
    "rpm_limit": ("int", "requests per minute, per member"),
    "max_parallel_requests": ("int", "requests in flight at once, per member"),
}
MEMBER_TABLES = (
    (t.keys, "keys", "id"),
    (t.teams, "teams", "team_id"),
    (t.customers, "customers", "user_id"),
    (t.organizations, "organizations", "organization_id"),
    (tag_table, "tags", "tag_name"),
)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return row_out(row, "created_by", "updated_by")


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/budget/new")
    body = parse(NewBudget, await body_of(request, state))
    values = {k: v for k, v in sent(body, "budget_id").items() if v is not None}
    require_enforced(state, values, "budget tier")
    budget_id = body.budget_id or str(uuid.uuid4())
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.budgets, "budget_id", budget_id) is not None:
            raise BadRequestError(
                f"'budget_id': budget tier {budget_id!r} exists already; change it with POST /budget/update",
                param="budget_id",
            )
        await state.store.insert(w.conn, t.budgets, {"budget_id": budget_id, **values, **stamps(caller, new=True)})
        w.changed("budget", budget_id)
        row = await find_row(w.conn, state, t.budgets, "budget_id", budget_id, "budget tier")
    return _out(row)


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/budget/update")
    body = parse(UpdateBudget, await body_of(request, state))
    values = sent(body, "budget_id")
    require_enforced(state, values, "budget tier")
    async with state.store.write() as w:
        await find_row(w.conn, state, t.budgets, "budget_id", body.budget_id, "budget tier")
        if values:
            await state.store.update(
                w.conn, t.budgets, "budget_id", body.budget_id, {**values, **stamps(caller, new=False)}
            )
        w.changed("budget", body.budget_id)
        row = await find_row(w.conn, state, t.budgets, "budget_id", body.budget_id, "budget tier")
    return _out(row)


async def info(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    """LiteLLM's ``POST /budget/info`` with ``{"budgets": [...]}``: those tiers (404 if one is missing)."""
    caller.require_reader("/budget/info")
    body = parse(BudgetInfo, await body_of(request, state))
    async with state.store.read() as conn:
        return [
            _out(await find_row(conn, state, t.budgets, "budget_id", budget_id, "budget tier"))
            for budget_id in body.budgets
        ]


async def list_budgets(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    caller.require_reader("/budget/list")
    async with state.store.read() as conn:
        rows = await conn.execute(sa.select(t.budgets).order_by(t.budgets.c.created_at, t.budgets.c.budget_id))
        return [_out(as_dict(row)) for row in rows.all()]


async def settings(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    """LiteLLM's ``GET /budget/settings?budget_id=``: each field of the tier, described, with its value."""
    caller.require_reader("/budget/settings")
    budget_id = request.query_params.get("budget_id")
    if not budget_id:
        raise BadRequestError("'budget_id': required (GET /budget/settings?budget_id=...)", param="budget_id")
    async with state.store.read() as conn:
        row = await find_row(conn, state, t.budgets, "budget_id", budget_id, "budget tier")
    out = _out(row)
    return [
        {
            "field_name": name,
            "field_type": kind,
            "field_description": description,
            "field_value": out.get(name),
            "stored_in_db": True,
            "field_default_value": None,
        }
        for name, (kind, description) in FIELD_DOCS.items()
    ]


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/budget/delete")
    body = parse(DeleteBudget, await body_of(request, state))
    async with state.store.write() as w:
        row = await find_row(w.conn, state, t.budgets, "budget_id", body.id, "budget tier")
        members: list[str] = []
        for table, what, column in MEMBER_TABLES:
            ids = await state.store.select_column(w.conn, getattr(table.c, column), table.c.budget_id == body.id)
            if ids:
                shown = ", ".join(repr(str(i)[:64]) for i in sorted(ids)[:10])
                members.append(f"{what} {shown}" + (f" and {len(ids) - 10} more" if len(ids) > 10 else ""))
        if body.id == state.customers.default_tier_id:
            members.append("every end user without a budget of its own (litellm_settings.max_end_user_budget_id)")
        if members:
            raise BadRequestError(
                f"'id': budget tier {body.id!r} still has members ({'; '.join(members)}); point them to another "
                "tier or to none (budget_id: null) first",
                param="id",
            )
        await w.conn.execute(sa.delete(t.budgets).where(t.budgets.c.budget_id == body.id))
        w.changed("budget", body.id)
    return _out(row)
