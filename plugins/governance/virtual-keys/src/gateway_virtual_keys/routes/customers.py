"""``/customer/*`` (and LiteLLM's ``/end_user/*`` aliases): new, info, update, delete, list, block, unblock.

A customer is an end user of the operator's own product, named by a request's ``user``; it holds
no key.  Admin routes: an admin key writes, an admin or admin-viewer key reads.  Answers follow
LiteLLM's (``user_id``, ``alias``, ``blocked``, ``spend``, ``default_model``,
``litellm_budget_table``); ``models`` is this gateway's addition (what the customer may use).

End users LiteLLM creates on first sight (its spend writer upserts a row for every request's
``user``) are not written here on the request path: every worker keeps every customer row in
memory, and a ``user`` per session would grow that and the writes without bound.  The ledger
already records each request's end user and spend, which is all such a row holds; so an end user
with recorded spend answers ``/customer/info`` as that row would, ``/customer/update`` creates its
row, and ``/customer/block`` creates it blocked, as LiteLLM's upsert does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from gateway import BadRequestError, NotFoundError

from .. import tables as t
from ..bodies import CustomerIds, NewCustomer, UpdateCustomer, parse, sent
from ..roles import Caller
from ..state import PluginState
from ..store import as_dict
from ..tiers import LIMIT_FIELDS, Tiers, with_tier
from .common import body_of, budget_reset_at, check_tier, find_row, jsonable, require_enforced, spend_of, stamps

#: the value a field sent as null returns to (the others become null)
RESET_VALUES: dict[str, Any] = {"models": [], "metadata": {}, "blocked": False}


def _out(row: dict[str, Any], spend: Any, tiers: Tiers) -> dict[str, Any]:
    limits = {name: jsonable(row.get(name)) for name in LIMIT_FIELDS}
    # LiteLLM's litellm_budget_table: the limits that apply, the tier's filling in those not set here
    applied = with_tier(row, tiers)
    table = {name: jsonable(applied.get(name)) for name in LIMIT_FIELDS}
    budget_table = (
        {
            "budget_id": row.get("budget_id"),
            **table,
            "budget_reset_at": budget_reset_at(applied.get("budget_duration")),
        }
        if row.get("budget_id") or any(v is not None for v in table.values())
        else None
    )
    return {
        "user_id": row["user_id"],
        "alias": row.get("alias"),
        "blocked": bool(row.get("blocked")),
        "spend": float(spend),
        "models": row.get("models") or [],
        "default_model": row.get("default_model"),
        "allowed_model_region": None,
        "budget_id": row.get("budget_id"),
        "metadata": row.get("metadata") or {},
        **limits,
        "litellm_budget_table": budget_table,
        "created_at": jsonable(row.get("created_at")),
        "updated_at": jsonable(row.get("updated_at")),
    }


async def _tiers_of(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = sorted({row["budget_id"] for row in rows if row.get("budget_id")})
    if not ids:
        return {}
    found = await conn.execute(sa.select(t.budgets).where(t.budgets.c.budget_id.in_(ids)))
    return {tier["budget_id"]: tier for tier in map(as_dict, found.all())}


async def _answer(state: PluginState, user_id: str) -> dict[str, Any]:
    async with state.store.read() as conn:
        row = await state.store.get(conn, t.customers, "user_id", user_id)
        tiers = await _tiers_of(conn, [row]) if row is not None else {}
    spend = (await spend_of(state, "end_user", [user_id]))[user_id]
    if row is None:
        if not spend:
            raise _unknown(user_id)
        # seen in the ledger, never created: what LiteLLM's auto-created row shows (the default
        # tier, when configured, is what applies to it)
        default = state.customers.default_tier_id
        row = {"user_id": user_id, "blocked": False, "budget_id": default if default in state.customers.tiers else None}
        tiers = state.customers.tiers
    return _out(row, spend, tiers)


def _unknown(user_id: str) -> NotFoundError:
    return NotFoundError(
        f"customer {user_id!r} not found: no /customer/new, and no recorded spend for this end user",
        param="user_id",
        code="404",
    )


async def _seen(state: PluginState, user_ids: list[str]) -> set[str]:
    """The end users among ``user_ids`` with recorded spend (LiteLLM would have a row for them)."""
    return {user_id for user_id, spend in (await spend_of(state, "end_user", user_ids)).items() if spend}


def _baseline(user_id: str, caller: Caller, blocked: bool = False) -> dict[str, Any]:
    return {"user_id": user_id, "blocked": blocked, "models": [], "metadata": {}, **stamps(caller, new=True)}


def _check_models(state: PluginState, body: NewCustomer | UpdateCustomer) -> None:
    if body.default_model is not None and body.models and state.catalog.outside([body.default_model], body.models):
        raise BadRequestError(
            f"'default_model': {body.default_model!r} is not one of the customer's models "
            f"({', '.join(map(repr, body.models))}); add it to models or choose another",
            param="default_model",
        )


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/customer/new")
    body = parse(NewCustomer, await body_of(request, state))
    _check_models(state, body)
    values = {k: v for k, v in sent(body, "user_id").items() if v is not None}
    require_enforced(state, values, "customer")
    await check_tier(state, caller, "/customer/new", body.budget_id)
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.customers, "user_id", body.user_id) is not None:
            raise BadRequestError(
                f"'user_id': customer {body.user_id!r} exists already; change it with POST /customer/update",
                param="user_id",
            )
        await state.store.insert(
            w.conn,
            t.customers,
            {
                "user_id": body.user_id,
                "blocked": False,
                "models": [],
                "metadata": {},
                **values,
                **stamps(caller, new=True),
            },
        )
        w.changed("customer", body.user_id)
    return await _answer(state, body.user_id)


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_reader("/customer/info")
    user_id = request.query_params.get("end_user_id") or request.query_params.get("user_id")
    if not user_id:
        raise BadRequestError("'end_user_id': required (GET /customer/info?end_user_id=...)", param="end_user_id")
    return await _answer(state, user_id)


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/customer/update")
    body = parse(UpdateCustomer, await body_of(request, state))
    _check_models(state, body)
    values = {k: (RESET_VALUES[k] if v is None and k in RESET_VALUES else v) for k, v in sent(body, "user_id").items()}
    require_enforced(state, values, "customer")
    await check_tier(state, caller, "/customer/update", values.get("budget_id"))
    seen = await _seen(state, [body.user_id])
    async with state.store.write() as w:
        row = await state.store.get(w.conn, t.customers, "user_id", body.user_id)
        if row is None:
            if body.user_id not in seen:
                raise _unknown(body.user_id)
            row = _baseline(body.user_id, caller)
            await state.store.insert(w.conn, t.customers, row)
        models = values.get("models", row.get("models"))
        default = values.get("default_model", row.get("default_model"))
        if default is not None and models and state.catalog.outside([default], models):
            raise BadRequestError(
                f"'models': the customer's default_model {default!r} would not be one of them; change "
                "default_model too",
                param="models",
            )
        if values:
            await state.store.update(
                w.conn, t.customers, "user_id", body.user_id, {**values, **stamps(caller, new=False)}
            )
        w.changed("customer", body.user_id)
    return await _answer(state, body.user_id)


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/customer/delete")
    body = parse(CustomerIds, await body_of(request, state))
    async with state.store.write() as w:
        for user_id in body.user_ids:
            await find_row(w.conn, state, t.customers, "user_id", user_id, "customer")
        await w.conn.execute(sa.delete(t.customers).where(t.customers.c.user_id.in_(body.user_ids)))
        w.changed("customer", *body.user_ids)
    return {"deleted_customers": body.user_ids}


async def _set_blocked(request: Request, caller: Caller, state: PluginState, route: str, blocked: bool) -> Any:
    caller.require_admin(route)
    body = parse(CustomerIds, await body_of(request, state))
    async with state.store.write() as w:
        for user_id in body.user_ids:
            if await state.store.get(w.conn, t.customers, "user_id", user_id) is None:
                if not blocked:
                    raise _unknown(user_id)
                # LiteLLM's /customer/block upserts: an end user can be blocked before its first request
                await state.store.insert(w.conn, t.customers, _baseline(user_id, caller, blocked=True))
        await w.conn.execute(
            sa.update(t.customers)
            .where(t.customers.c.user_id.in_(body.user_ids))
            .values(blocked=blocked, **stamps(caller, new=False))
        )
        w.changed("customer", *body.user_ids)
    return {"blocked_users" if blocked else "unblocked_users": body.user_ids}


async def block(request: Request, caller: Caller, state: PluginState) -> Any:
    return await _set_blocked(request, caller, state, "/customer/block", True)


async def unblock(request: Request, caller: Caller, state: PluginState) -> Any:
    return await _set_blocked(request, caller, state, "/customer/unblock", False)


async def list_customers(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    caller.require_reader("/customer/list")
    async with state.store.read() as conn:
        rows = [
            as_dict(r)
            for r in (
                await conn.execute(sa.select(t.customers).order_by(t.customers.c.created_at, t.customers.c.user_id))
            ).all()
        ]
        tiers = await _tiers_of(conn, rows)
    spend = await spend_of(state, "end_user", [r["user_id"] for r in rows])
    return [_out(row, spend[row["user_id"]], tiers) for row in rows]
