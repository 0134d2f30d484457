"""Routing strategies: what a plugin needs to add one (public API for plugins).

A strategy orders a model group's healthy deployments for each request (best first).  Register a
factory ``(router_settings, gateway) -> strategy`` under a name with
``gateway_register_routing_strategies``; ``router_settings.routing_strategy`` picks it::

    from gateway.routing import Strategy

    class Cheapest(Strategy):
        name = "cheapest"

        def order(self, ctx, deployments):
            return sorted(deployments, key=lambda d: d.model_info.get("input_cost_per_token", 0))

    @hookimpl
    def gateway_register_routing_strategies(register):
        register("cheapest", Cheapest.from_settings)

The kernel's router (model groups, cooldowns, fallbacks) calls the strategy's ``order`` and its
statistics callbacks; strategies keep their numbers in the router's state (:class:`RouterState`,
shared through Redis when Redis is configured).  The built-in strategies are made the same way.

Tags: :func:`request_tags` reads a request's tags as LiteLLM does (the key's, ``metadata.tags``,
``tags``, the ``x-litellm-tags`` header); :func:`tag_filter` is ``enable_tag_filtering``'s choice
of deployments, which the kernel's router applies before cooldowns and the strategy.
"""

from gateway.routing._api import AttemptResult, RoutePlan, RoutingStrategy, StrategyFactory
from gateway.routing._state import RouterState
from gateway.routing._strategy import Strategy, deployment_limit, estimated_prompt_tokens, weighted_order
from gateway.routing._tags import deployment_tags, request_tags, tag_filter

__all__ = [
    "AttemptResult",
    "RoutePlan",
    "RouterState",
    "RoutingStrategy",
    "Strategy",
    "StrategyFactory",
    "deployment_limit",
    "deployment_tags",
    "estimated_prompt_tokens",
    "request_tags",
    "tag_filter",
    "weighted_order",
]
