"""gateway-complexity-router: ``model: auto_router/complexity_router`` picks a tier's model group per request.

The entry's ``complexity_router_config.tiers`` maps ``SIMPLE``/``MEDIUM``/``COMPLEX``/``REASONING``
to model groups of the same config.  ``gateway_route`` classifies the request locally
(:mod:`gateway_complexity_router.classifier`), sets ``ctx.model_group`` to the tier's group and
returns None, so the kernel's router plans that group (strategy, cooldowns, fallbacks) as usual.
The decision, score and signals go into the ``x-gateway-complexity`` response header and the
log event (``annotations.complexity_router``).
"""

from __future__ import annotations

from typing import Any

from gateway import Gateway, RequestContext, hookimpl

from .classifier import Classification, Classifier
from .config import ComplexityRouterConfig
from .provider import AutoRouterProvider
from .router import HEADER, TierRouter
from .table import build_routers, follow_deployments

PLUGIN_NAME = "complexity_router"

__all__ = ["Classification", "Classifier", "ComplexityRouterConfig", "TierRouter"]


@hookimpl
def gateway_register_providers(register: Any, gateway: Gateway) -> None:
    provider = AutoRouterProvider()
    gateway.state[PLUGIN_NAME] = {"provider": provider, "routers": {}}
    register("auto_router", provider)


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    """Build one router per entry; refuse tiers that name no model group (see :mod:`.table`)."""
    state = gateway.state.get(PLUGIN_NAME)
    if state is None:
        return
    provider: AutoRouterProvider = state["provider"]
    state["routers"] = build_routers(gateway, provider, strict=True)
    # routers and their tiers' groups change at runtime (a config reload, /model/new): follow them
    follow_deployments(gateway, provider, state)


@hookimpl
def gateway_route(ctx: RequestContext, gateway: Gateway) -> None:
    """For a router's model name: classify, switch to the tier's group, let the default router plan it."""
    router = gateway.state[PLUGIN_NAME]["routers"].get(ctx.model_group)
    if router is None:
        return None
    decision = router.decide(ctx)
    ctx.model_group = decision.model_group
    ctx.annotations[PLUGIN_NAME] = decision  # rendered by Decision.to_log when an event is exported
    ctx.response_headers[HEADER] = decision.header()
    return None
