"""gateway-otel: OpenTelemetry spans for every request (GenAI semantic conventions), OTLP HTTP or gRPC.

``litellm_settings: {callbacks: ["otel"]}`` enables it; the standard ``OTEL_*`` variables (and
LiteLLM's ``OTEL_EXPORTER``, ``OTEL_ENDPOINT``, ``OTEL_HEADERS``) configure it.  A client's W3C
``traceparent`` is continued, and the upstream call carries the gateway's own ``traceparent``.
See README.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gateway import ConfigError, Gateway, hookimpl
from gateway.sinks import is_enabled

from .config import OtelConfig, resolved
from .context import start_request, upstream_trace_config
from .sink import OtelSink

PLUGIN = "otel"
gateway_plugin_name = PLUGIN


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, OtelConfig)


def build_sink(gateway: Gateway) -> OtelSink:
    config = resolved(gateway.plugin_config(PLUGIN) or OtelConfig())
    if config.exporter == "otlp_grpc":
        try:
            import grpc  # noqa: F401
        except ImportError as exc:
            raise ConfigError("the otlp_grpc exporter needs grpcio: pip install 'gateway-otel[grpc]'") from exc
    elif not (config.endpoint or "").startswith(("http://", "https://")):
        raise ConfigError("the OTLP HTTP endpoint must be an http(s) URL (OTEL_EXPORTER_OTLP_ENDPOINT)")
    gateway.state[PLUGIN] = {"config": config}
    return OtelSink(config)


@hookimpl
def gateway_register_sinks(register: Callable[..., None]) -> None:
    register("otel", build_sink)
    register("opentelemetry", build_sink)


@hookimpl(trylast=True)
def gateway_configure(gateway: Gateway) -> None:
    # trylast: after the sink framework built the enabled sinks; not enabled -> no per-request cost
    if gateway.state.get(PLUGIN) is None:
        gateway.deactivate_hooks(PLUGIN, "gateway_pre_call")


@hookimpl(tryfirst=True)
def gateway_pre_call(ctx: Any, gateway: Gateway) -> None:
    state = gateway.state.get(PLUGIN)
    if state is not None:
        ctx.state[PLUGIN] = start_request(ctx, bool(state["config"].propagate))


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    state = gateway.state.get(PLUGIN)
    if (
        state is None
        or not state["config"].propagate
        or not (is_enabled(gateway, "otel") or is_enabled(gateway, "opentelemetry"))
    ):
        return None

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        # the upstream session is open by now (core starts it before plugin lifespans)
        configs = gateway.upstream.session.trace_configs
        config = upstream_trace_config()
        configs.append(config)
        try:
            yield
        finally:
            if config in configs:
                configs.remove(config)

    return running()
