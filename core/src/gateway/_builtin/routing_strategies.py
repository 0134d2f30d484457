"""The built-in routing strategies, registered through the same hook a third party uses, and
the router's start-up: choosing the configured strategy, merging fallbacks, syncing with Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from gateway._hooks import PerPlugin, call_startup_hook
from gateway._hookspecs import hookimpl
from gateway._router import StrategyRegistry
from gateway._strategies import BUILTIN_STRATEGIES
from gateway._strategies.redis_state import RedisRouterState

if TYPE_CHECKING:
    from gateway._gateway import Gateway

PLUGIN_NAME = "routing_strategies"


@hookimpl
def gateway_register_routing_strategies(register: Callable[..., None]) -> None:
    for name, factory in BUILTIN_STRATEGIES.items():
        register(name, factory)


@hookimpl(tryfirst=True)
def gateway_configure(gateway: Gateway) -> None:
    """Build the strategy the config names (before other plugins configure, so they see it)."""
    registry = StrategyRegistry()
    call_startup_hook(
        gateway.pm, "gateway_register_routing_strategies", register=PerPlugin(registry.registrar), gateway=gateway
    )
    router = gateway.router
    litellm = gateway.config.litellm_settings
    router.add_fallbacks("context_window_fallbacks", litellm.context_window_fallbacks or [])
    router.add_fallbacks("content_policy_fallbacks", litellm.content_policy_fallbacks or [])
    router.check_fallbacks()
    router.use_strategy(registry.build(gateway.config.router_settings, gateway))
    gateway.state[PLUGIN_NAME] = registry


@hookimpl
def gateway_lifespan(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    state = gateway.router.state
    if isinstance(state, RedisRouterState):
        return _synced(state)
    return None


@asynccontextmanager
async def _synced(state: RedisRouterState) -> AsyncIterator[Any]:
    await state.start()
    try:
        yield
    finally:
        await state.stop()
