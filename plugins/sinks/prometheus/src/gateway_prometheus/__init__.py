"""gateway-prometheus: ``/metrics`` for Prometheus, enabled by ``callbacks: ["prometheus"]``.

Metrics are updated from each finished request's log payload (off the request path), plus an
in-flight gauge (``pre_call`` up, log event down), deployment cooldowns (``gateway_alert``) and
sink drops (the sink framework's drop listener).  Several workers share one multiprocess
directory.  See README.md for every metric and setting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gateway import Gateway, hookimpl
from gateway.sinks import is_enabled, sink_manager

from . import multiprocess
from .config import PrometheusConfig
from .metrics import LabelGuard, Metrics
from .sink import PLUGIN, PrometheusSink

gateway_plugin_name = PLUGIN


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, PrometheusConfig)


def build_sink(gateway: Gateway) -> PrometheusSink:
    from prometheus_client import CollectorRegistry

    config: PrometheusConfig = gateway.plugin_config(PLUGIN) or PrometheusConfig()
    directory = multiprocess.choose_directory(config.multiprocess_dir)
    if directory:
        multiprocess.enable(directory)
        from prometheus_client.multiprocess import MultiProcessCollector

        scrape = CollectorRegistry()
        MultiProcessCollector(scrape, path=directory)
        metrics = Metrics(config, registry=None)
    else:
        scrape = CollectorRegistry()
        metrics = Metrics(config, registry=scrape)
    sink = PrometheusSink(gateway, metrics, LabelGuard(config.max_label_values))
    gateway.state[PLUGIN] = {"sink": sink, "registry": scrape, "config": config, "multiprocess": directory}
    manager = sink_manager(gateway)
    if manager is not None:
        manager.add_drop_listener(sink.dropped)
    return sink


@hookimpl
def gateway_register_sinks(register: Callable[..., None]) -> None:
    register(PLUGIN, build_sink)


@hookimpl(trylast=True)
def gateway_configure(gateway: Gateway) -> None:
    # trylast: after the sink framework built the enabled sinks; not enabled -> no per-request cost
    if gateway.state.get(PLUGIN) is None:
        gateway.deactivate_hooks(PLUGIN, "gateway_pre_call")


@hookimpl(tryfirst=True)
def gateway_pre_call(ctx: Any, gateway: Gateway) -> None:
    state = gateway.state.get(PLUGIN)
    if state is not None:
        state["sink"].metrics.in_flight.inc()
        ctx.state[PLUGIN] = True


@hookimpl
def gateway_alert(alert: Any, gateway: Gateway) -> None:
    state = gateway.state.get(PLUGIN)
    if state is not None and alert.kind == "deployment_cooldown":
        state["sink"].cooldown(alert.details)


@hookimpl
def gateway_register_routes(gateway: Gateway) -> list[Any]:
    if not is_enabled(gateway, PLUGIN):
        return []
    from starlette.routing import Route

    from .endpoint import metrics_endpoint

    endpoint = metrics_endpoint(gateway)
    return [Route("/metrics", endpoint, methods=["GET"]), Route("/metrics/", endpoint, methods=["GET"])]


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    state = gateway.state.get(PLUGIN)
    if state is None or not state["multiprocess"]:
        return None

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        try:
            yield
        finally:
            multiprocess.mark_dead()

    return running()


@hookimpl
def gateway_config_keys() -> list[str]:
    """The LiteLLM config keys this plugin implements (LiteLLM's switch for /metrics auth)."""
    return [
        "litellm_settings.require_auth_for_metrics_endpoint",
    ]
