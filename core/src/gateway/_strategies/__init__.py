"""The built-in routing strategies, selectable by ``router_settings.routing_strategy``.

Each is a small object behind the :class:`gateway.routing.RoutingStrategy` interface; the
``gateway._builtin.routing_strategies`` plugin registers them under their LiteLLM names through
``gateway_register_routing_strategies``, the same hook a third-party strategy uses.
"""

from __future__ import annotations

from gateway._strategies.cost import CostBased
from gateway._strategies.latency import LatencyBased
from gateway._strategies.least_busy import LeastBusy
from gateway._strategies.shuffle import SimpleShuffle
from gateway._strategies.usage import UsageBased, UsageCounters

#: name -> factory(settings, gateway)
BUILTIN_STRATEGIES = {
    "simple-shuffle": SimpleShuffle.from_settings,
    "least-busy": LeastBusy.from_settings,
    "latency-based-routing": LatencyBased.from_settings,
    "usage-based-routing": UsageBased.from_settings,
    "usage-based-routing-v2": UsageBased.from_settings,
    "cost-based-routing": CostBased.from_settings,
}

__all__ = [
    "BUILTIN_STRATEGIES",
    "CostBased",
    "LatencyBased",
    "LeastBusy",
    "SimpleShuffle",
    "UsageBased",
    "UsageCounters",
]
