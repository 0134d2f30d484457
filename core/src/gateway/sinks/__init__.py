"""The sink framework: observability plugins receive every finished request off the request path.

Public API for sink plugins::

    from gateway import hookimpl
    from gateway.sinks import Sink, SinkError

    class MySink(Sink):
        async def send_batch(self, items):       # items: payload dicts (docs/log-event.md)
            async with self.session.post(URL, json=items) as resp:
                if resp.status >= 400:
                    raise SinkError(f"HTTP {resp.status}")

    @hookimpl
    def gateway_register_sinks(register, gateway):
        register("mysink", lambda gateway: MySink())

and ``litellm_settings: {success_callback: ["mysink"]}`` in the config enables it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway._log_payload import SCHEMA_VERSION, PayloadOptions, build_payload, guardrail_outcomes, safe_json, safe_text
from gateway._tracecontext import TraceContext, parse_traceparent
from gateway.sinks._base import DeliverySettings, Sink, SinkError
from gateway.sinks._delivery import DROP_REASONS

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway.sinks._manager import SinkManager


def sink_manager(gateway: Gateway) -> SinkManager | None:
    """The gateway's sink manager (enabled sinks, ``stats()``, ``add_drop_listener``)."""
    return gateway.state.get("sinks")


def is_enabled(gateway: Gateway, name: str) -> bool:
    """True when the config enables the sink ``name`` (and it was built)."""
    manager = sink_manager(gateway)
    return manager is not None and name in manager.active


def sink_stats(gateway: Gateway) -> dict[str, dict[str, Any]]:
    """Per-sink delivery counters of this worker (empty when no sink is enabled)."""
    manager = sink_manager(gateway)
    return manager.stats() if manager is not None else {}


__all__ = [
    "Sink",
    "SinkError",
    "DeliverySettings",
    "PayloadOptions",
    "build_payload",
    "safe_text",
    "safe_json",
    "guardrail_outcomes",
    "sink_manager",
    "is_enabled",
    "sink_stats",
    "parse_traceparent",
    "TraceContext",
    "DROP_REASONS",
    "SCHEMA_VERSION",
]
