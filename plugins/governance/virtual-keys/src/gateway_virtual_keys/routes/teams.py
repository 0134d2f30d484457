"""``/team/*``: new, info, update, delete, member_add, member_delete, member_update, list.

Statuses follow LiteLLM's: ``member_add`` to a team that does not exist is 404, a member already
in the team is 400 ``team_member_already_in_team``; ``member_delete`` and ``member_update`` of a
team that does not exist, or of a user who is not a member, are 400.  Permission refusals (403)
come first, before anything is looked up, so they reveal nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from gateway import BadRequestError

from .. import tables as t
from ..bodies import DeleteTeams, Member, MemberAdd, MemberDelete, MemberUpdate, NewTeam, UpdateTeam, parse, sent
from ..roles import Caller, Standing, standing_of
from ..state import PluginState
from ..store import Writer, as_dict
from .common import (
    TEAM_EXTRAS,
    body_of,
    check_guardrails,
    check_tier,
    delete_owners,
    ensure_user,
    find_row,
    key_out,
    new_team_values,
    require_enforced,
    row_out,
    spend_of,
    stamps,
    with_extras,
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


def _membership(team_id: str, user_id: str, role: str) -> dict[str, Any]:
    """A membership as LiteLLM's ``team_memberships`` lists it (no member budgets here: ``budget_id`` null)."""
    return {"team_id": team_id, "user_id": user_id, "role": role, "budget_id": None}


async def _user_id_of(w: Writer, state: PluginState, member: Member) -> str | None:
    """The id of the user a member entry names (by id, or by e-mail); None for an unknown e-mail."""
    if member.user_id:
        return member.user_id
    found = await state.store.select_column(w.conn, t.users.c.user_id, t.users.c.user_email == member.user_email)
    return str(found[0]) if found else None


async def _member_user(
    w: Writer, state: PluginState, caller: Caller, route: str, team_id: str, member: Member, user_id: str | None
) -> str:
    """The user to add: unknown users are created (as LiteLLM does); an existing user must be one
    the caller may add (``Caller.may_add``)."""
    if user_id is not None:
        standing = await standing_of(w.conn, state.store, user_id)
        if standing.exists:
            if not caller.may_add(standing, team_id):
                raise caller.denied(
                    route,
                    f"{member.user_id or member.user_email!r} cannot be added by a team admin: a team admin adds new "
                    "users, and existing users with a plain role (internal_user) who are in no other team; an admin "
                    "key can",
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
) -> list[str]:
    """Add ``members`` to ``team_id``; the user ids added.  Members already in the team are
    LiteLLM's 400 ``team_member_already_in_team`` when they are all the call asked for, and are
    left as they are otherwise (their role changes with ``/team/member_update``)."""
    current = {
        str(u) for u in await state.store.select_column(w.conn, t.members.c.user_id, t.members.c.team_id == team_id)
    }
    wanted: dict[str, tuple[Member, str | None]] = {}
    already: list[Member] = []
    for member in members:
        user_id = await _user_id_of(w, state, member)
        if user_id is not None and user_id in current:
            already.append(member)
        elif user_id is None or user_id not in wanted:
            wanted[user_id or f"email:{member.user_email}"] = (member, user_id)
    if already and not wanted:
        who = ", ".join(repr(m.user_id or m.user_email) for m in already)
        raise BadRequestError(
            f"User already in team: {who} is a member of team {team_id!r} already; change a member's role with "
            "/team/member_update",
            type="team_member_already_in_team",
            param="member",
        )
    added = []
    for member, user_id in wanted.values():
        user_id = await _member_user(w, state, caller, route, team_id, member, user_id)
        await state.store.insert(w.conn, t.members, {"team_id": team_id, "user_id": user_id, "role": member.role})
        w.changed("user", user_id)
        added.append(user_id)
    return added


async def _team_out(conn: AsyncConnection, state: PluginState, team: dict[str, Any]) -> dict[str, Any]:
    spend = (await spend_of(state, "team", [team["team_id"]]))[team["team_id"]]
    out = {**row_out(team), "spend": float(spend), "members_with_roles": await _members(conn, team["team_id"])}
    return with_extras(out, TEAM_EXTRAS)


async def _team_after_change(state: PluginState, team_id: str) -> dict[str, Any]:
    """The team as it is now (read after the commit, so the ledger is not asked inside the transaction)."""
    async with state.store.read() as conn:
        team = await find_row(conn, state, t.teams, "team_id", team_id, "team")
        return await _team_out(conn, state, team)


async def _existing_team(w: Writer, state: PluginState, team_id: str) -> None:
    """``member_delete`` / ``member_update`` of a team that does not exist: LiteLLM's 400."""
    if await state.store.get(w.conn, t.teams, "team_id", team_id) is None:
        raise BadRequestError(f"'team_id': team {team_id!r} does not exist", param="team_id")


async def _member_standing(
    w: Writer, state: PluginState, team_id: str, user_id: str | None, user_email: str | None
) -> Standing:
    """The member a ``member_delete`` / ``member_update`` names (by id, or by e-mail among the
    team's members); a user who is not a member is LiteLLM's 400."""
    if not user_id:
        found = await state.store.select_column(
            w.conn,
            t.users.c.user_id,
            t.users.c.user_email == user_email,
            t.users.c.user_id.in_(sa.select(t.members.c.user_id).where(t.members.c.team_id == team_id)),
        )
        user_id = str(found[0]) if found else ""
    standing = await standing_of(w.conn, state.store, user_id)
    if team_id not in standing.teams:
        raise BadRequestError(
            f"'user_id': {user_id or user_email!r} is not a member of team {team_id!r} (GET /team/info lists them)",
            param="user_id",
        )
    return standing


async def _check_org(w: Writer, state: PluginState, org_id: str, models: list[str] | None) -> None:
    """A team joins an existing organization, with models within the organization's."""
    org = await state.store.get(w.conn, t.organizations, "organization_id", org_id)
    if org is None:
        raise BadRequestError(
            f"'organization_id': organization {org_id!r} does not exist; create it first with POST /organization/new",
            param="organization_id",
        )
    outside = state.catalog.outside(models, org.get("models"))
    if outside:
        raise BadRequestError(
            f"'models': {', '.join(map(repr, outside[:10]))} not allowed for organization {org_id!r}, whose teams "
            f"may use {', '.join(map(repr, org.get('models') or ()))}",
            param="models",
        )


def _require_team_writer(caller: Caller, route: str, org_ids: list[str | None]) -> None:
    """Admins; org admins for teams of their organizations (every organization named: the team's
    current one and the one it moves to)."""
    if caller.is_admin:
        return
    if not org_ids or any(org_id is None or org_id not in caller.admin_orgs for org_id in org_ids):
        raise caller.denied(
            route,
            "needs an admin key, or a key of an org_admin of the team's organization (a team stays in one of "
            "its organizations)",
        )


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    body = parse(NewTeam, await body_of(request, state))
    _require_team_writer(caller, "/team/new", [body.organization_id])
    check_guardrails(state, body.guardrails)
    team_id = body.team_id or str(uuid.uuid4())
    fields = {k: v for k, v in sent(body, "team_id", "members_with_roles").items() if v is not None}
    require_enforced(state, fields, "team")
    await check_tier(state, caller, "/team/new", fields.get("budget_id"))
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.teams, "team_id", team_id) is not None:
            raise BadRequestError(
                f"'team_id': team {team_id!r} already exists; use /team/update to change it", param="team_id"
            )
        if body.organization_id is not None:
            await _check_org(w, state, body.organization_id, body.models)
        await state.store.insert(w.conn, t.teams, new_team_values(team_id, caller, **fields))
        await _add_members(w, state, caller, "/team/new", team_id, body.members_with_roles or [])
        w.changed("team", team_id)
    return await _team_after_change(state, team_id)


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    team_id = request.query_params.get("team_id")
    if not team_id:
        raise BadRequestError("'team_id' is required: /team/info?team_id=...", param="team_id")
    if not caller.may_read_team(team_id):
        raise caller.denied(
            "/team/info", f"needs an admin key, or a key of a member of team {team_id!r} or in that team"
        )
    keys = t.keys.c
    where = [keys.team_id == team_id]
    if not caller.may_read_team_keys(team_id):
        # a plain member sees the team and its own keys in it, not the other members' keys
        own = [keys.id == caller.principal.key_hash]
        if caller.user_id:
            own.append(keys.user_id == caller.user_id)
        where.append(sa.or_(*own))
    async with state.store.read() as conn:
        team = await find_row(conn, state, t.teams, "team_id", team_id, "team")
        key_rows = [as_dict(k) for k in (await conn.execute(sa.select(t.keys).where(*where).order_by(keys.created_at)))]
        team_info = await _team_out(conn, state, team)
    spend = await spend_of(state, "key", [k["id"] for k in key_rows])
    return {
        "team_id": team_id,
        "team_info": team_info,
        "keys": [key_out(k, spend[k["id"]]) for k in key_rows],
        "team_memberships": [_membership(team_id, m["user_id"], m["role"]) for m in team_info["members_with_roles"]],
    }


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/team/update"
    body = parse(UpdateTeam, await body_of(request, state))
    if not caller.is_admin and not caller.manages_team(body.team_id):
        _require_team_writer(caller, route, [])
    check_guardrails(state, body.guardrails)
    values = {k: (RESET_VALUES[k] if v is None and k in RESET_VALUES else v) for k, v in sent(body, "team_id").items()}
    require_enforced(state, values, "team")
    await check_tier(state, caller, route, values.get("budget_id"))
    async with state.store.write(revokes=True) as w:
        team = await find_row(w.conn, state, t.teams, "team_id", body.team_id, "team")
        org_id = values.get("organization_id", team.get("organization_id"))
        if "organization_id" in values:
            _require_team_writer(caller, route, [team.get("organization_id"), org_id])
        if org_id is not None and ("organization_id" in values or "models" in values):
            await _check_org(w, state, org_id, values.get("models", team.get("models")))
        if values:
            await state.store.update(w.conn, t.teams, "team_id", body.team_id, {**values, **stamps(caller, new=False)})
        w.changed("team", body.team_id)
    return await _team_after_change(state, body.team_id)


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    body = parse(DeleteTeams, await body_of(request, state))
    if not all(caller.manages_team(team_id) for team_id in body.team_ids):
        _require_team_writer(caller, "/team/delete", [])
    # the team's keys go with it (as in LiteLLM)
    deleted_keys = await delete_owners(state, t.teams, "team_id", body.team_ids, "team")
    return {"deleted_teams": body.team_ids, "deleted_keys": deleted_keys}


async def member_add(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/team/member_add"
    body = parse(MemberAdd, await body_of(request, state))
    caller.require_team_admin(route, body.team_id)
    if not caller.manages_team(body.team_id) and any(m.role == "admin" for m in body.members()):
        raise caller.denied(route, "only an admin key adds team admins (role 'admin')", param="member")
    async with state.store.write() as w:
        await find_row(w.conn, state, t.teams, "team_id", body.team_id, "team")
        added = await _add_members(w, state, caller, route, body.team_id, body.members())
        w.changed("team", body.team_id)
    team = await _team_after_change(state, body.team_id)
    roles = {m["user_id"]: m["role"] for m in team["members_with_roles"]}
    async with state.store.read() as conn:
        users = [as_dict(r) for r in (await conn.execute(sa.select(t.users).where(t.users.c.user_id.in_(added)))).all()]
    return {
        **team,
        "updated_users": [row_out(u) for u in sorted(users, key=lambda u: added.index(u["user_id"]))],
        "updated_team_memberships": [_membership(body.team_id, u, roles.get(u, "user")) for u in added],
    }


async def member_delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/team/member_delete"
    body = parse(MemberDelete, await body_of(request, state))
    caller.require_team_admin(route, body.team_id)
    async with state.store.write(revokes=True) as w:
        await _existing_team(w, state, body.team_id)
        standing = await _member_standing(w, state, body.team_id, body.user_id, body.user_email)
        user_id = standing.user_id
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


async def member_update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    """A member's role in the team (LiteLLM's answer: ``team_id``, ``user_id``, ``user_email``,
    ``max_budget_in_team``; plus the ``role`` it now has)."""
    route = "/team/member_update"
    body = parse(MemberUpdate, await body_of(request, state))
    caller.require_team_admin(route, body.team_id)
    if not caller.manages_team(body.team_id) and body.role == "admin":
        raise caller.denied(route, "only an admin key makes team admins (role 'admin')", param="role")
    async with state.store.write(revokes=True) as w:
        await _existing_team(w, state, body.team_id)
        standing = await _member_standing(w, state, body.team_id, body.user_id, body.user_email)
        role = standing.teams[body.team_id]
        if body.role is not None and body.role != role:
            if not caller.may_remove(standing, body.team_id):
                raise caller.denied(
                    route,
                    f"{standing.user_id!r} is a team admin or has an admin role; only an admin key changes their role",
                    param="user_id",
                )
            await w.conn.execute(
                sa.update(t.members)
                .where(t.members.c.team_id == body.team_id, t.members.c.user_id == standing.user_id)
                .values(role=body.role)
            )
            w.changed("user", standing.user_id)
            w.changed("team", body.team_id)
            role = body.role
        email = await state.store.select_column(w.conn, t.users.c.user_email, t.users.c.user_id == standing.user_id)
    return {
        "team_id": body.team_id,
        "user_id": standing.user_id,
        "user_email": email[0] if email else None,
        "role": role,
        "max_budget_in_team": None,
    }


async def list_teams(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    if not caller.reads_everything and not caller.admin_teams:
        raise caller.denied("/team/list", "needs an admin key or a team admin's key")
    where: list[Any] = []
    if not caller.reads_everything:
        where.append(t.teams.c.team_id.in_(sorted(caller.admin_teams)))
    user_id = request.query_params.get("user_id")
    org_id = request.query_params.get("organization_id")
    if org_id:
        where.append(t.teams.c.organization_id == org_id)
    async with state.store.read() as conn:
        if user_id:
            where.append(t.teams.c.team_id.in_(sa.select(t.members.c.team_id).where(t.members.c.user_id == user_id)))
        rows = (await conn.execute(sa.select(t.teams).where(*where).order_by(t.teams.c.created_at).limit(1000))).all()
        teams = [as_dict(r) for r in rows]
        spend = await spend_of(state, "team", [team["team_id"] for team in teams])
        out = []
        for team in teams:
            team_out = {
                **row_out(team),
                "spend": float(spend[team["team_id"]]),
                "members_with_roles": await _members(conn, team["team_id"]),
            }
            out.append(with_extras(team_out, TEAM_EXTRAS))
    return out
