"""The table of routers (router model name -> :class:`TierRouter`), from the deployments served.

Built at start-up and again whenever the deployments change at runtime (a config reload,
gateway-model-store's ``/model/new``): a router entry may be added, changed or deleted, and a tier's
model group may appear or disappear.  At start-up a tier naming a group nobody defines is a config
mistake, unless models are kept in the database (``store_model_in_db``): they are loaded after
start-up, so the group may be one of them.  At runtime nothing can be refused: a tier whose group
is not served is routed like a tier without a model (the nearest served tier), and logged.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gateway import ConfigError, get_logger

from .router import TierRouter

if TYPE_CHECKING:
    from gateway import Gateway

    from .provider import AutoRouterProvider

log = get_logger("gateway.complexity_router")
PROVIDER = "auto_router"


def models_stored_at_runtime(gateway: Gateway) -> bool:
    """Whether the gateway serves models kept in its database (LiteLLM's ``store_model_in_db``,
    or its ``STORE_MODEL_IN_DB`` variable): those are not known yet when the plugins are configured."""
    configured = gateway.config.general_settings.store_model_in_db
    if configured is not None:
        return bool(configured)
    return os.environ.get("STORE_MODEL_IN_DB", "").strip().lower() in ("true", "1", "yes")


def build_routers(gateway: Gateway, provider: AutoRouterProvider, *, strict: bool) -> dict[str, TierRouter]:
    """One router per ``auto_router/complexity_router`` deployment served now.

    ``strict`` (the config file at start-up): a mistake raises :class:`ConfigError`; a tier naming a
    group nobody defines is one unless ``store_model_in_db``.  Otherwise mistakes are logged: a
    router whose name is shared is left out (a request to it is refused by its provider), a tier
    naming an unserved group or another router is served by the nearest served tier.
    """
    groups = gateway.router.groups
    lenient_groups = not strict or models_stored_at_runtime(gateway)
    routers: dict[str, TierRouter] = {}
    for deployment in gateway.deployments:
        config = provider.configs.get(deployment.id)
        if config is None or deployment.provider != PROVIDER:
            continue
        name = deployment.model_group
        if len(groups.get(name, ())) > 1:
            _mistake(
                strict,
                name,
                f"model_list: {name!r} is a complexity router, so it must be the only entry with that model_name",
            )
            continue
        served: set[str] = set()
        for tier, target in config.tiers.items():
            members = groups.get(target)
            if members is None:
                if not lenient_groups:
                    raise ConfigError(
                        f"model_list entry {name!r}: complexity_router_config.tiers.{tier} names the model group "
                        f"{target!r}, which no model_list entry defines "
                        f"(known: {', '.join(sorted(g for g in groups if g != name))})"
                    )
                log.warning(
                    "complexity_router_tier_not_served",
                    router=name,
                    tier=tier,
                    model_group=target,
                    consequence="the nearest tier whose model group is served takes its requests until it is",
                )
                continue
            if any(d.provider == PROVIDER for d in members):
                _mistake(
                    strict,
                    name,
                    f"model_list entry {name!r}: complexity_router_config.tiers.{tier} names another router ({target!r})",
                )
                continue
            served.add(target)
        default = config.default_model
        if default is not None and default not in groups:
            if not lenient_groups:
                raise ConfigError(
                    f"model_list entry {name!r}: complexity_router_config.default_model {default!r} is not a model_name"
                )
            log.warning(
                "complexity_router_default_model_not_served",
                router=name,
                model_group=default,
                consequence="requests without text go to the default tier until it is served",
            )
        routers[name] = TierRouter(name, config, served=served, default_served=default in groups)
    return routers


def _mistake(strict: bool, router: str, message: str) -> None:
    if strict:
        raise ConfigError(message)
    log.error("complexity_router_config_mistake", router=router, error=message)


def follow_deployments(gateway: Gateway, provider: AutoRouterProvider, state: dict[str, object]) -> None:
    """Rebuild the table whenever the served deployments change; swapped in one step."""

    def deployments_changed() -> None:
        state["routers"] = build_routers(gateway, provider, strict=False)

    gateway.add_deployments_listener(deployments_changed)
