"""The ``auto_router`` provider prefix: it owns the ``complexity_router_config`` key and checks it.

An ``auto_router/complexity_router`` entry is never called itself: the plugin's ``gateway_route``
replaces the request's model group by the chosen tier's group before the default router plans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway import BadRequestError, Provider

from .config import ComplexityRouterConfig

if TYPE_CHECKING:
    from gateway import Deployment, RequestContext


def describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        problems.append(
            f"complexity_router_config.{where}: {item['msg']}" if where else f"complexity_router_config: {item['msg']}"
        )
    return "; ".join(problems)


class AutoRouterProvider(Provider):
    params = frozenset({"complexity_router_config"})
    distribution = "gateway-complexity-router"

    def __init__(self) -> None:
        #: deployment id -> its validated config
        self.configs: dict[str, ComplexityRouterConfig] = {}

    def validate_deployment(self, deployment: Deployment) -> None:
        if deployment.model != "complexity_router":
            raise ValueError(
                f"auto_router/{deployment.model} is not supported; use model: auto_router/complexity_router "
                "with complexity_router_config"
            )
        raw = deployment.params.get("complexity_router_config")
        if not isinstance(raw, dict):
            raise ValueError(
                "auto_router/complexity_router needs complexity_router_config with tiers, for example "
                "{tiers: {SIMPLE: gpt-4o-mini, MEDIUM: gpt-4o, COMPLEX: claude-sonnet}}"
            )
        try:
            self.configs[deployment.id] = ComplexityRouterConfig.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(describe(exc)) from None

    async def chat(self, ctx: RequestContext, deployment: Deployment, gateway: Any) -> Any:
        raise BadRequestError(
            f"model group {deployment.model_group!r} is a complexity router and cannot be called as a deployment "
            "(is the gateway-complexity-router plugin disabled, or is the router listed as a fallback?)",
            param="model",
        )

    completions = chat
    embeddings = chat
