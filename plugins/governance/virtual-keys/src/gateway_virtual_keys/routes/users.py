"""``/user/*``: new, info, update, delete, list."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from gateway import BadRequestError

from .. import tables as t
from ..bodies import MAX_IDS, DeleteUsers, NewUser, UpdateUser, parse, sent
from ..hashing import display_name, generate_key
from ..principal import USER_ROLES
from ..roles import Caller
from ..state import PluginState
from ..store import as_dict
from .common import (
    body_of,
    check_models,
    delete_owners,
    expires_after,
    find_row,
    key_out,
    query_int,
    row_out,
    spend_of,
    stamps,
)

RESET_VALUES: dict[str, Any] = {"models": [], "metadata": {}, "user_role": "internal_user"}
USER_COLUMNS = (
    "user_email",
    "user_alias",
    "user_role",
    "models",
    "max_budget",
    "soft_budget",
    "budget_duration",
    "tpm_limit",
    "rpm_limit",
    "max_parallel_requests",
    "metadata",
)


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/user/new")
    body = parse(NewUser, await body_of(request, state))
    check_models(state, body.models)
    user_id = body.user_id or str(uuid.uuid4())
    values = {**RESET_VALUES, **{k: v for k, v in sent(body).items() if k in USER_COLUMNS and v is not None}}
    secret = None
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.users, "user_id", user_id) is not None:
            raise BadRequestError(
                f"'user_id': user {user_id!r} already exists; use /user/update to change it", param="user_id"
            )
        await state.store.insert(w.conn, t.users, {"user_id": user_id, **values, **stamps(caller, new=True)})
        for team_id in body.teams or ():
            if await state.store.get(w.conn, t.teams, "team_id", team_id) is None:
                raise BadRequestError(
                    f"'teams': team {team_id!r} does not exist; create it first with POST /team/new", param="teams"
                )
            await state.store.insert(w.conn, t.members, {"team_id": team_id, "user_id": user_id, "role": "user"})
        w.changed("user", user_id)
        if body.auto_create_key:
            secret = generate_key(state.settings.key_length)
            token = state.require_hasher().hash(secret)
            await state.store.insert(
                w.conn,
                t.keys,
                {
                    "id": token,
                    "token": token,
                    "key_name": display_name(secret),
                    "key_alias": body.key_alias,
                    "user_id": user_id,
                    "models": body.models or [],
                    "aliases": {},
                    "metadata": {},
                    "permissions": {},
                    "guardrails": [],
                    "blocked": False,
                    "expires": expires_after(body.duration),
                    **stamps(caller, new=True),
                },
            )
            w.changed("key", token)
        user = await state.store.get(w.conn, t.users, "user_id", user_id)
    assert user is not None
    out = {**row_out(user), "spend": 0.0, "teams": body.teams or []}
    if secret is not None:
        out.update(key=secret, key_name=display_name(secret), token_id=token)
    return out


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    user_id = request.query_params.get("user_id") or caller.principal.user_id
    if not user_id:
        raise BadRequestError("'user_id' is required: /user/info?user_id=...", param="user_id")
    if not caller.reads_everything and user_id != caller.principal.user_id:
        raise caller.denied("/user/info", "a key may only read its own user")
    async with state.store.read() as conn:
        user = await find_row(conn, state, t.users, "user_id", user_id, "user")
        keys = [
            as_dict(r)
            for r in (
                await conn.execute(sa.select(t.keys).where(t.keys.c.user_id == user_id).order_by(t.keys.c.created_at))
            ).all()
        ]
        teams = [
            as_dict(r)
            for r in (
                await conn.execute(
                    sa.select(t.teams)
                    .join(t.members, t.members.c.team_id == t.teams.c.team_id)
                    .where(t.members.c.user_id == user_id)
                    .order_by(t.teams.c.team_id)
                )
            ).all()
        ]
    user_spend = (await spend_of(state, "user", [user_id]))[user_id]
    key_spend = await spend_of(state, "key", [k["id"] for k in keys])
    return {
        "user_id": user_id,
        "user_info": {**row_out(user), "spend": float(user_spend)},
        "keys": [key_out(k, key_spend[k["id"]]) for k in keys],
        "teams": [row_out(team) for team in teams],
    }


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/user/update")
    body = parse(UpdateUser, await body_of(request, state))
    check_models(state, body.models)
    fields = sent(body, "user_id")
    async with state.store.write(revokes=True) as w:
        if body.user_id:
            user = await find_row(w.conn, state, t.users, "user_id", body.user_id, "user")
        else:
            user = await find_row(w.conn, state, t.users, "user_email", body.user_email or "", "user with email")
            fields.pop("user_email", None)
        values = {k: (RESET_VALUES[k] if v is None and k in RESET_VALUES else v) for k, v in fields.items()}
        if values:
            await state.store.update(
                w.conn, t.users, "user_id", user["user_id"], {**values, **stamps(caller, new=False)}
            )
        w.changed("user", user["user_id"])
        user = await state.store.get(w.conn, t.users, "user_id", user["user_id"])
    assert user is not None
    spend = (await spend_of(state, "user", [user["user_id"]]))[user["user_id"]]
    return {**row_out(user), "spend": float(spend)}


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/user/delete")
    body = parse(DeleteUsers, await body_of(request, state))
    # offboarding: every key of the user stops working with the next request
    deleted_keys = await delete_owners(state, t.users, "user_id", body.user_ids, "user")
    return {"deleted_users": body.user_ids, "deleted_keys": deleted_keys}


async def list_users(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_reader("/user/list")
    page = query_int(request, "page", 1, 1, 1_000_000)
    size = query_int(request, "page_size", 25, 1, 100)
    where: list[Any] = []
    role = request.query_params.get("role")
    if role:
        if role not in USER_ROLES:
            raise BadRequestError(f"'role' must be one of {', '.join(USER_ROLES)}, got {role[:40]!r}", param="role")
        where.append(t.users.c.user_role == role)
    ids = [i.strip() for i in (request.query_params.get("user_ids") or "").split(",") if i.strip()]
    if len(ids) > MAX_IDS:
        raise BadRequestError(f"'user_ids' lists at most {MAX_IDS} ids, got {len(ids)}", param="user_ids")
    if ids:
        where.append(t.users.c.user_id.in_(ids))
    async with state.store.read() as conn:
        rows, total = await state.store.page(conn, t.users, where, t.users.c.created_at, page, size)
    spend = await spend_of(state, "user", [r["user_id"] for r in rows])
    users = [{**row_out(r), "spend": float(spend[r["user_id"]])} for r in rows]
    return {"users": users, "total": total, "page": page, "page_size": size, "total_pages": -(-total // size)}
