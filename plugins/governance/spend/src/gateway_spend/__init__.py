"""gateway-spend: exact cost, atomic budgets, sliding-window rate limits, a durable spend ledger.

The hook implementations here are thin: the per-gateway :class:`~.governor.Governor` in
``gateway.state["spend"]`` does the work (never module globals: one process may hold several
gateways).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from gateway import ConfigError, Deployment, LogEvent, RequestContext, StreamResponseBody, hookimpl
from gateway.http import add_readiness_check

from . import hookspecs
from .backend_memory import MemoryCounters
from .backend_redis import RedisCounters
from .config import SpendConfig
from .governor import PLUGIN, Governor
from .readiness import ledger_readiness
from .reports import spend_routes
from .scopes import GlobalBudget, budget_duration

__all__ = ["Governor", "SpendConfig"]


def governor(gateway: Any) -> Governor:
    return gateway.state[PLUGIN]


@hookimpl
def gateway_register_config(register: Any) -> None:
    register(PLUGIN, SpendConfig)


def _redis_url(config: SpendConfig, gateway: Any) -> str | None:
    router = gateway.config.router_settings
    return (
        config.redis_url
        or os.environ.get("REDIS_URL")
        or router.redis_url
        or (f"redis://{router.redis_host}:{router.redis_port or 6379}" if router.redis_host else None)
        or _cluster_nodes_url()
    )


def _cluster_nodes_url() -> str | None:
    """LiteLLM's ``REDIS_CLUSTER_NODES`` (a JSON list of ``{"host", "port"}``): the first node; the
    client follows ``MOVED`` to the node serving the counters' slot."""
    raw = os.environ.get("REDIS_CLUSTER_NODES", "").strip()
    if not raw:
        return None
    try:
        first = json.loads(raw)[0]
        host, port = str(first["host"]), int(first.get("port") or 6379)
    except (ValueError, TypeError, LookupError, AttributeError):
        raise ConfigError(
            "REDIS_CLUSTER_NODES must be a JSON list of nodes, as LiteLLM reads it: "
            """'[{"host": "10.0.0.1", "port": 7001}]' (or set REDIS_URL to one node of the cluster)"""
        ) from None
    password = os.environ.get("REDIS_PASSWORD")
    return f"redis://:{quote(password, safe='')}@{host}:{port}" if password else f"redis://{host}:{port}"


@hookimpl
def gateway_configure(gateway: Any) -> None:
    config: SpendConfig = gateway.plugin_config(PLUGIN) or SpendConfig()
    litellm = gateway.config.litellm_settings
    try:
        duration = budget_duration(litellm.budget_duration, "litellm_settings.budget_duration")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    global_budget = GlobalBudget(
        None if litellm.max_budget is None else Decimal(str(litellm.max_budget)),
        duration,
        None if litellm.max_end_user_budget is None else Decimal(str(litellm.max_end_user_budget)),
    )
    redis_url = _redis_url(config, gateway)
    if redis_url:
        counters: Any = RedisCounters(
            redis_url,
            config.redis_prefix,
            window=config.rate_limit_window_seconds,
            buckets=config.rate_limit_buckets,
            timeout=config.redis_timeout_seconds,
        )
    else:
        counters = MemoryCounters(window=config.rate_limit_window_seconds, buckets=config.rate_limit_buckets)
        gateway.require_single_worker(
            PLUGIN,
            "budgets and rate limits are counted in process memory; set REDIS_URL (or plugins.spend.redis_url) "
            "so that every worker shares them",
        )
    gateway.state[PLUGIN] = gov = Governor(gateway, config, counters, global_budget)
    add_readiness_check(gateway, "spend_ledger", lambda: ledger_readiness(gov))
    if not any("rpm" in d.params or "tpm" in d.params for d in gateway.deployments):
        # no deployment limits: the per-attempt hook would only look and return
        deactivate = getattr(gateway, "deactivate_hooks", None)
        if deactivate is not None:
            deactivate(PLUGIN, "gateway_call")


@hookimpl
def gateway_lifespan(gateway: Any) -> Any:
    return _lifespan(gateway)


@hookimpl
def gateway_register_migrations(register: Any) -> None:
    register(PLUGIN, "gateway_spend:migrations")


@asynccontextmanager
async def _lifespan(gateway: Any) -> AsyncIterator[None]:
    gov = governor(gateway)
    config = gov.config
    async with AsyncExitStack() as stack:
        stack.push_async_callback(gov.counters.close)
        if config.ledger and not gateway.config.general_settings.disable_spend_logs:
            gov.ledger = await stack.enter_async_context(_ledger(gateway, config))
        try:
            yield
        finally:
            gov.ledger = None


@asynccontextmanager
async def _ledger(gateway: Any, config: SpendConfig) -> AsyncIterator[Any]:
    # imported here: SQLAlchemy is only loaded by gateways that keep a ledger
    from .ledger import Ledger, wal_directory
    from .store import LedgerStore

    async with AsyncExitStack() as stack:
        if config.database_url:
            store = LedgerStore.from_url(config.database_url)
        else:
            from gateway.storage import open_storage

            store = LedgerStore(await stack.enter_async_context(open_storage(gateway)), owns_engine=False)
        wal_dir, temp = wal_directory(config, gateway.config.path)
        if temp is not None:
            stack.callback(shutil.rmtree, temp, True)

        def rejected(request_id: str | None, reason: str) -> None:
            gateway.emit_alert(
                "spend_record_rejected",
                f"the ledger database refused the record of request {request_id}; it is kept in the dead-letter file",
                request_id=request_id,
                reason=reason[:300],
            )

        ledger = Ledger(config, store, wal_dir, rejected)
        await ledger.start()
        stack.push_async_callback(ledger.stop)
        yield ledger


@hookimpl(tryfirst=True)
async def gateway_pre_call(ctx: RequestContext, gateway: Any) -> None:
    await governor(gateway).admit(ctx)


@hookimpl(tryfirst=True)
async def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Any) -> None:
    await governor(gateway).admit_deployment(ctx, deployment)
    return None


@hookimpl(trylast=True)
async def gateway_post_call(ctx: RequestContext, response: Any, gateway: Any) -> None:
    gov = governor(gateway)
    if isinstance(response, StreamResponseBody):
        gov.meter_stream(ctx, response)
        if gov.wants_key_spend(ctx):  # the stream's head goes out next: what the key spent before it
            await gov.key_spend_header(ctx)
    else:
        await gov.finish_response(ctx, response)


@hookimpl
async def gateway_log(event: LogEvent, gateway: Any) -> None:
    await governor(gateway).finish_logged(event.ctx)


@hookimpl
def gateway_add_hookspecs(pluginmanager: Any) -> None:
    # gateway_get_spend is this plugin's own hook: core does not declare it
    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
async def gateway_get_spend(scope: str, ids: list[str], gateway: Any) -> dict[str, Any] | None:
    ledger = governor(gateway).ledger
    if ledger is None:
        return None
    return await ledger.totals(scope, ids)


#: the BudgetScope fields the governor enforces for every principal but the master key
ENFORCED_LIMITS = frozenset(
    {"max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests"}
)


@hookimpl
def gateway_enforced_limits(gateway: Any) -> frozenset[str]:
    return ENFORCED_LIMITS


@hookimpl
def gateway_register_routes(gateway: Any) -> list[Any]:
    return spend_routes(gateway)


@hookimpl
def gateway_config_keys() -> list[str]:
    """The LiteLLM config keys this plugin implements (budgets, the ledger and prices)."""
    return [
        "general_settings.disable_spend_logs",
        "general_settings.disable_budget_reservation",
        "litellm_settings.max_budget",
        "litellm_settings.budget_duration",
        "litellm_settings.max_end_user_budget",
        "model_list[].litellm_params.input_cost_per_token",
        "model_list[].litellm_params.output_cost_per_token",
        "model_list[].model_info.base_model",
        "model_list[].model_info.max_output_tokens",
        "model_list[].model_info.input_cost_per_token",
        "model_list[].model_info.output_cost_per_token",
    ]
