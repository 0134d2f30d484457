"""gateway-model-store: models at runtime, LiteLLM's ``store_model_in_db``.

``/model/new``, ``/model/update`` and ``/model/delete`` (admin keys) keep deployments in the
gateway's database (``ms_models``; ``litellm_params`` encrypted with the salt key); every worker
of every instance polls a version counter and hands the stored set to the router
(``Gateway.set_runtime_deployments``) within ``plugins.model_store.poll_interval`` (0.5 s).  The
config file stays the source for what it defines: a stored model never takes over one of its
model groups or ids.  Off unless ``general_settings.store_model_in_db`` (or
``STORE_MODEL_IN_DB``) is true: the routes then answer 400 saying so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gateway import Gateway, hookimpl

from .settings import ModelStoreSettings
from .state import PLUGIN, ModelStore, store_enabled

__all__ = ["ModelStoreSettings"]

gateway_plugin_name = PLUGIN


def _state(gateway: Gateway) -> ModelStore | None:
    state: ModelStore | None = gateway.state.get(PLUGIN)
    return state


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, ModelStoreSettings)


@hookimpl
def gateway_config_keys() -> list[str]:
    return ["general_settings.store_model_in_db"]


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    if not store_enabled(gateway):
        return
    from .crypto import Sealer, salt_from_environment

    settings = gateway.plugin_config(PLUGIN) or ModelStoreSettings()
    sealer = Sealer(salt_from_environment(gateway.config.general_settings.master_key))
    gateway.state[PLUGIN] = ModelStore(gateway, settings, sealer)


@hookimpl
def gateway_register_migrations(register: Callable[..., None]) -> None:
    register(PLUGIN, "gateway_model_store:migrations")


@hookimpl
def gateway_register_routes(gateway: Gateway) -> list[Any]:
    from .routes import model_routes

    return model_routes(gateway, lambda: _state(gateway))


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    return _lifespan(gateway)


@asynccontextmanager
async def _lifespan(gateway: Gateway) -> AsyncIterator[None]:
    state = _state(gateway)
    if state is None:
        yield
        return
    from gateway.http import add_readiness_check
    from gateway.storage import get_engine, open_storage

    from .store import Store
    from .sync import Synchroniser

    async with open_storage(gateway):
        state.store = Store(get_engine(gateway), state.sealer)
        sync = Synchroniser(gateway, state.store, state.settings.poll_interval)
        await sync.start()
        state.sync = sync

        async def report() -> dict[str, Any]:
            return sync.report()

        add_readiness_check(gateway, PLUGIN, report)
        try:
            yield
        finally:
            state.sync = None
            await sync.stop()
