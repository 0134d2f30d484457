"""gateway-admin-ui: a web admin UI at ``/ui``.

Hand-written HTML, CSS and ES modules shipped as package data (nothing from a CDN, no Node build).
The page logs in with the master key or a virtual key, which becomes a server-side session
(``ui_sessions`` in the gateway's SQL store, shared by every worker), and calls the gateway's public
admin API through ``/ui/api/`` with that key: what a user sees is what the API lets the key see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gateway import Gateway, hookimpl

from .settings import AdminUISettings

__all__ = ["AdminUISettings"]

PLUGIN = "admin_ui"
gateway_plugin_name = PLUGIN


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, AdminUISettings)


@hookimpl
def gateway_register_migrations(register: Callable[..., None]) -> None:
    register(PLUGIN, "gateway_admin_ui:migrations")


@hookimpl
def gateway_register_routes(gateway: Gateway) -> list[Any]:
    from .routes import ui_routes

    return ui_routes(gateway, lambda: gateway.state.get(PLUGIN))


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    return _lifespan(gateway)


@asynccontextmanager
async def _lifespan(gateway: Gateway) -> AsyncIterator[None]:
    from gateway.storage import get_engine, open_storage

    from .sessions import SessionStore

    async with open_storage(gateway):
        gateway.state[PLUGIN] = SessionStore(get_engine(gateway))
        try:
            yield
        finally:
            gateway.state.pop(PLUGIN, None)
