"""The plugin's per-gateway state (``gateway.state["model_store"]``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .settings import ModelStoreSettings

if TYPE_CHECKING:
    from gateway import Gateway

    from .crypto import Sealer
    from .store import Store
    from .sync import Synchroniser

PLUGIN = "model_store"


def store_enabled(gateway: Gateway) -> bool:
    """``general_settings.store_model_in_db``, else LiteLLM's ``STORE_MODEL_IN_DB`` variable."""
    configured = gateway.config.general_settings.store_model_in_db
    if configured is not None:
        return bool(configured)
    return os.environ.get("STORE_MODEL_IN_DB", "").strip().lower() in ("true", "1", "yes")


@dataclass
class ModelStore:
    gateway: Gateway
    settings: ModelStoreSettings
    sealer: Sealer
    store: Store = field(init=False)
    sync: Synchroniser | None = None
