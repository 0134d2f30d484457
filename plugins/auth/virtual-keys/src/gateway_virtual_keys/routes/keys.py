"""``/key/*``: generate, info, update, delete, block, unblock, regenerate, list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from gateway import BadRequestError

from .. import tables as t
from ..bodies import DeleteKeys, GenerateKey, KeyFields, KeyRef, RegenerateKey, UpdateKey, parse, sent
from ..durations import expiry_from_duration, parse_duration, utcnow
from ..hashing import check_custom_key, display_name, generate_key
from ..roles import Caller
from ..state import PluginState
from ..store import Writer
from .common import (
    body_of,
    check_models,
    check_within_team,
    ensure_user,
    find_key,
    find_row,
    key_out,
    new_team_values,
    query_bool,
    query_int,
    spend_of,
    stamps,
)

#: columns that cannot be NULL: a ``null`` in an update resets them to these
RESET_VALUES: dict[str, Any] = {"models": [], "aliases": {}, "metadata": {}, "permissions": {}, "guardrails": [], "blocked": False}
SETTABLE = (
    "key_alias", "user_id", "team_id", "models", "aliases", "max_budget", "soft_budget", "budget_duration",
    "tpm_limit", "rpm_limit", "max_parallel_requests", "metadata", "permissions", "guardrails", "blocked",
)


def _secret(state: PluginState, custom: str | None) -> str:
    if custom is not None:
        check_custom_key(custom)
        return custom
    return generate_key(state.settings.key_length)


def _changes(body: KeyFields, fields: dict[str, Any]) -> dict[str, Any]:
    """Column values for the fields sent (``duration`` becomes ``expires``)."""
    values = {name: (RESET_VALUES[name] if value is None and name in RESET_VALUES else value)
              for name, value in fields.items() if name in SETTABLE}
    if "duration" in fields:
        values["expires"] = expiry_from_duration(body.duration)
    if "expires" in fields:
        values["expires"] = body.expires
    return values


async def _is_member(conn: AsyncConnection, state: PluginState, team_id: str, user_id: str) -> bool:
    found = await state.store.select_column(
        conn, t.members.c.user_id, t.members.c.team_id == team_id, t.members.c.user_id == user_id
    )
    return bool(found)


async def _resolve_team(w: Writer, state: PluginState, caller: Caller, team_id: str, *, may_create: bool) -> dict[str, Any]:
    team = await state.store.get(w.conn, t.teams, "team_id", team_id)
    if team is not None:
        return team
    if may_create and caller.is_admin and state.settings.auto_create_teams:
        team = new_team_values(team_id, caller)
        await state.store.insert(w.conn, t.teams, team)
        w.changed("team", team_id)
        return team
    raise BadRequestError(f"'team_id': team {team_id!r} does not exist; create it first with POST /team/new", param="team_id")


async def _check_owner(w: Writer, state: PluginState, caller: Caller, route: str, values: dict[str, Any], team_id: str | None) -> None:
    """A named user is created if new (admins) or must belong to the team (team admins)."""
    user_id = values.get("user_id")
    if not user_id:
        return
    if caller.is_admin:
        await ensure_user(w.conn, state, user_id, caller)
    elif team_id is None or not await _is_member(w.conn, state, team_id, user_id):
        raise caller.denied(route, f"user {user_id!r} is not a member of team {team_id!r}; add them with /team/member_add")


# --------------------------------------------------------------------------- handlers


async def generate(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/key/generate"
    body = parse(GenerateKey, await body_of(request, state))
    caller.require_team_admin(route, body.team_id)
    check_models(state, body.models)
    hasher = state.require_hasher()
    secret = _secret(state, body.key)
    token = hasher.hash(secret)
    values = {**RESET_VALUES, **_changes(body, sent(body, "key")), "id": token, "token": token,
              "key_name": display_name(secret), **stamps(caller, new=True)}
    if not caller.is_admin and not values.get("user_id"):
        values["user_id"] = caller.principal.user_id  # a team admin's keys belong to someone
    async with state.store.write() as w:
        team = await _resolve_team(w, state, caller, body.team_id, may_create=True) if body.team_id else None
        check_within_team(state, body.models, team)
        await _check_owner(w, state, caller, route, values, body.team_id)
        await state.store.insert(w.conn, t.keys, values)
        w.changed("key", token)
        row = await state.store.get(w.conn, t.keys, "id", token)
    assert row is not None
    return {**key_out(row, spend=0), "key": secret, "token": secret}


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/key/info"
    ref = request.query_params.get("key")
    async with state.store.read() as conn:
        if ref:
            row = await find_key(conn, state, ref)
        elif caller.principal.kind == "virtual_key":
            row = await find_row(conn, state, t.keys, "id", caller.principal.id, "key")
        else:
            raise BadRequestError("'key' is required: /key/info?key=sk-... (or the key's token_id)", param="key")
    own = row["id"] == caller.principal.key_hash
    if not own and not caller.may_read_team(row["team_id"]):
        raise caller.denied(route, "a key may only read its own information")
    spend = (await spend_of(state, "key", [row["id"]]))[row["id"]]
    return {"key": row["id"], "info": key_out(row, spend)}


async def _update(
    w: Writer, state: PluginState, caller: Caller, route: str, row: dict[str, Any], body: KeyFields, fields: dict[str, Any]
) -> None:
    caller.require_team_admin(route, row["team_id"])
    values = _changes(body, fields)
    team_id = values.get("team_id", row["team_id"])
    if "team_id" in values and values["team_id"] is not None:
        caller.require_team_admin(route, values["team_id"])
    if "models" in values or "team_id" in values:
        check_models(state, values.get("models"))
        team = await _resolve_team(w, state, caller, team_id, may_create=False) if team_id else None
        check_within_team(state, values.get("models", row["models"]), team)
    await _check_owner(w, state, caller, route, values, team_id)
    if values:
        await state.store.update(w.conn, t.keys, "id", row["id"], {**values, **stamps(caller, new=False)})
    w.changed("key", row["id"])


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    body = parse(UpdateKey, await body_of(request, state))
    fields = sent(body, "key")
    async with state.store.write(revokes=True) as w:
        if body.key:
            row = await find_key(w.conn, state, body.key)
        else:
            row = await find_row(w.conn, state, t.keys, "key_alias", body.key_alias or "", "key with alias")
            fields.pop("key_alias", None)
        await _update(w, state, caller, "/key/update", row, body, fields)
        row = await state.store.get(w.conn, t.keys, "id", row["id"])
    assert row is not None
    spend = (await spend_of(state, "key", [row["id"]]))[row["id"]]
    return {"key": row["id"], **key_out(row, spend)}


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    body = parse(DeleteKeys, await body_of(request, state))
    async with state.store.write(revokes=True) as w:
        rows = [await find_key(w.conn, state, ref) for ref in body.keys or ()]
        rows += [await find_row(w.conn, state, t.keys, "key_alias", alias, "key with alias") for alias in body.key_aliases or ()]
        for row in rows:
            caller.require_team_admin("/key/delete", row["team_id"])
        ids = await state.store.delete_keys(w, t.keys.c.id.in_([row["id"] for row in rows]))
    return {"deleted_keys": [*(body.keys or ()), *(body.key_aliases or ())], "deleted_token_ids": ids}


async def _set_blocked(request: Request, caller: Caller, state: PluginState, blocked: bool) -> dict[str, Any]:
    route = "/key/block" if blocked else "/key/unblock"
    body = parse(KeyRef, await body_of(request, state))
    async with state.store.write(revokes=blocked) as w:
        row = await find_key(w.conn, state, body.key)
        caller.require_team_admin(route, row["team_id"])
        await state.store.update(w.conn, t.keys, "id", row["id"], {"blocked": blocked, **stamps(caller, new=False)})
        w.changed("key", row["id"])
        row = await state.store.get(w.conn, t.keys, "id", row["id"])
    assert row is not None
    return {"key": row["id"], **key_out(row, spend=(await spend_of(state, "key", [row["id"]]))[row["id"]])}


async def block(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    return await _set_blocked(request, caller, state, True)


async def unblock(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    return await _set_blocked(request, caller, state, False)


async def regenerate(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/key/regenerate"
    data = await body_of(request, state, optional=True)  # /key/{key}/regenerate may come without a body
    path_key = request.path_params.get("key")
    if path_key:
        data.setdefault("key", path_key)
    body = parse(RegenerateKey, data)
    if not body.key:
        raise BadRequestError("'key' is required: the key (or its token_id) to regenerate", param="key")
    hasher = state.require_hasher()
    secret = _secret(state, body.new_key)
    token = hasher.hash(secret)
    async with state.store.write(revokes=True) as w:
        row = await find_key(w.conn, state, body.key)
        await _update(w, state, caller, route, row, body, sent(body, "key", "new_key", "grace_period"))
        if body.grace_period:
            until: datetime = utcnow() + parse_duration(body.grace_period)
            await state.store.insert(w.conn, t.old_tokens, {"token": row["token"], "key_id": row["id"], "expires_at": until})
        await state.store.update(w.conn, t.keys, "id", row["id"], {"token": token, "key_name": display_name(secret)})
        row = await state.store.get(w.conn, t.keys, "id", row["id"])
    assert row is not None
    spend = (await spend_of(state, "key", [row["id"]]))[row["id"]]
    return {**key_out(row, spend), "key": secret, "token": secret}


async def list_keys(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/key/list"
    page = query_int(request, "page", 1, 1, 1_000_000)
    size = query_int(request, "size", 10, 1, 100)
    params = request.query_params
    where: list[Any] = []
    for name in ("user_id", "team_id", "key_alias"):
        if params.get(name):
            where.append(t.keys.c[name] == params[name])
    if params.get("key_hash"):
        where.append(sa.or_(t.keys.c.id == params["key_hash"], t.keys.c.token == params["key_hash"]))
    if not caller.reads_everything:
        if not caller.admin_teams:
            raise caller.denied(route, "needs an admin key or a team admin's key")
        if params.get("team_id") and params["team_id"] not in caller.admin_teams:
            raise caller.denied(route, f"you are not an admin of team {params['team_id']!r}")
        where.append(t.keys.c.team_id.in_(sorted(caller.admin_teams)))
    async with state.store.read() as conn:
        rows, total = await state.store.page(conn, t.keys, where, t.keys.c.created_at, page, size)
    if query_bool(request, "return_full_object"):
        spend = await spend_of(state, "key", [r["id"] for r in rows])
        keys: list[Any] = [key_out(r, spend[r["id"]]) for r in rows]
    else:
        keys = [r["id"] for r in rows]
    return {"keys": keys, "total_count": total, "current_page": page, "total_pages": -(-total // size)}
