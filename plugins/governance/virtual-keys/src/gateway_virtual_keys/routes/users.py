"""``/user/*``: new, info, update, delete, list.

``litellm-proxy-budget`` is LiteLLM's built-in user that carries the whole gateway's budget
(``litellm_settings.max_budget`` / ``budget_duration``): ``/user/info`` shows it, with the spend
of every request, whenever that budget is set.  It is answered from the config, never stored, and
cannot be created, changed or deleted through the API (the config is where it is set).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from gateway import BadRequestError

from .. import tables as t
from ..bodies import MAX_IDS, PROXY_BUDGET_USER, DeleteUsers, NewUser, UpdateUser, parse, sent
from ..hashing import display_name, generate_key
from ..principal import USER_ROLES
from ..roles import Caller
from ..state import PluginState
from ..store import Writer, as_dict
from .common import (
    USER_EXTRAS,
    body_of,
    check_guardrails,
    check_within_team,
    delete_owners,
    expires_after,
    find_row,
    jsonable,
    key_out,
    query_int,
    require_enforced,
    resolve_team,
    row_out,
    spend_of,
    stamps,
    with_extras,
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
#: ``/user/new`` fields that belong to the key it makes, not to the user
KEY_COLUMNS = ("key_alias", "aliases", "permissions", "guardrails", "blocked")


def _refuse_builtin(user_ids: list[str], route: str) -> None:
    if PROXY_BUDGET_USER in user_ids:
        raise BadRequestError(
            f"{route}: 'user_id': {PROXY_BUDGET_USER!r} is the built-in user that shows the whole gateway's budget; change "
            "litellm_settings.max_budget and budget_duration in the config instead",
            param="user_id",
        )


def user_out(row: dict[str, Any], spend: Any, teams: list[str]) -> dict[str, Any]:
    """A user as LiteLLM shows one: its row, ``spend`` and the ids of its ``teams``."""
    return with_extras({**row_out(row), "spend": float(spend), "teams": teams}, USER_EXTRAS)


async def _teams_of(conn: Any, user_ids: list[str]) -> dict[str, list[str]]:
    rows = (
        await conn.execute(
            sa.select(t.members.c.user_id, t.members.c.team_id)
            .where(t.members.c.user_id.in_(user_ids))
            .order_by(t.members.c.team_id)
        )
    ).all()
    teams: dict[str, list[str]] = {u: [] for u in user_ids}
    for user_id, team_id in rows:
        teams[str(user_id)].append(str(team_id))
    return teams


async def _new_key(
    w: Writer, state: PluginState, caller: Caller, user_id: str, body: NewUser, fields: dict[str, Any]
) -> dict[str, Any]:
    """The key ``/user/new`` makes (``auto_create_key``): the user's, in ``team_id`` when given, with
    the configured ``duration`` default and cap.  -> its fields for the answer."""
    duration = state.policy.key_duration(body.duration)
    expires = expires_after(duration)
    secret = generate_key(state.settings.key_length)
    token = state.require_hasher().hash(secret)
    await state.store.insert(
        w.conn,
        t.keys,
        {
            "id": token,
            "token": token,
            "key_name": display_name(secret),
            "user_id": user_id,
            "team_id": body.team_id,
            "models": body.models or [],
            "aliases": {},
            "metadata": {},
            "permissions": {},
            "guardrails": [],
            "blocked": False,
            **{k: v for k, v in fields.items() if k in KEY_COLUMNS and v is not None},
            "expires": expires,
            **stamps(caller, new=True),
        },
    )
    w.changed("key", token)
    key_fields = {k: fields.get(k) for k in KEY_COLUMNS}
    return {
        **key_fields,
        "key": secret,
        "token": secret,
        "key_name": display_name(secret),
        "token_id": token,
        "team_id": body.team_id,
        "duration": duration,
        "expires": None if expires is None else expires.isoformat(),
    }


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/user/new")
    body = parse(NewUser, await body_of(request, state))
    check_guardrails(state, body.guardrails)
    fields = sent(body)
    user_id = body.user_id or str(uuid.uuid4())
    values = {**RESET_VALUES, **{k: v for k, v in fields.items() if k in USER_COLUMNS and v is not None}}
    if values.get("max_budget") is None and values["user_role"] == "internal_user":
        values["max_budget"] = state.policy.internal_user_budget  # litellm_settings.max_internal_user_budget
    require_enforced(state, values, "user")
    made: dict[str, Any] | None = None
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.users, "user_id", user_id) is not None:
            raise BadRequestError(
                f"'user_id': user {user_id!r} already exists; use /user/update to change it", param="user_id"
            )
        await state.store.insert(w.conn, t.users, {"user_id": user_id, **values, **stamps(caller, new=True)})
        if body.team_id:
            team = await resolve_team(w, state, caller, body.team_id, may_create=True)
            check_within_team(state, body.models, team)
        for team_id, role in body.memberships().items():
            if team_id != body.team_id and await state.store.get(w.conn, t.teams, "team_id", team_id) is None:
                raise BadRequestError(
                    f"'teams': team {team_id!r} does not exist; create it first with POST /team/new", param="teams"
                )
            await state.store.insert(w.conn, t.members, {"team_id": team_id, "user_id": user_id, "role": role})
        w.changed("user", user_id)
        if body.auto_create_key:
            made = await _new_key(w, state, caller, user_id, body, fields)
        user = await state.store.get(w.conn, t.users, "user_id", user_id)
    assert user is not None
    return {**user_out(user, 0, list(body.memberships())), **(made or {})}


def _proxy_budget_user(state: PluginState, spend: Any) -> dict[str, Any] | None:
    """``litellm-proxy-budget``: the whole gateway's budget, when the config sets one."""
    litellm = state.gateway.config.litellm_settings
    if litellm.max_budget is None:
        return None
    row: dict[str, Any] = {
        "user_id": PROXY_BUDGET_USER,
        "user_email": None,
        "user_alias": None,
        "user_role": None,  # not a person: it grants nothing
        "models": [],
        "max_budget": litellm.max_budget,
        "soft_budget": None,
        "budget_duration": litellm.budget_duration,
        "tpm_limit": None,
        "rpm_limit": None,
        "max_parallel_requests": None,
        "metadata": {},
    }
    return user_out(row, spend, [])


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    user_id = request.query_params.get("user_id") or caller.principal.user_id
    if not user_id:
        raise BadRequestError("'user_id' is required: /user/info?user_id=...", param="user_id")
    if not caller.reads_everything and user_id != caller.principal.user_id:
        raise caller.denied("/user/info", "a key may only read its own user")
    if user_id == PROXY_BUDGET_USER:
        spend = (await spend_of(state, "global", ["global"]))["global"]
        builtin = _proxy_budget_user(state, spend)
        if builtin is not None:
            return {"user_id": user_id, "user_info": builtin, "keys": [], "teams": []}
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
        m = t.organization_members.c
        orgs = [
            {
                "user_id": user_id,
                "organization_id": org_id,
                "user_role": role,
                "spend": 0.0,
                "budget_id": None,
                "created_at": jsonable(created),
                "updated_at": jsonable(updated),
            }
            for org_id, role, created, updated in (
                await conn.execute(
                    sa.select(m.organization_id, m.user_role, m.created_at, m.updated_at)
                    .where(m.user_id == user_id)
                    .order_by(m.organization_id)
                )
            ).all()
        ]
    user_spend = (await spend_of(state, "user", [user_id]))[user_id]
    key_spend = await spend_of(state, "key", [k["id"] for k in keys])
    return {
        "user_id": user_id,
        # LiteLLM's organization_memberships: the organizations the user belongs to, with its role
        "user_info": {
            **user_out(user, user_spend, [team["team_id"] for team in teams]),
            "organization_memberships": orgs,
        },
        "keys": [key_out(k, key_spend[k["id"]]) for k in keys],
        "teams": [row_out(team) for team in teams],
    }


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/user/update")
    body = parse(UpdateUser, await body_of(request, state))
    _refuse_builtin([body.user_id or ""], "/user/update")
    fields = sent(body, "user_id")
    require_enforced(state, fields, "user")
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
        teams = (await _teams_of(w.conn, [user["user_id"]]))[user["user_id"]] if user else []
    assert user is not None
    spend = (await spend_of(state, "user", [user["user_id"]]))[user["user_id"]]
    return user_out(user, spend, teams)


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/user/delete")
    body = parse(DeleteUsers, await body_of(request, state))
    _refuse_builtin(body.user_ids, "/user/delete")
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
        teams = await _teams_of(conn, [r["user_id"] for r in rows])
    spend = await spend_of(state, "user", [r["user_id"] for r in rows])
    users = [user_out(r, spend[r["user_id"]], teams[r["user_id"]]) for r in rows]
    return {"users": users, "total": total, "page": page, "page_size": size, "total_pages": -(-total // size)}
