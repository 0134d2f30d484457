"""The cache's settings: LiteLLM's ``litellm_settings.cache`` / ``cache_params``, plus ``plugins.cache``.

LiteLLM's keys keep their meaning (``type``, ``host``, ``port``, ``password``, ``ttl``, ``namespace``,
``supported_call_types``, ``mode``); what LiteLLM has no key for (size bounds, tenant scope,
single-flight, the price of a hit) is under ``plugins.cache``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway import ConfigError

PLUGIN = "cache"

#: LiteLLM's call type names, by the gateway endpoint they cover
CALL_TYPES = {
    "chat": ("completion", "acompletion"),
    "messages": ("completion", "acompletion", "anthropic_messages"),
    "completions": ("text_completion", "atext_completion"),
    "embeddings": ("embedding", "aembedding"),
}
#: LiteLLM call types this gateway has no cached form of (accepted in the list, never matched)
OTHER_CALL_TYPES = frozenset(
    {"transcription", "atranscription", "rerank", "arerank", "responses", "aresponses", "image_generation"}
)
#: the ``cache_params`` keys read here
READ_PARAMS = frozenset(
    {"type", "host", "port", "password", "ttl", "default_in_memory_ttl", "default_in_redis_ttl", "namespace",
     "supported_call_types", "mode", "url", "redis_url", "similarity_threshold",
     "redis_semantic_cache_embedding_model"}
)  # fmt: skip
#: LiteLLM's other backends: not served by this plugin (yet)
UNSUPPORTED_TYPES = frozenset(
    {"valkey-semantic", "qdrant-semantic", "s3", "gcs", "disk", "azure-blob", "redis-cluster"}
)
#: the semantic cache's default ``similarity_threshold`` (cosine) with the default embedder and the guard
#: on: 100% precision, 70% recall on plugins/cache/eval/; the lowest threshold with no wrong hit there is
#: 0.82, and 0.85 keeps a margin above it (see the eval's README)
DEFAULT_SIMILARITY_THRESHOLD = 0.85


class CachePluginConfig(BaseModel):
    """``plugins.cache``: what LiteLLM has no key for."""

    model_config = ConfigDict(extra="forbid")

    #: an answer larger than this (encoded) is not stored
    max_entry_bytes: int = Field(default=1024 * 1024, gt=0)
    #: the in-process LRU's bound (``type: local``), per worker
    local_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    #: model groups whose entries every tenant shares (default: an entry is its team's, or its key's)
    global_model_groups: list[str] = Field(default_factory=list)
    #: identical concurrent requests wait for the first one's answer instead of calling the upstream
    single_flight: bool = True
    #: how long a waiting request waits before calling the upstream itself
    single_flight_timeout_seconds: float = Field(default=30.0, gt=0)
    #: a Redis command slower than this counts as Redis being down: the cache is bypassed
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    #: after Redis failed, requests bypass the cache this long before it is tried again (a Redis that
    #: hangs would otherwise cost every request its timeouts)
    redis_retry_after_seconds: float = Field(default=5.0, ge=0)
    #: what a hit costs in the ledger (USD); the default 0 records a hit as free
    hit_cost: str = "0"
    #: semantic cache (``type: redis-semantic``): what is embedded, the last user turn or every turn
    semantic_input: Literal["last_user_message", "prompt"] = "last_user_message"
    #: vectors kept (and compared on a lookup) per request context and guard signature: the bound on a
    #: lookup's cost (100 records of the default embedder are 53 KB, read in one GET)
    #: (at most 1024: comparing them is CPU on the event loop, 0.7 ms at 1024)
    semantic_max_candidates: int = Field(default=100, gt=0, le=1024)
    #: the lexical guard (same numbers, negations, units, names, language): off only for a measurement
    semantic_guard: bool = True


@dataclass(frozen=True, slots=True)
class SemanticSettings:
    threshold: float
    #: a model_list model_name serving /embeddings, or None for the shipped in-process model
    embedding_model: str | None
    #: whether similarity_threshold was set (the default was measured for the shipped model only)
    threshold_set: bool = True


@dataclass(frozen=True, slots=True)
class CacheSettings:
    backend: str  # "local" or "redis"
    redis_url: str | None
    redis_password: str | None
    ttl: float | None
    namespace: str
    endpoints: frozenset[str]
    default_on: bool
    plugin: CachePluginConfig
    hit_cost: Decimal
    global_groups: frozenset[str]
    #: cache_params keys LiteLLM knows that this plugin does not implement (reported at start-up)
    ignored: tuple[str, ...]
    semantic: SemanticSettings | None = None


def _number(params: dict[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"litellm_settings.cache_params.{name} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"litellm_settings.cache_params.{name} must be above 0 seconds, got {value!r}")
    return number


def _redis_url(params: dict[str, Any]) -> str:
    url = params.get("url") or params.get("redis_url") or os.environ.get("REDIS_URL")
    if url:
        return str(url)
    host = params.get("host") or os.environ.get("REDIS_HOST")
    if not host:
        raise ConfigError(
            "litellm_settings.cache_params.type is redis but no Redis is named: set cache_params.host (and port, "
            "password), or REDIS_URL / REDIS_HOST"
        )
    port = params.get("port") or os.environ.get("REDIS_PORT") or 6379
    return f"redis://{host}:{port}"


def _endpoints(params: dict[str, Any]) -> frozenset[str]:
    names = params.get("supported_call_types")
    if names is None:
        return frozenset(CALL_TYPES)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError("litellm_settings.cache_params.supported_call_types must be a list of call type names")
    known = {n for types in CALL_TYPES.values() for n in types} | OTHER_CALL_TYPES
    unknown = sorted(set(names) - known)
    if unknown:
        raise ConfigError(
            f"litellm_settings.cache_params.supported_call_types: unknown call types {unknown}; known: {sorted(known)}"
        )
    return frozenset(endpoint for endpoint, types in CALL_TYPES.items() if set(types) & set(names))


def load_settings(litellm: Any, plugin: CachePluginConfig | None) -> CacheSettings | None:
    """The settings, or None when caching is off (``litellm_settings.cache`` not true)."""
    if not litellm.cache:
        return None
    params = dict(litellm.cache_params or {})
    plugin = plugin or CachePluginConfig()
    kind = params.get("type") or ("redis" if os.environ.get("REDIS_URL") or os.environ.get("REDIS_HOST") else "local")
    if kind in UNSUPPORTED_TYPES:
        raise ConfigError(
            f"litellm_settings.cache_params.type {kind!r} is not served by gateway-cache, which has 'local' (in "
            "process, per worker), 'redis' (shared by every worker and instance) and 'redis-semantic' (redis, plus "
            "the semantic cache)"
        )
    if kind not in ("local", "redis", "redis-semantic"):
        raise ConfigError(
            f"litellm_settings.cache_params.type must be 'local', 'redis' or 'redis-semantic', got {kind!r}"
        )
    semantic = _semantic(params) if kind == "redis-semantic" else None
    if semantic is None and ("similarity_threshold" in params or "redis_semantic_cache_embedding_model" in params):
        raise ConfigError(
            "litellm_settings.cache_params.similarity_threshold and redis_semantic_cache_embedding_model apply to "
            "type: redis-semantic only"
        )
    if kind == "redis-semantic":
        kind = "redis"  # exact entries and vectors both live in Redis
    mode = params.get("mode", "default_on")
    if mode not in ("default_on", "default_off"):
        raise ConfigError(f"litellm_settings.cache_params.mode must be default_on or default_off, got {mode!r}")
    ttl = _number(params, "ttl") or _number(
        params, "default_in_redis_ttl" if kind == "redis" else "default_in_memory_ttl"
    )
    try:
        hit_cost = Decimal(plugin.hit_cost)
    except InvalidOperation:
        raise ConfigError(f"plugins.cache.hit_cost must be a decimal amount of USD, got {plugin.hit_cost!r}") from None
    if not hit_cost.is_finite() or hit_cost < 0:
        raise ConfigError(f"plugins.cache.hit_cost must be 0 or more USD, got {plugin.hit_cost!r}")
    namespace = params.get("namespace") or "gateway-cache"
    if not isinstance(namespace, str):
        raise ConfigError("litellm_settings.cache_params.namespace must be a string")
    password = params.get("password") or os.environ.get("REDIS_PASSWORD")
    return CacheSettings(
        backend=kind,
        redis_url=_redis_url(params) if kind == "redis" else None,
        redis_password=str(password) if password else None,
        ttl=ttl if ttl is not None else 600.0,
        namespace=namespace,
        endpoints=_endpoints(params),
        default_on=mode == "default_on",
        plugin=plugin,
        hit_cost=hit_cost,
        global_groups=frozenset(plugin.global_model_groups),
        ignored=tuple(sorted(set(params) - READ_PARAMS)),
        semantic=semantic,
    )


def _semantic(params: dict[str, Any]) -> SemanticSettings:
    value = params.get("similarity_threshold", DEFAULT_SIMILARITY_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(
            f"litellm_settings.cache_params.similarity_threshold must be a number above 0 and at most 1 (cosine "
            f"similarity), got {value!r}"
        )
    model = params.get("redis_semantic_cache_embedding_model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigError(
            "litellm_settings.cache_params.redis_semantic_cache_embedding_model must name a model_list model_name"
        )
    return SemanticSettings(
        threshold=float(value), embedding_model=model, threshold_set="similarity_threshold" in params
    )
