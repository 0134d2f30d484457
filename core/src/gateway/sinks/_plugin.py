"""The sink framework as a core builtin plugin (``sinks``).

* ``gateway_configure`` builds the sinks that ``litellm_settings`` names (unknown names fail
  start-up with the entry, its line and what to install) and tells the kernel whether to write
  the access line (``plugins.sinks.access_log``).
* ``gateway_post_call`` (first of all implementations) notes when the upstream answered and, for
  streams, captures the assembled answer within a fixed budget so sinks see what was said.
* ``gateway_log`` hands the versioned payload to every sink that wants it, each through its own
  bounded queue (deactivated when no sink is configured).
* ``gateway_lifespan`` opens the sinks' HTTP session and flushes the queues at shutdown.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from gateway._hookspecs import hookimpl
from gateway._log_payload import build_payload
from gateway._logs import get_logger
from gateway._types import StreamResponseBody
from gateway.sinks._capture import StreamCapture, capture_stream
from gateway.sinks._manager import SinkManager, SinksConfig

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import LogEvent, RequestContext, ResponseBody

NAME = "sinks"
log = get_logger("gateway.sinks")


def manager(gateway: Gateway) -> SinkManager | None:
    """The gateway's sink manager (``None`` before ``gateway_configure`` ran)."""
    return gateway.state.get(NAME)


@hookimpl
def gateway_register_config(register: Any) -> None:
    register(NAME, SinksConfig)


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    sinks = SinkManager(gateway, gateway.plugin_config(NAME) or SinksConfig())
    gateway.state[NAME] = sinks  # before build: sink factories may add drop listeners
    sinks.build()
    gateway.access_log = sinks.config.access_log  # the kernel writes the line when a request finishes
    if not sinks.active:
        # no sink configured: nothing to capture per request, nothing to deliver
        gateway.deactivate_hooks(NAME, "gateway_post_call", "gateway_log")


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    sinks = manager(gateway)
    if sinks is None or not sinks.active:
        return None

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        await sinks.start()
        try:
            yield
        finally:
            await sinks.stop()

    return running()


@hookimpl(tryfirst=True)
def gateway_post_call(ctx: RequestContext, response: ResponseBody, gateway: Gateway) -> None:
    sinks = manager(gateway)
    if sinks is None or not sinks.active:
        return
    state = ctx.state.setdefault(NAME, {})
    if isinstance(response, StreamResponseBody):
        capture = StreamCapture(sinks.options.max_string_chars if sinks.wants_content else 0)
        state["stream"] = capture
        response.chunks = capture_stream(response.chunks, capture)
    else:
        state["upstream_done"] = time.perf_counter()


async def _logged_view(ctx: RequestContext) -> Any:
    """The guardrail framework's view for sinks, when guardrails ran on this request."""
    if "guardrails" not in ctx.state:
        return None
    try:
        from gateway.guardrails import logged_view
    except ImportError:  # a core without the guardrail framework
        return None
    return await logged_view(ctx)


@hookimpl
def gateway_log(event: LogEvent, gateway: Gateway) -> Any:
    # a plain function in the common case: an async implementation costs the log worker a
    # timeout guard per event; only a request whose guardrails masked content needs to await
    sinks = manager(gateway)
    if sinks is None or not sinks.active:
        return None
    if sinks.wants_content and "guardrails" in event.ctx.state:
        return _deliver_with_view(sinks, event)
    _deliver(sinks, event, None)
    return None


async def _deliver_with_view(sinks: Any, event: LogEvent) -> None:
    _deliver(sinks, event, await _logged_view(event.ctx))


def _deliver(sinks: Any, event: LogEvent, view: Any) -> None:
    failed = event.ctx.status >= 400
    # a sink whose queue is full would drop this event: count the drop now and spend no work on
    # it (a hanging sink must not make every request pay for payloads nobody will send)
    targets = []
    for active in sinks.active.values():
        enabled = active.enabled
        if not (enabled.on_failure if failed else enabled.on_success) and not active.sink.receives_all:
            continue
        if not active.runner.refuse_if_full():
            targets.append(active)
    if not targets:
        return
    payload = build_payload(event, sinks.options, view)
    for active in targets:
        try:
            item = active.sink.prepare(payload, event)
        except Exception as exc:  # a sink's bug stays inside that sink
            log.error(
                "sink_prepare_failed",
                sink=active.sink.name,
                error=f"{type(exc).__name__}: {exc}",
                request_id=event.ctx.request_id,
            )
            continue
        if item is not None:
            active.runner.submit(item)
