"""Everything the plugin keeps per gateway (``gateway.state["virtual_keys"]``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gateway import GatewayError, get_logger

from .cache import METRIC_NAMES, AuthCache, TokenBucket
from .customers import Customers
from .hashing import KeyHasher, salt_from_environment
from .models import ModelCatalog
from .policy import KeyPolicy
from .rotation import RotationConfig, rotation_config
from .settings import VirtualKeysSettings
from .tags import Tags

if TYPE_CHECKING:
    from gateway import Gateway

    from .store import Store
    from .sync import Synchroniser

PLUGIN = "virtual_keys"
METRICS_STATE_KEY = "virtual_keys_metrics"
log = get_logger("gateway.virtual_keys")

NO_SALT = (
    "virtual keys need a secret to hash them with: set LITELLM_SALT_KEY (or GATEWAY_SALT_KEY), or a master key "
    "(general_settings.master_key / LITELLM_MASTER_KEY), then restart the gateway"
)


class PluginState:
    def __init__(self, gateway: Gateway, settings: VirtualKeysSettings) -> None:
        self.gateway = gateway
        self.settings = settings
        salt = salt_from_environment(gateway.config.general_settings.master_key)
        self.hasher: KeyHasher | None = KeyHasher(salt) if salt is not None else None
        self.cache = AuthCache(settings.cache_size, settings.negative_cache_size, settings.negative_cache_ttl)
        self.unknown_lookups = TokenBucket(settings.unknown_key_lookups_per_second)
        router = gateway.router
        self.catalog = ModelCatalog(gateway.deployments, [*router.groups, *router.aliases])
        #: what litellm_settings asks of new keys and users, as configured (checked here, at start-up)
        self.configured_policy = KeyPolicy.from_settings(gateway.config.litellm_settings)
        #: ... and as applied: without the limits nobody enforces (set in the lifespan)
        self.policy = self.configured_policy
        #: the limit fields an installed plugin enforces (``gateway_enforced_limits``; set in the lifespan)
        self.enforced: frozenset[str] = frozenset()
        #: counters a metrics plugin reads from ``gateway.state["virtual_keys_metrics"]``
        self.metrics: dict[str, int] = dict.fromkeys(METRIC_NAMES, 0)
        gateway.state[METRICS_STATE_KEY] = self.metrics
        #: every customer (``/customer/*``), for the request path; filled by the synchroniser
        self.customers = Customers(gateway.config.litellm_settings.max_end_user_budget_id)
        #: every tag with a budget or limits (``/tag/*``), for gateway-spend's ``gateway_tag_scopes``
        self.tags = Tags()
        #: scheduled key rotation (``auto_rotate``), resolved once with LiteLLM's environment variables
        self.rotation: RotationConfig = rotation_config(settings.key_rotation)
        self.store: Store = None  # type: ignore[assignment]  # opened in the lifespan
        self.sync: Synchroniser | None = None
        self._invalid_since_log = 0
        self._last_invalid_log: float | None = None

    def count(self, name: str, amount: int = 1) -> None:
        self.metrics[name] += amount

    def require_hasher(self) -> KeyHasher:
        if self.hasher is None:
            raise GatewayError(NO_SALT, status=500, type="configuration_error")
        return self.hasher

    def ready(self) -> bool:
        return self.store is not None

    def note_invalid_key(self, reason: str) -> None:
        """Count a refused key; warn at most once per ``invalid_key_log_interval`` (never the key)."""
        self.count("invalid_key_attempts_total")
        self._invalid_since_log += 1
        now = time.monotonic()
        last = self._last_invalid_log
        if last is None or now - last >= self.settings.invalid_key_log_interval:
            log.warning(
                "virtual_keys_invalid_keys_presented",
                count=self._invalid_since_log,
                last_reason=reason,
                seconds=None if last is None else round(now - last, 1),
            )
            self._invalid_since_log = 0
            self._last_invalid_log = now


def state_of(gateway: Gateway) -> PluginState:
    return gateway.state[PLUGIN]
