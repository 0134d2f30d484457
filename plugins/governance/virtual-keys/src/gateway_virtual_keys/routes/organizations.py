"""``/organization/*``: new, info, update, delete, list, member_add, member_update, member_delete.

An organization owns teams (``organization_id`` on ``/team/new`` and ``/team/update``).  Its
budget and limits apply to every team in it together: the principal of each of their keys
carries one ``org`` scope, which gateway-spend charges in the same atomic admission as the key's
and the team's.  Its ``models`` bound its teams' models (checked when a team joins or changes,
and applied at request time).  A blocked organization stops every key of its teams.

Who may: an admin key does everything; an admin-viewer key reads; an ``org_admin`` member manages
its organization's members (not other org admins) and reads it; members read their organization.
Creating, changing (budget, models) and deleting an organization is an admin's, as in LiteLLM.
Deleting an organization that still has teams or members is a 400 naming them (LiteLLM deletes
them and their keys along with it; here the operator moves or deletes them first).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from gateway import BadRequestError, NotFoundError

from .. import tables as t
from ..bodies import (
    DeleteOrgs,
    NewOrg,
    OrgInfo,
    OrgMember,
    OrgMemberAdd,
    OrgMemberRef,
    OrgMemberUpdate,
    UpdateOrg,
    parse,
    sent,
)
from ..roles import ORG_ADMIN, Caller, standing_of
from ..state import PluginState
from ..store import Writer, as_dict
from ..tiers import LIMIT_FIELDS, with_tier
from .common import (
    body_of,
    budget_reset_at,
    check_tier,
    ensure_user,
    find_row,
    jsonable,
    require_enforced,
    row_out,
    spend_of,
    stamps,
)

RESET_VALUES: dict[str, Any] = {"models": [], "metadata": {}, "blocked": False}
ORG = "organization"


def _membership(row: dict[str, Any], user: dict[str, Any] | None = None) -> dict[str, Any]:
    """A membership as LiteLLM's ``LiteLLM_OrganizationMembershipTable`` shows it (no member budgets)."""
    out = {
        "user_id": row["user_id"],
        "organization_id": row["organization_id"],
        "user_role": row["user_role"],
        "spend": 0.0,
        "budget_id": None,
        "created_at": jsonable(row.get("created_at")),
        "updated_at": jsonable(row.get("updated_at")),
    }
    if user is not None:
        out["user_email"] = user.get("user_email")
    return out


async def _members(conn: AsyncConnection, org_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    m = t.organization_members
    rows = (
        await conn.execute(
            sa.select(m, t.users.c.user_email)
            .join(t.users, t.users.c.user_id == m.c.user_id)
            .where(m.c.organization_id.in_(org_ids))
            .order_by(m.c.organization_id, m.c.user_id)
        )
    ).all()
    found: dict[str, list[dict[str, Any]]] = {org_id: [] for org_id in org_ids}
    for row in map(as_dict, rows):
        found[row["organization_id"]].append(_membership(row, row))
    return found


async def _teams(conn: AsyncConnection, org_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = (
        await conn.execute(
            sa.select(t.teams).where(t.teams.c.organization_id.in_(org_ids)).order_by(t.teams.c.created_at)
        )
    ).all()
    found: dict[str, list[dict[str, Any]]] = {org_id: [] for org_id in org_ids}
    for row in map(as_dict, rows):
        found[row["organization_id"]].append(row_out(row))
    return found


async def _answers(state: PluginState, conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Organizations as LiteLLM's ``LiteLLM_OrganizationTableWithMembers``: the row, ``spend``,
    ``litellm_budget_table`` (the limits that apply: its own, its budget tier's for the others),
    ``members`` and ``teams``."""
    ids = [row["organization_id"] for row in rows]
    members = await _members(conn, ids)
    teams = await _teams(conn, ids)
    tier_ids = sorted({row["budget_id"] for row in rows if row.get("budget_id")})
    tiers = {}
    if tier_ids:
        found = await conn.execute(sa.select(t.budgets).where(t.budgets.c.budget_id.in_(tier_ids)))
        tiers = {tier["budget_id"]: tier for tier in map(as_dict, found.all())}
    spend = await spend_of(state, "org", ids)
    out = []
    for row in rows:
        applied = with_tier(row, tiers)
        limits = {name: jsonable(applied.get(name)) for name in LIMIT_FIELDS}
        answer = row_out(row)
        answer.update(
            spend=float(spend[row["organization_id"]]),
            model_spend={},
            blocked=bool(row.get("blocked")),
            litellm_budget_table={
                "budget_id": row.get("budget_id"),
                **limits,
                "budget_reset_at": budget_reset_at(applied.get("budget_duration")),
            },
            members=members[row["organization_id"]],
            teams=teams[row["organization_id"]],
        )
        out.append(answer)
    return out


async def _answer(state: PluginState, org_id: str) -> dict[str, Any]:
    async with state.store.read() as conn:
        row = await find_row(conn, state, t.organizations, "organization_id", org_id, ORG)
        return (await _answers(state, conn, [row]))[0]


async def _teams_outside(w: Writer, state: PluginState, org_id: str, models: list[str]) -> None:
    """Narrowing an organization's models: no team of it may keep a model outside them."""
    rows = (await w.conn.execute(sa.select(t.teams).where(t.teams.c.organization_id == org_id))).all()
    for team in map(as_dict, rows):
        outside = state.catalog.outside(team.get("models"), models)
        if outside:
            raise BadRequestError(
                f"'models': team {team['team_id']!r} of organization {org_id!r} uses "
                f"{', '.join(map(repr, outside[:10]))}, which the new list leaves out; change the team's models "
                "first (POST /team/update)",
                param="models",
            )


async def new(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/organization/new")
    body = parse(NewOrg, await body_of(request, state))
    values = {k: v for k, v in sent(body, "organization_id").items() if v is not None}
    require_enforced(state, values, ORG)
    await check_tier(state, caller, "/organization/new", body.budget_id)
    org_id = body.organization_id or str(uuid.uuid4())
    async with state.store.write() as w:
        if await state.store.get(w.conn, t.organizations, "organization_id", org_id) is not None:
            raise BadRequestError(
                f"'organization_id': organization {org_id!r} exists already; change it with /organization/update",
                param="organization_id",
            )
        await state.store.insert(
            w.conn,
            t.organizations,
            {
                "organization_id": org_id,
                "models": [],
                "metadata": {},
                "blocked": False,
                **values,
                **stamps(caller, new=True),
            },
        )
        w.changed("org", org_id)
    return await _answer(state, org_id)


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    org_id = request.query_params.get("organization_id")
    if not org_id:
        raise BadRequestError(
            "'organization_id': required (GET /organization/info?organization_id=...)", param="organization_id"
        )
    if not caller.may_read_org(org_id):
        raise caller.denied("/organization/info", f"needs an admin key or a key of a member of {org_id!r}")
    return await _answer(state, org_id)


async def info_many(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    """LiteLLM's deprecated ``POST /organization/info`` with ``{"organizations": [...]}``."""
    body = parse(OrgInfo, await body_of(request, state))
    for org_id in body.organizations:
        if not caller.may_read_org(org_id):
            raise caller.denied("/organization/info", f"needs an admin key or a key of a member of {org_id!r}")
    async with state.store.read() as conn:
        rows = [await find_row(conn, state, t.organizations, "organization_id", o, ORG) for o in body.organizations]
        return await _answers(state, conn, rows)


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    caller.require_admin("/organization/update")
    body = parse(UpdateOrg, await body_of(request, state))
    values = {
        k: (RESET_VALUES[k] if v is None and k in RESET_VALUES else v) for k, v in sent(body, "organization_id").items()
    }
    if "organization_alias" in values and values["organization_alias"] is None:
        raise BadRequestError(
            "'organization_alias': an organization keeps a name; send a new one", param="organization_alias"
        )
    require_enforced(state, values, ORG)
    await check_tier(state, caller, "/organization/update", values.get("budget_id"))
    async with state.store.write(revokes=True) as w:
        await find_row(w.conn, state, t.organizations, "organization_id", body.organization_id, ORG)
        if values.get("models"):
            await _teams_outside(w, state, body.organization_id, values["models"])
        if values:
            await state.store.update(
                w.conn,
                t.organizations,
                "organization_id",
                body.organization_id,
                {**values, **stamps(caller, new=False)},
            )
        w.changed("org", body.organization_id)
    return await _answer(state, body.organization_id)


async def delete(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    caller.require_admin("/organization/delete")
    body = parse(DeleteOrgs, await body_of(request, state))
    async with state.store.write(revokes=True) as w:
        rows = [
            await find_row(w.conn, state, t.organizations, "organization_id", org_id, ORG)
            for org_id in body.organization_ids
        ]
        answers = await _answers(state, w.conn, rows)
        held = []
        for answer in answers:
            parts = []
            if answer["teams"]:
                parts.append("teams " + ", ".join(repr(team["team_id"]) for team in answer["teams"][:10]))
            if answer["members"]:
                parts.append("members " + ", ".join(repr(m["user_id"]) for m in answer["members"][:10]))
            if parts:
                held.append(f"{answer['organization_id']!r} still has {' and '.join(parts)}")
        if held:
            raise BadRequestError(
                f"'organization_ids': {'; '.join(held)}. Move or delete its teams first (POST /team/update with "
                "another organization_id, or POST /team/delete) and remove its members (/organization/member_delete)",
                param="organization_ids",
            )
        await w.conn.execute(
            sa.delete(t.organizations).where(t.organizations.c.organization_id.in_(body.organization_ids))
        )
        w.changed("org", *body.organization_ids)
    return answers


async def list_orgs(request: Request, caller: Caller, state: PluginState) -> list[dict[str, Any]]:
    """Admins and viewers: every organization; anyone else: the organizations its user belongs to (LiteLLM's rule)."""
    where: list[Any] = []
    if not caller.reads_everything:
        where.append(t.organizations.c.organization_id.in_(sorted(caller.member_orgs)))
    alias = request.query_params.get("org_alias") or request.query_params.get("organization_alias")
    if alias:
        where.append(t.organizations.c.organization_alias == alias)
    async with state.store.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.organizations)
                .where(*where)
                .order_by(t.organizations.c.created_at, t.organizations.c.organization_id)
                .limit(1000)
            )
        ).all()
        return await _answers(state, conn, [as_dict(r) for r in rows])


# --------------------------------------------------------------------------- members


async def _user_for(w: Writer, state: PluginState, caller: Caller, member: OrgMember) -> tuple[str, bool]:
    """The user a member entry names (created when unknown, as LiteLLM does); (user id, created)."""
    user_id = member.user_id
    if not user_id and member.user_email:
        found = await state.store.select_column(w.conn, t.users.c.user_id, t.users.c.user_email == member.user_email)
        if len(found) > 1:
            raise BadRequestError(
                f"'member': several users have the e-mail {member.user_email!r}; name the member by user_id",
                param="member",
            )
        user_id = str(found[0]) if found else None
    user_id = user_id or str(uuid.uuid4())
    created = await ensure_user(w.conn, state, user_id, caller)
    if created and member.user_email:
        await state.store.update(w.conn, t.users, "user_id", user_id, {"user_email": member.user_email})
    return user_id, created


async def member_add(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/organization/member_add"
    body = parse(OrgMemberAdd, await body_of(request, state))
    caller.require_org_admin(route, body.organization_id)
    members = body.members()
    if not caller.is_admin and any(m.role == ORG_ADMIN for m in members):
        raise caller.denied(route, "only an admin key makes org admins (role 'org_admin')", param="member")
    async with state.store.write() as w:
        await find_row(w.conn, state, t.organizations, "organization_id", body.organization_id, ORG)
        added: dict[str, str] = {}
        for member in members:
            user_id, created = await _user_for(w, state, caller, member)
            if not created and not caller.is_admin:
                standing = await standing_of(w.conn, state.store, user_id)
                # an org admin adds new users, itself, and plain users who belong to no organization
                if user_id != caller.user_id and (
                    standing.user_role not in ("internal_user", "internal_user_viewer") or standing.orgs
                ):
                    raise caller.denied(
                        route,
                        f"{user_id!r} cannot be added by an org admin: it adds new users and existing users with a "
                        "plain role (internal_user) who belong to no organization; an admin key can",
                        param="member",
                    )
            m = t.organization_members.c
            present = await state.store.select_column(
                w.conn, m.user_role, m.organization_id == body.organization_id, m.user_id == user_id
            )
            if present:
                raise BadRequestError(
                    f"'member': {user_id!r} is a member of organization {body.organization_id!r} already; change its "
                    "role with /organization/member_update",
                    param="member",
                )
            now = stamps(caller, new=True)
            await state.store.insert(
                w.conn,
                t.organization_members,
                {
                    "organization_id": body.organization_id,
                    "user_id": user_id,
                    "user_role": member.role,
                    "created_at": now["created_at"],
                    "updated_at": now["updated_at"],
                },
            )
            w.changed("user", user_id)
            added[user_id] = member.role
        w.changed("org", body.organization_id)
    async with state.store.read() as conn:
        users = {
            row["user_id"]: row
            for row in map(as_dict, (await conn.execute(sa.select(t.users).where(t.users.c.user_id.in_(added)))).all())
        }
        memberships = (await _members(conn, [body.organization_id]))[body.organization_id]
    return {
        "organization_id": body.organization_id,
        "updated_users": [row_out(users[u]) for u in added if u in users],
        "updated_organization_memberships": [m for m in memberships if m["user_id"] in added],
    }


async def _member(w: Writer, state: PluginState, body: OrgMemberRef) -> dict[str, Any]:
    """The membership a member_update / member_delete names (404 when the user is not a member)."""
    await find_row(w.conn, state, t.organizations, "organization_id", body.organization_id, ORG)
    m = t.organization_members
    where = [m.c.organization_id == body.organization_id]
    if body.user_id:
        where.append(m.c.user_id == body.user_id)
    else:
        where.append(m.c.user_id.in_(sa.select(t.users.c.user_id).where(t.users.c.user_email == body.user_email)))
    row = (await w.conn.execute(sa.select(m).where(*where))).first()
    if row is None:
        raise NotFoundError(
            f"Member not found in organization {body.organization_id!r}: {body.user_id or body.user_email!r} is not a "
            "member (GET /organization/info lists them)",
            param="user_id",
            code="404",
        )
    return as_dict(row)


async def member_update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/organization/member_update"
    body = parse(OrgMemberUpdate, await body_of(request, state))
    caller.require_org_admin(route, body.organization_id)
    if not caller.is_admin and body.role == ORG_ADMIN:
        raise caller.denied(route, "only an admin key makes org admins (role 'org_admin')", param="role")
    async with state.store.write(revokes=True) as w:
        row = await _member(w, state, body)
        if body.role is not None and body.role != row["user_role"]:
            standing = await standing_of(w.conn, state.store, row["user_id"])
            if not caller.may_change_org_member(standing, body.organization_id):
                raise caller.denied(
                    route, f"{row['user_id']!r} is an org admin or has an admin role; only an admin key changes it"
                )
            now = stamps(caller, new=False)["updated_at"]
            m = t.organization_members.c
            await w.conn.execute(
                sa.update(t.organization_members)
                .where(m.organization_id == body.organization_id, m.user_id == row["user_id"])
                .values(user_role=body.role, updated_at=now)
            )
            row.update(user_role=body.role, updated_at=now)
            w.changed("user", row["user_id"])
            w.changed("org", body.organization_id)
    return _membership(row)


async def member_delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/organization/member_delete"
    body = parse(OrgMemberRef, await body_of(request, state))
    caller.require_org_admin(route, body.organization_id)
    async with state.store.write(revokes=True) as w:
        row = await _member(w, state, body)
        standing = await standing_of(w.conn, state.store, row["user_id"])
        if not caller.may_change_org_member(standing, body.organization_id):
            raise caller.denied(
                route, f"{row['user_id']!r} is an org admin or has an admin role; only an admin key removes it"
            )
        m = t.organization_members.c
        await w.conn.execute(
            sa.delete(t.organization_members).where(
                m.organization_id == body.organization_id, m.user_id == row["user_id"]
            )
        )
        w.changed("user", row["user_id"])
        w.changed("org", body.organization_id)
    return _membership(row)
