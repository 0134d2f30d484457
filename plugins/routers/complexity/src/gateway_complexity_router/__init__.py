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

from gateway import ConfigError, Gateway, RequestContext, hookimpl

from .classifier import Classification, Classifier
from .config import ComplexityRouterConfig
from .provider import AutoRouterProvider
from .router import HEADER, TierRouter

PLUGIN_NAME = "complexity_router"

__all__ = ["Classification", "Classifier", "ComplexityRouterConfig", "TierRouter"]


@hookimpl
def gateway_register_providers(register: Any, gateway: Gateway) -> None:
    provider = AutoRouterProvider()
    gateway.state[PLUGIN_NAME] = {"provider": provider, "routers": {}}
    register("auto_router", provider)


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    """Build one router per entry; refuse tiers that name no model group."""
    state = gateway.state.get(PLUGIN_NAME)
    if state is None:
        return
    provider: AutoRouterProvider = state["provider"]
    groups = gateway.router.groups
    routers: dict[str, TierRouter] = {}
    for deployment in gateway.deployments:
        config = provider.configs.get(deployment.id)
        if config is None or deployment.provider != "auto_router":
            continue
        name = deployment.model_group
        if len(groups.get(name, ())) > 1:
            raise ConfigError(
                f"model_list: {name!r} is a complexity router, so it must be the only entry with that model_name"
            )
        for tier, target in config.tiers.items():
            if target not in groups:
                raise ConfigError(
                    f"model_list entry {name!r}: complexity_router_config.tiers.{tier} names the model group {target!r}, "
                    f"which no model_list entry defines (known: {', '.join(sorted(g for g in groups if g != name))})"
                )
            if any(d.provider == "auto_router" for d in groups[target]):
                raise ConfigError(
                    f"model_list entry {name!r}: complexity_router_config.tiers.{tier} names another router ({target!r})"
                )
        if config.default_model is not None and config.default_model not in groups:
            raise ConfigError(
                f"model_list entry {name!r}: complexity_router_config.default_model {config.default_model!r} is not a model_name"
            )
        routers[name] = TierRouter(name, config)
    state["routers"] = routers


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
