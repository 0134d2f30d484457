"""``/key/*``: generate, info, update, delete, block, unblock, regenerate, list.

Who may do what to a key is decided here with ``roles.Caller.acts_for``: an admin anything; a
team admin only keys of its teams owned by nobody, itself or a plain member, and it may not move
a key between teams, clear its owner or grant ``permissions``.  A key the caller may not see is
refused with the same answer as a key that does not exist, so refusals reveal nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from gateway import BadRequestError, NotFoundError
from gateway.durations import parse_duration

from .. import tables as t
from ..bodies import DeleteKeys, GenerateKey, KeyRef, RegenerateKey, UpdateKey, parse, sent
from ..hashing import check_custom_key, custom_key_refused, display_name, generate_key
from ..roles import Caller, standing_of
from ..rotation import schedule
from ..state import PluginState
from ..store import Writer
from .common import (
    body_of,
    check_guardrails,
    check_tier,
    check_within_team,
    ensure_user,
    expires_after,
    find_key,
    find_row,
    key_out,
    query_bool,
    query_int,
    require_enforced,
    resolve_team,
    spend_of,
    stamps,
)

#: columns that cannot be NULL: a ``null`` in an update resets them to these
RESET_VALUES: dict[str, Any] = {
    "models": [],
    "aliases": {},
    "metadata": {},
    "permissions": {},
    "guardrails": [],
    "blocked": False,
}
SETTABLE = (
    "key_alias",
    "user_id",
    "team_id",
    "models",
    "aliases",
    "max_budget",
    "soft_budget",
    "budget_duration",
    "tpm_limit",
    "rpm_limit",
    "max_parallel_requests",
    "metadata",
    "permissions",
    "guardrails",
    "blocked",
    "budget_id",
    "auto_rotate",
    "rotation_interval",
)


#: the refusal for a key that does not exist *or* that the caller may not see (indistinguishable)
NO_KEY_TO_MANAGE = (
    "no key that you may manage matches 'key': a team admin manages the keys of its own teams; other keys need "
    "an admin key"
)
NO_KEY_TO_READ = (
    "no key that you may read matches 'key': a key reads its own information, a team admin the keys of its teams"
)


def _secret(state: PluginState, custom: str | None, field: str) -> str:
    if custom is not None:
        check_custom_key(custom, field)
        return custom
    return generate_key(state.settings.key_length)


async def _refuse_taken(w: Writer, state: PluginState, token: str, field: str) -> None:
    """A custom key already in use gets the same refusal as a malformed one (and counts as a guess)."""
    if await state.store.token_in_use(w.conn, token):
        state.note_invalid_key("a custom key already in use was offered to an admin route")
        raise custom_key_refused(field)


def _changes(fields: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Column values for the fields sent (``duration`` becomes ``expires``; ``tags`` go into
    ``metadata.tags``, as LiteLLM stores them; ``metadata``: the key's current one, on an update)."""
    values = {
        name: (RESET_VALUES[name] if value is None and name in RESET_VALUES else value)
        for name, value in fields.items()
        if name in SETTABLE
    }
    if "tags" in fields:
        merged = dict(values.get("metadata", metadata or {}))
        merged.pop("tags", None)
        if fields["tags"]:
            merged["tags"] = fields["tags"]
        values["metadata"] = merged
    if "duration" in fields:
        values["expires"] = expires_after(fields["duration"])
    if "expires" in fields:
        values["expires"] = fields["expires"]
    return values


async def _is_member(conn: AsyncConnection, state: PluginState, team_id: str, user_id: str) -> bool:
    found = await state.store.select_column(
        conn, t.members.c.user_id, t.members.c.team_id == team_id, t.members.c.user_id == user_id
    )
    return bool(found)


async def _check_owner(
    w: Writer, state: PluginState, caller: Caller, route: str, user_id: str | None, team_id: str | None
) -> None:
    """The key's new owner: created if new (admins); for team admins itself or a plain member of
    the team, since a key has its owner's powers."""
    if not user_id:
        return
    if caller.is_admin:
        await ensure_user(w.conn, state, user_id, caller)
        return
    if team_id is None or not await _is_member(w.conn, state, team_id, user_id):
        raise caller.denied(
            route,
            f"user {user_id!r} is not a member of team {team_id!r}; add them with /team/member_add",
            param="user_id",
        )
    if not caller.acts_for(await standing_of(w.conn, state.store, user_id), team_id):
        raise caller.denied(
            route,
            f"user {user_id!r} is not a plain member of team {team_id!r} (user_role internal_user, role 'user', admin "
            "of no team); a key has its owner's powers, so only an admin key makes or changes keys of team admins "
            "and admin users",
            param="user_id",
        )


async def _managed_key(
    conn: AsyncConnection,
    state: PluginState,
    caller: Caller,
    route: str,
    *,
    ref: str | None = None,
    alias: str | None = None,
) -> dict[str, Any]:
    """The key a write route is about, if the caller may change it.  For a caller who may not see
    every key, "no such key" and "not yours" are one refusal."""
    try:
        row = await (
            find_key(conn, state, ref)
            if ref is not None
            else find_row(conn, state, t.keys, "key_alias", alias or "", "key with alias")
        )
    except NotFoundError:
        if caller.is_admin:
            raise
        raise caller.denied(route, NO_KEY_TO_MANAGE, param="key") from None
    if caller.is_admin:
        return row
    if row["team_id"] not in caller.admin_teams:
        raise caller.denied(route, NO_KEY_TO_MANAGE, param="key")
    owner = await standing_of(conn, state.store, row["user_id"]) if row["user_id"] else None
    if not caller.acts_for(owner, row["team_id"]):
        raise caller.denied(
            route,
            f"this key belongs to {row['user_id']!r}, who is not a plain member of team {row['team_id']!r}; a key has "
            "its owner's powers, so only an admin key changes, blocks, deletes or regenerates keys of team admins and "
            "admin users",
            param="key",
        )
    return row


# --------------------------------------------------------------------------- handlers


def _refuse_permissions(caller: Caller, route: str, permissions: Any, current: Any = None) -> None:
    """``permissions`` widen what a key may do (e.g. switch off guardrails): an admin's grant."""
    if not caller.is_admin and permissions and permissions != current:
        raise caller.denied(
            route, "only an admin key grants 'permissions' (they widen what a key may do)", param="permissions"
        )


async def generate(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/key/generate"
    body = parse(GenerateKey, state.policy.with_defaults(await body_of(request, state)))
    caller.require_team_admin(route, body.team_id)
    _refuse_permissions(caller, route, body.permissions)
    check_guardrails(state, body.guardrails)
    fields = state.policy.bound_new_key(sent(body, "key"))
    require_enforced(state, fields, "key")
    await check_tier(state, caller, route, fields.get("budget_id"))
    hasher = state.require_hasher()
    secret = _secret(state, body.key, "key")
    token = hasher.hash(secret)
    changes = _changes(fields)
    schedule(state, changes, None, datetime.now(UTC))
    values = {
        **RESET_VALUES,
        **changes,
        "id": token,
        "token": token,
        "key_name": display_name(secret),
        **stamps(caller, new=True),
    }
    if not caller.is_admin and not values.get("user_id"):
        values["user_id"] = caller.user_id  # a team admin's keys belong to someone
    async with state.store.write() as w:
        if body.key is not None:
            await _refuse_taken(w, state, token, "key")
        team = await resolve_team(w, state, caller, body.team_id, may_create=True) if body.team_id else None
        check_within_team(state, body.models, team)
        await _check_owner(w, state, caller, route, values.get("user_id"), body.team_id)
        await state.store.insert(w.conn, t.keys, values)
        w.changed("key", token)
        row = await state.store.get(w.conn, t.keys, "id", token)
    assert row is not None
    return {**key_out(row, spend=Decimal(0)), "key": secret, "token": secret, "duration": fields.get("duration")}


async def info(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    route = "/key/info"
    ref = request.query_params.get("key")
    row: dict[str, Any] | None
    async with state.store.read() as conn:
        try:
            if ref:
                row = await find_key(conn, state, ref)
            elif caller.principal.kind == "virtual_key":
                row = await find_row(conn, state, t.keys, "id", caller.principal.id, "key")
            else:
                raise BadRequestError("'key' is required: /key/info?key=sk-... (or the key's token_id)", param="key")
        except NotFoundError:
            if caller.reads_everything:
                raise
            row = None
    own = row is not None and row["id"] == caller.principal.key_hash
    if row is None or (not own and not caller.may_read_team_keys(row["team_id"])):
        raise caller.denied(route, NO_KEY_TO_READ, param="key")
    spend = (await spend_of(state, "key", [row["id"]]))[row["id"]]
    return {"key": row["id"], "info": key_out(row, spend)}


async def _update(
    w: Writer,
    state: PluginState,
    caller: Caller,
    route: str,
    row: dict[str, Any],
    fields: dict[str, Any],
) -> None:
    """Apply the update fields to a key the caller may manage (``_managed_key``)."""
    state.policy.check_key_change(fields)
    require_enforced(state, fields, "key")
    await check_tier(state, caller, route, fields.get("budget_id"), w.conn)
    values = _changes(fields, row["metadata"])
    schedule(state, values, row, datetime.now(UTC))
    team_id = values.get("team_id", row["team_id"])
    if not caller.is_admin:
        # a key outside its team's budget and models, an owner-less key outside its owner's budget,
        # or a key with wider permissions, is more than a team admin holds to give
        if team_id != row["team_id"]:
            raise caller.denied(
                route, "moving a key to another team, or out of its team, needs an admin key", param="team_id"
            )
        if "user_id" in values and values["user_id"] is None and row["user_id"] is not None:
            raise caller.denied(
                route, "a team admin's keys belong to a member; only an admin key clears 'user_id'", param="user_id"
            )
        _refuse_permissions(caller, route, values.get("permissions"), row["permissions"])
    check_guardrails(state, values.get("guardrails"))
    if "models" in values or "team_id" in values:
        team = await resolve_team(w, state, caller, team_id, may_create=False) if team_id else None
        check_within_team(state, values.get("models", row["models"]), team)
    if "user_id" in values and values["user_id"] != row["user_id"]:
        await _check_owner(w, state, caller, route, values.get("user_id"), team_id)
    if values:
        await state.store.update(w.conn, t.keys, "id", row["id"], {**values, **stamps(caller, new=False)})
    w.changed("key", row["id"])


async def update(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    body = parse(UpdateKey, await body_of(request, state))
    fields = sent(body, "key")
    route = "/key/update"
    async with state.store.write(revokes=True) as w:
        if body.key:
            row = await _managed_key(w.conn, state, caller, route, ref=body.key)
        else:
            row = await _managed_key(w.conn, state, caller, route, alias=body.key_alias)
            fields.pop("key_alias", None)
        await _update(w, state, caller, route, row, fields)
        row = await state.store.get(w.conn, t.keys, "id", row["id"])
    assert row is not None
    spend = (await spend_of(state, "key", [row["id"]]))[row["id"]]
    return {"key": row["id"], **key_out(row, spend)}


async def delete(request: Request, caller: Caller, state: PluginState) -> dict[str, Any]:
    body = parse(DeleteKeys, await body_of(request, state))
    route = "/key/delete"
    async with state.store.write(revokes=True) as w:
        rows = [await _managed_key(w.conn, state, caller, route, ref=ref) for ref in body.keys or ()]
        rows += [await _managed_key(w.conn, state, caller, route, alias=alias) for alias in body.key_aliases or ()]
        ids = await state.store.delete_keys(w, t.keys.c.id.in_([row["id"] for row in rows]))
    return {"deleted_keys": [*(body.keys or ()), *(body.key_aliases or ())], "deleted_token_ids": ids}


async def _set_blocked(request: Request, caller: Caller, state: PluginState, blocked: bool) -> dict[str, Any]:
    route = "/key/block" if blocked else "/key/unblock"
    body = parse(KeyRef, await body_of(request, state))
    async with state.store.write(revokes=blocked) as w:
        row = await _managed_key(w.conn, state, caller, route, ref=body.key)
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
    secret = _secret(state, body.new_key, "new_key")
    token = hasher.hash(secret)
    async with state.store.write(revokes=True) as w:
        row = await _managed_key(w.conn, state, caller, route, ref=body.key)
        if body.new_key is not None:
            await _refuse_taken(w, state, token, "new_key")
        await _update(w, state, caller, route, row, sent(body, "key", "new_key", "grace_period"))
        if body.grace_period:
            until = parse_duration(body.grace_period, "grace_period").after(datetime.now(UTC))
            await state.store.insert(
                w.conn, t.old_tokens, {"token": row["token"], "key_id": row["id"], "expires_at": until}
            )
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
