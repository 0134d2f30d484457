"""``/team/*``: new, info, update, delete, member_add, member_delete, list."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from gateway import BadRequestError, NotFoundError

from .. import tables as t
from ..bodies import DeleteTeams, Member, MemberAdd, MemberDelete, NewTeam, UpdateTeam, parse, sent
from ..roles import Caller, standing_of
from ..state import PluginState
from ..store import Writer, as_dict
from .common import (
    body_of,
    check_guardrails,
    check_models,
    delete_owners,
    ensure_user,
    find_row,
    key_out,
    new_team_values,
    row_out,
    spend_of,
    stamps,
)

RESET_VALUES: dict[str, Any] = {"models": [], "model_aliases": {}, "metadata": {}, "guardrails": [], "blocked": False}


async def _members(conn: AsyncConnection, team_id: str) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            sa.select(t.members.c.user_id, t.members.c.role, t.users.c.user_email)
            .join(t.users, t.users.c.user_id == t.members.c.user_id)
            .where(t.members.c.team_id == team_id)
            .order_by(t.members.c.user_id)
        )
    ).all()
    return [{"user_id": u, "role": r, "user_email": e} for u, r, e in rows]


async def _member_user(w: Writer, state: PluginState, caller: Caller, route: str, team_id: str, member: Member) -> str:
    """The user id of a member given by id or e-mail; unknown users are created (as LiteLLM does).
    An existing user must be one the caller may add (``Caller.may_add``)."""
    user_id = member.user_id
    if not user_id:
        found = await state.store.select_column(w.conn, t.users.c.user_id, t.users.c.user_email == member.user_email)
        user_id = str(found[0]) if found else None
    if user_id is not None:
        standing = await standing_of(w.conn, state.store, user_id)
        if standing.exists:
            if not caller.may_add(standing, team_id):
                raise caller.denied(
                    route,
                    f"{member.user_id or member.user_email!r} cannot be added by a team admin: a team admin adds new "
                    "users, and existing users with a plain role (internal_user) who are in no other team, and it "
                    "does not change the role of a fellow team admin; an admin key can",
                    param="member",
                )
            return user_id
    user_id = user_id or str(uuid.uuid4())
    await ensure_user(w.conn, state, user_id, caller)
    if member.user_email:
        await state.store.update(w.conn, t.users, "user_id", user_id, {"user_email": member.user_email})
    return user_id


async def _add_members(
    w: Writer, state: PluginState, caller: Caller, route: str, team_id: str, members: list[Member]
) -> None:
    for member in members:
        user_id = await _member_user(w, state, caller, route, team_id, member)
        await w.conn.execute(sa.delete(t.members).where(t.members.c.team_id == team_id, t.members.c.user_id == user_id))
        await state.store.insert(w.conn, t.members, {"team_id": team_id, "user_id": user_id, "role": member.role})
        w.changed("user", user_id)


async def _team_out(conn: AsyncConnection, state: PluginState, team: dict[str, Any]) -> dict[str, Any]:
    spend = (await spend_of(state, "team", [team["team_id"]]))[team["team_id"]]
    return {**row_out(team), "spend": float(spend), "members_with_roles": await _members(conn, team["team_id"])}


async def _team_after_change(state: PluginState, team_id: str) -> dict[str, Any]:
    """The team as it is now (read after the commit, so the ledger is not asked inside the transaction)."""
    async with state.store.read() as conn:
        team = await find_row(conn, state, t.teams, "team_id", team_id, "team")
        return await _team_out(conn, state, team)


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/team/new")
    body = parse(NewTeam, await body_of(request, state))
    check_models(state, body.models)
    check_guardrails(state, body.guardrails)
    team_id = body.team_id or str(uuid.uuid4())
    fields = {k: v for k, v in sent(body, "team_id", "members_with_roles").items() if v is not None}
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.teams, "team_id", team_id) is not None:
            raise BadRequestError(
                f"'team_id': team {team_id!r} already exists; use /team/update to change it", param="team_id"
            )
        await state.store.insert(w.conn, t.teams, new_team_values(team_id, caller, **fields))
        await _add_members(w, state, caller, "/team/new", team_id, body.members_with_roles or [])
        w.changed("team", team_id)
    return await _team_after_change(state, team_id)


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    team_id = request.query_params.get("team_id")
    if not team_id:
        raise BadRequestError("'team_id' is required: /team/info?team_id=...", param="team_id")
    if not caller.may_read_team(team_id):
        raise caller.denied("/team/info", f"needs an admin key or a key of an admin of team {team_id!r}")
    async with state.store.read() as conn:
        team = await find_row(conn, state, t.teams, "team_id", team_id, "team")
        keys = (
            await conn.execute(sa.select(t.keys).where(t.keys.c.team_id == team_id).order_by(t.keys.c.created_at))
        ).all()
        team_info = await _team_out(conn, state, team)
    key_rows = [as_dict(k) for k in keys]
    spend = await spend_of(state, "key", [k["id"] for k in key_rows])
    memberships = [
        {"team_id": team_id, "user_id": m["user_id"], "role": m["role"]} for m in team_info["members_with_roles"]
    ]
    return {
        "team_id": team_id,
        "team_info": team_info,
        "keys": [key_out(k, spend[k["id"]]) for k in key_rows],
        "team_memberships": memberships,
    }


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/team/update")
    body = parse(UpdateTeam, await body_of(request, state))
    check_models(state, body.models)
    check_guardrails(state, body.guardrails)
    values = {k: (RESET_VALUES[k] if v is None and k in RESET_VALUES else v) for k, v in sent(body, "team_id").items()}
    async with state.store.write(revokes=True) as w:
        await find_row(w.conn, state, t.teams, "team_id", body.team_id, "team")
        if values:
            await state.store.update(w.conn, t.teams, "team_id", body.team_id, {**values, **stamps(caller, new=False)})
        w.changed("team", body.team_id)
    return await _team_after_change(state, body.team_id)


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/team/delete")
    body = parse(DeleteTeams, await body_of(request, state))
    # the team's keys go with it (as in LiteLLM)
    deleted_keys = await delete_owners(state, t.teams, "team_id", body.team_ids, "team")
    return {"deleted_teams": body.team_ids, "deleted_keys": deleted_keys}


async def member_add(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/team/member_add"
    body = parse(MemberAdd, await body_of(request, state))
    caller.require_team_admin(route, body.team_id)
    if not caller.is_admin and any(m.role == "admin" for m in body.members()):
        raise caller.denied(route, "only an admin key adds team admins (role 'admin')", param="member")
    async with state.store.write() as w:
        await find_row(w.conn, state, t.teams, "team_id", body.team_id, "team")
        await _add_members(w, state, caller, route, body.team_id, body.members())
        w.changed("team", body.team_id)
    return await _team_after_change(state, body.team_id)


async def member_delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/team/member_delete"
    body = parse(MemberDelete, await body_of(request, state))
    caller.require_team_admin(route, body.team_id)
    async with state.store.write(revokes=True) as w:
        await find_row(w.conn, state, t.teams, "team_id", body.team_id, "team")
        user_id = body.user_id
        if not user_id:
            found = await state.store.select_column(
                w.conn,
                t.users.c.user_id,
                t.users.c.user_email == body.user_email,
                t.users.c.user_id.in_(sa.select(t.members.c.user_id).where(t.members.c.team_id == body.team_id)),
            )
            user_id = str(found[0]) if found else ""
        standing = await standing_of(w.conn, state.store, user_id)
        if body.team_id not in standing.teams:
            raise NotFoundError(
                f"{body.user_id or body.user_email!r} is not a member of team {body.team_id!r}",
                param="user_id",
                code="404",
            )
        if not caller.may_remove(standing, body.team_id):
            raise caller.denied(
                route,
                f"{user_id!r} is a team admin or has an admin role; a team admin removes only itself and plain "
                "members (an admin key removes anyone)",
                param="user_id",
            )
        await w.conn.execute(
            sa.delete(t.members).where(t.members.c.team_id == body.team_id, t.members.c.user_id == user_id)
        )
        # offboarding: the member's keys for this team stop working with the membership
        key_ids = await state.store.delete_keys(w, t.keys.c.team_id == body.team_id, t.keys.c.user_id == user_id)
        w.changed("user", user_id)
        w.changed("team", body.team_id)
    return {**await _team_after_change(state, body.team_id), "deleted_keys": len(key_ids)}


async def list_teams(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    if not caller.reads_everything and not caller.admin_teams:
        raise caller.denied("/team/list", "needs an admin key or a team admin's key")
    where: list[Any] = []
    if not caller.reads_everything:
        where.append(t.teams.c.team_id.in_(sorted(caller.admin_teams)))
    user_id = request.query_params.get("user_id")
    async with state.store.read() as conn:
        if user_id:
            where.append(t.teams.c.team_id.in_(sa.select(t.members.c.team_id).where(t.members.c.user_id == user_id)))
        rows = (await conn.execute(sa.select(t.teams).where(*where).order_by(t.teams.c.created_at).limit(1000))).all()
        teams = [as_dict(r) for r in rows]
        spend = await spend_of(state, "team", [team["team_id"] for team in teams])
        out = []
        for team in teams:
            out.append(
                {
                    **row_out(team),
                    "spend": float(spend[team["team_id"]]),
                    "members_with_roles": await _members(conn, team["team_id"]),
                }
            )
    return out
