"""Following the deployments when they change at runtime (a config reload, gateway-model-store).

The :class:`~.models.ModelCatalog` (access groups from ``model_info.access_groups``, the names
wildcards match) is built from the deployments served at start-up, and every resolved key and
customer holds its ``models`` list expanded against it.  When the served set changes, the catalog
is rebuilt and those expansions are dropped: a key listing an access group may use a model added
to the group, and no longer one removed from it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .models import ModelCatalog
from .state import log

if TYPE_CHECKING:
    from .state import PluginState


def follow_deployments(state: PluginState) -> None:
    """Rebuild the catalog whenever the gateway's deployments change (``add_deployments_listener``)."""
    pending: set[asyncio.Task[None]] = set()  # a task nobody references may be collected mid-run

    def deployments_changed() -> None:
        router = state.gateway.router
        state.catalog = ModelCatalog(state.gateway.deployments, [*router.groups, *router.aliases])
        # resolved keys hold expanded model lists: each is resolved again on its next request (one
        # database read per key, once); the epoch bump stops a load in flight from storing its old expansion
        state.cache.clear()
        sync = state.sync
        if sync is None:
            return  # before the lifespan: the synchroniser loads customers with the new catalog
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(_reload_customers(state), name="virtual-keys-customers-reload")
        pending.add(task)
        task.add_done_callback(pending.discard)

    state.gateway.add_deployments_listener(deployments_changed)


async def _reload_customers(state: PluginState) -> None:
    """Customers' ``models`` are expanded when their rows are loaded: load them again."""
    sync = state.sync
    if sync is None:
        return
    try:
        await sync.reload_customers()
    except Exception as exc:  # the database is away: the old expansion stays until the next change
        log.warning("virtual_keys_customers_reload_failed", error=f"{type(exc).__name__}: {exc}")
