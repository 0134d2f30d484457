"""Shared pieces of the admin routes: the handler wrapper, response shapes, spend, look-ups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import BadRequestError, GatewayError, NotFoundError
from gateway.durations import parse_duration
from gateway.guardrails import configured_guardrails
from gateway.http import authenticate_request, error_response, json_response, parse_json_object, read_body

from .. import policy
from .. import tables as t
from ..hashing import KEY_PREFIX, is_hash
from ..roles import Caller, caller_for
from ..state import PluginState, state_of
from ..store import Writer

if TYPE_CHECKING:
    from gateway import Gateway

Handler = Callable[[Request, Caller, PluginState], Awaitable[Any]]


def admin_route(gateway: Gateway, path: str, method: str, handler: Handler) -> Route:
    """A route that authenticates, resolves the caller's role and answers errors in the OpenAI envelope."""

    async def endpoint(request: Request) -> Response:
        try:
            state = state_of(gateway)
            principal = await authenticate_request(request, gateway)
            if not state.ready():
                raise GatewayError("the key store is not open yet", status=503, type="service_unavailable")
            check_parameters(request)
            caller = await caller_for(principal, state.store)
            result = await handler(request, caller, state)
        except GatewayError as exc:
            return error_response(exc)
        return result if isinstance(result, Response) else json_response(result)

    return Route(path, endpoint, methods=[method])


def check_parameters(request: Request) -> None:
    """Query and path parameters reach SQL statements: refuse NUL characters, which PostgreSQL text
    cannot hold (bodies get the same check, and more, in ``bodies.parse``)."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if "\x00" in name or "\x00" in str(value):
            shown = name.replace("\x00", "")[:40] or "query"
            raise BadRequestError(f"parameter '{shown}' must not contain NUL characters (%00)", param=shown)


async def body_of(request: Request, state: PluginState, *, optional: bool = False) -> dict[str, Any]:
    """The JSON object sent, whatever the Content-Type; a malformed body is a 400 with ``param: body``.

    ``optional``: an empty body is ``{}`` (``/key/{key}/regenerate``).
    """
    try:
        raw = await read_body(request, state.gateway.max_body_bytes)
        return {} if optional and not raw.strip() else parse_json_object(raw)
    except BadRequestError as exc:
        exc.param = exc.param or "body"
        raise


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"'{name}' must be an integer from {low} to {high}, got {raw!r}", param=name) from None
    if not low <= value <= high:
        raise BadRequestError(f"'{name}' must be from {low} to {high}, got {value}", param=name)
    return value


def query_bool(request: Request, name: str) -> bool:
    return (request.query_params.get(name) or "").lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------- response shapes


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def row_out(row: Mapping[str, Any], *drop: str) -> dict[str, Any]:
    out = {name: jsonable(value) for name, value in row.items() if name not in drop}
    if "budget_duration" in row:
        out["budget_reset_at"] = budget_reset_at(row["budget_duration"])
    return out


def budget_reset_at(duration: str | None) -> str | None:
    """When a budget of this duration next resets (LiteLLM's ``budget_reset_at``); None: never.

    The budget plugin counts spend in windows of ``gateway.durations`` that follow the UTC calendar
    (``1d`` at midnight, ``1mo`` on the 1st): this is the end of the current one, the same instant.
    """
    if not duration:
        return None
    try:
        window = parse_duration(duration, "budget_duration").window(datetime.now(UTC))
    except ValueError:  # stored before today's limits (1216mo): the budget plugin refuses it with a 400
        return None
    return window[1].isoformat()


def expires_after(duration: str | None) -> datetime | None:
    """The expiry of a key given a lifetime (``duration``: ``30d``, ``1mo`` ...); None never expires."""
    return None if duration is None else parse_duration(duration).after(datetime.now(UTC))


#: fields LiteLLM's answers carry that this plugin does not keep, with the value they then have
#: there (none set): clients reading them find them, and nothing pretends to be set
KEY_EXTRAS: dict[str, Any] = {
    "config": {},
    "tags": None,
    "organization_id": None,
    "budget_id": None,
    "model_max_budget": {},
    "model_spend": {},
    "allowed_cache_controls": [],
    "allowed_routes": [],
}
TEAM_EXTRAS: dict[str, Any] = {"organization_id": None, "model_max_budget": {}}
USER_EXTRAS: dict[str, Any] = {"organization_memberships": [], "model_max_budget": {}, "model_spend": {}}


def with_extras(out: dict[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
    for name, value in extras.items():
        out.setdefault(name, value.copy() if isinstance(value, dict | list) else value)
    return out


def key_out(row: Mapping[str, Any], spend: Decimal) -> dict[str, Any]:
    """A key as ``/key/info`` shows it: never the secret, never its current hash."""
    info = row_out(row, "id", "token")
    info["token_id"] = row["id"]
    info["spend"] = float(spend)
    info["tags"] = (row.get("metadata") or {}).get("tags")  # LiteLLM's key tags live in its metadata
    return with_extras(info, KEY_EXTRAS)


# --------------------------------------------------------------------------- spend (from the ledger)


async def spend_of(state: PluginState, scope: str, ids: Iterable[str]) -> dict[str, Decimal]:
    """Spend by id from whichever plugin answers ``gateway_get_spend``; 0 when none is installed."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    gateway = state.gateway
    found = await gateway.call_first("gateway_get_spend", scope=scope, ids=wanted, gateway=gateway) or {}
    return {i: Decimal(str(found.get(i) or 0)) for i in wanted}


# --------------------------------------------------------------------------- look-ups


async def find_key(conn: AsyncConnection, state: PluginState, ref: str) -> dict[str, Any]:
    """A key by plaintext (``sk-...``, current or in its grace period), token id or current hash."""
    store = state.store
    row = None
    if ref.startswith(KEY_PREFIX):
        token = state.require_hasher().hash(ref)
        row = await store.get(conn, t.keys, "token", token)
        if row is None:
            owner = await store.get(conn, t.old_tokens, "token", token)
            if owner is not None:
                row = await store.get(conn, t.keys, "id", owner["key_id"])
    elif is_hash(ref):
        row = await store.get(conn, t.keys, "id", ref) or await store.get(conn, t.keys, "token", ref)
    if row is None:
        raise NotFoundError("key not found: pass the key ('sk-...') or its token_id/hash", param="key", code="404")
    return row


async def find_row(
    conn: AsyncConnection, state: PluginState, table: sa.Table, column: str, value: str, what: str
) -> dict[str, Any]:
    row = await state.store.get(conn, table, column, value)
    if row is None:
        raise NotFoundError(f"{what} {value!r} not found", param=column, code="404")
    return row


def check_guardrails(state: PluginState, names: list[str] | None, field: str = "guardrails") -> None:
    """Every name must be a guardrail of the config's ``guardrails:`` list: a key or team carrying an
    unknown one would fail every request it makes."""
    configured = configured_guardrails(state.gateway)
    for name in names or ():
        if name not in configured:
            raise BadRequestError(
                f"'{field}': guardrail {name[:80]!r} is not configured on this gateway (configured: "
                f"{', '.join(configured) or 'none'}); add it to the guardrails: section first",
                param=field,
            )


def check_within_team(state: PluginState, models: list[str] | None, team: Mapping[str, Any] | None) -> None:
    """A key's ``models`` must stay within its team's (LiteLLM checks this when the key is made)."""
    if team is None:
        return
    outside = state.catalog.outside(models, team.get("models"))
    if outside:
        raise BadRequestError(
            f"'models': {', '.join(map(repr, outside))} not allowed for team {team['team_id']!r}, which may use "
            f"{', '.join(map(repr, team.get('models') or ()))}",
            param="models",
        )


def require_enforced(state: PluginState, values: Mapping[str, Any], what: str) -> None:
    """A budget or limit nobody enforces is refused (400 naming gateway-spend), never stored."""
    policy.require_enforced(state.enforced, values, what)


async def check_tier(
    state: PluginState, caller: Caller, route: str, budget_id: str | None, conn: AsyncConnection | None = None
) -> None:
    """A ``budget_id`` must name an existing budget tier, and only an admin key assigns one."""
    if budget_id is None:
        return
    if not caller.is_admin:
        raise caller.denied(route, "only an admin key assigns a budget tier (budget_id)", param="budget_id")
    if conn is not None:
        found = await state.store.get(conn, t.budgets, "budget_id", budget_id)
    else:
        async with state.store.read() as read:
            found = await state.store.get(read, t.budgets, "budget_id", budget_id)
    if found is None:
        raise BadRequestError(
            f"'budget_id': budget tier {budget_id!r} does not exist; create it first with POST /budget/new",
            param="budget_id",
        )


def stamps(caller: Caller, *, new: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    values = {"updated_at": now, "updated_by": caller.actor}
    if new:
        values.update(created_at=now, created_by=caller.actor)
    return values


async def ensure_user(conn: AsyncConnection, state: PluginState, user_id: str, caller: Caller) -> bool:
    """Create a plain user row for an id first seen on a key or a membership (LiteLLM does the
    same), with ``litellm_settings.max_internal_user_budget``; True if created."""
    if await state.store.get(conn, t.users, "user_id", user_id) is not None:
        return False
    await state.store.insert(
        conn,
        t.users,
        {
            "user_id": user_id,
            "user_role": "internal_user",
            "models": [],
            "metadata": {},
            "max_budget": state.policy.internal_user_budget,
            **stamps(caller, new=True),
        },
    )
    return True


def new_team_values(team_id: str, caller: Caller, **fields: Any) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "models": [],
        "model_aliases": {},
        "metadata": {},
        "guardrails": [],
        "blocked": False,
        **stamps(caller, new=True),
        **{k: v for k, v in fields.items() if v is not None},
    }


async def resolve_team(
    w: Writer, state: PluginState, caller: Caller, team_id: str, *, may_create: bool
) -> dict[str, Any]:
    """The team a key is made for; an admin's call creates a missing one (``auto_create_teams``)."""
    team = await state.store.get(w.conn, t.teams, "team_id", team_id)
    if team is not None:
        return team
    if may_create and caller.is_admin and state.settings.auto_create_teams:
        team = new_team_values(team_id, caller)
        await state.store.insert(w.conn, t.teams, team)
        w.changed("team", team_id)
        return team
    raise BadRequestError(
        f"'team_id': team {team_id!r} does not exist; create it first with POST /team/new", param="team_id"
    )


async def delete_owners(state: PluginState, table: sa.Table, column: str, ids: list[str], what: str) -> int:
    """Delete teams or users (``column`` is ``team_id`` / ``user_id``) with their keys and
    memberships, in one transaction that revokes: the keys are refused from the next request on.
    Returns how many keys went with them."""
    async with state.store.write(revokes=True) as w:
        for entity_id in ids:
            await find_row(w.conn, state, table, column, entity_id, what)
        key_ids = await state.store.delete_keys(w, getattr(t.keys.c, column).in_(ids))
        await w.conn.execute(sa.delete(t.members).where(getattr(t.members.c, column).in_(ids)))
        await w.conn.execute(sa.delete(table).where(getattr(table.c, column).in_(ids)))
        w.changed(what, *ids)
    return len(key_ids)
