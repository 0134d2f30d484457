"""gateway-virtual-keys: virtual keys, teams and users, with LiteLLM's admin API, on SQLite or PostgreSQL.

Hooks: ``gateway_auth`` (``sk-`` keys, served from memory), ``gateway_register_routes`` (``/key/*``,
``/team/*``, ``/user/*``, ``/customer/*``, ``/budget/*``, ``/tag/*``), ``gateway_pre_call`` and
``gateway_end_user_scope`` (customers), ``gateway_tag_scopes`` (tag budgets),
``gateway_register_migrations`` (its tables), ``gateway_lifespan`` (asks which limits an installed
plugin enforces, opens the shared store, loads the key index, starts cache invalidation).  See the
README.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gateway import BudgetScope, Gateway, Principal, RequestContext, hookimpl
from gateway.storage import get_engine, open_storage

from .auth import authenticate
from .customers import check_request, end_user_scope
from .policy import ENFORCER
from .rotation import Rotator
from .routes import admin_routes
from .runtime_models import follow_deployments
from .settings import VirtualKeysSettings
from .state import PLUGIN, PluginState, log, state_of
from .store import Store
from .sync import Synchroniser

__all__ = ["VirtualKeysSettings"]


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, VirtualKeysSettings)


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    settings = gateway.plugin_config(PLUGIN) or VirtualKeysSettings()
    state = gateway.state[PLUGIN] = PluginState(gateway, settings)
    follow_deployments(state)  # access groups follow models added or removed at runtime


@hookimpl
def gateway_register_migrations(register: Callable[..., None]) -> None:
    register(PLUGIN, "gateway_virtual_keys:migrations")


@hookimpl
def gateway_register_routes(gateway: Gateway) -> list[Any]:
    return admin_routes(gateway)


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    return _lifespan(gateway)


async def _find_enforcer(state: PluginState) -> None:
    """Ask which limits an installed plugin enforces (gateway-spend declares the hook); the
    settings that would fill in limits nobody enforces are reported and left unused."""
    gateway = state.gateway
    answer = await gateway.call_first("gateway_enforced_limits", gateway=gateway)
    state.enforced = frozenset(answer or ())
    state.policy, dropped = state.configured_policy.restricted_to(state.enforced)
    if dropped:
        log.warning(
            "config_keys_without_effect",
            keys=dropped,
            reason=f"no installed plugin enforces budgets and rate limits; install {ENFORCER}",
        )


@asynccontextmanager
async def _lifespan(gateway: Gateway) -> AsyncIterator[None]:
    state = state_of(gateway)
    await _find_enforcer(state)
    async with open_storage(gateway):
        state.store = Store(get_engine(gateway))
        sync = state.sync = Synchroniser(state)
        await sync.start()
        rotator = Rotator(state) if state.rotation.enabled else None
        if rotator is not None:
            rotator.start()
        try:
            yield
        finally:
            if rotator is not None:
                await rotator.stop()
            await sync.stop()
            state.sync = None
            state.store = None  # type: ignore[assignment]


@hookimpl
async def gateway_auth(api_key: str | None, gateway: Gateway) -> Principal | None:
    return await authenticate(state_of(gateway), api_key)


@hookimpl
def gateway_config_keys() -> list[str]:
    """The LiteLLM config keys this plugin implements (LiteLLM's defaults and caps for keys, internal users and end users)."""
    return [
        "litellm_settings.max_internal_user_budget",
        "litellm_settings.default_key_generate_params",
        "litellm_settings.upperbound_key_generate_params",
        "litellm_settings.max_end_user_budget_id",
    ]


@hookimpl(tryfirst=True)
def gateway_pre_call(ctx: RequestContext, gateway: Gateway) -> None:
    """A customer's blocked flag and models (a dict look-up; nothing when there are no customers)."""
    customers = state_of(gateway).customers
    if customers.by_id and ctx.request is not None:
        user_field = "metadata.user_id" if ctx.surface.startswith("anthropic") else "user"
        check_request(customers, ctx.request.user, ctx.model_group, user_field)


@hookimpl(optionalhook=True)  # declared by gateway-spend: absent without it
def gateway_tag_scopes(tags: list[str], gateway: Gateway) -> list[BudgetScope] | None:
    """gateway-spend's hook: the budgets and limits of the request's tags (``/tag/*``)."""
    return state_of(gateway).tags.scopes_for(tags)


@hookimpl(optionalhook=True)  # declared by gateway-spend: absent without it
def gateway_end_user_scope(end_user: str, gateway: Gateway) -> BudgetScope | None:
    """gateway-spend's hook: a customer's own budget and limits."""
    return end_user_scope(state_of(gateway).customers, end_user)
