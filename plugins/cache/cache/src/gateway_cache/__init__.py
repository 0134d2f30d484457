"""gateway-cache: an exact and a semantic response cache (in-process LRU or Redis), tenant-safe, with single-flight.

Turned on by LiteLLM's ``litellm_settings.cache: true`` and configured by its ``cache_params``
(``plugins.cache`` for what LiteLLM has no key for).  The request hook is ``gateway_call``: see
:mod:`.cache` for what a hit, a miss and single-flight do.  The per-gateway :class:`~.cache.Cache`
lives in ``gateway.state["cache"]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway import Deployment, RequestContext, ResponseBody, get_logger, hookimpl

from .backends import LocalBackend, RedisBackend
from .cache import Cache
from .config import PLUGIN, CachePluginConfig, load_settings
from .embedding import DeploymentEmbedder, StaticEmbedder
from .routes import cache_routes

__all__ = ["Cache", "CachePluginConfig"]

log = get_logger("gateway_cache")

#: the ``litellm_settings`` keys this plugin implements
READS_LITELLM_SETTINGS = ("cache", "cache_params")


@hookimpl
def gateway_register_config(register: Any) -> None:
    register(PLUGIN, CachePluginConfig)


@hookimpl
def gateway_config_keys() -> list[str]:
    return [f"litellm_settings.{name}" for name in READS_LITELLM_SETTINGS]


@hookimpl
def gateway_configure(gateway: Any) -> None:
    settings = load_settings(gateway.config.litellm_settings, gateway.plugin_config(PLUGIN))
    if settings is None:  # installed but off: no cost per request
        gateway.deactivate_hooks(PLUGIN, "gateway_call")
        return
    if settings.backend == "redis":
        assert settings.redis_url is not None
        backend: Any = RedisBackend(settings.redis_url, settings.redis_password, settings.plugin.redis_timeout_seconds)
    else:
        backend = LocalBackend(settings.plugin.local_max_bytes)
    embedder: Any = None
    if settings.semantic is not None:
        name = settings.semantic.embedding_model
        embedder = DeploymentEmbedder(name, gateway) if name else StaticEmbedder()
        if name and not settings.semantic.threshold_set:
            log.warning(
                "semantic_cache_threshold_not_measured",
                embedder=name,
                similarity_threshold=settings.semantic.threshold,
                note="the default similarity_threshold was measured for the shipped model "
                f"({StaticEmbedder.name}); another model's similarities differ: measure one for it "
                "(plugins/cache/eval/) and set cache_params.similarity_threshold",
            )
        log.info(
            "semantic_cache_on",
            embedder=embedder.name,
            similarity_threshold=settings.semantic.threshold,
            embeds=settings.plugin.semantic_input,
            max_candidates=settings.plugin.semantic_max_candidates,
            guard=settings.plugin.semantic_guard,
        )
    gateway.state[PLUGIN] = Cache(settings, backend, embedder)
    if settings.ignored:
        log.warning(
            "cache_params_without_effect",
            keys=list(settings.ignored),
            note="gateway-cache does not implement these litellm_settings.cache_params keys",
        )


@hookimpl
def gateway_lifespan(gateway: Any) -> Any:
    return _lifespan(gateway)


@asynccontextmanager
async def _lifespan(gateway: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        cache = gateway.state.get(PLUGIN)
        if cache is not None:
            await cache.backend.close()


@hookimpl
async def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Any) -> ResponseBody | None:
    cache: Cache = gateway.state[PLUGIN]
    plan = ctx.state.get(PLUGIN, False)
    if plan is False:
        plan = ctx.state[PLUGIN] = cache.plan(ctx)
    if plan is None:
        return None
    return await cache.serve(ctx, deployment, gateway, plan)


@hookimpl
def gateway_register_routes(gateway: Any) -> list[Any]:
    return cache_routes(gateway)
