"""``cost-based-routing``: the cheapest deployment first, among those within their rpm/tpm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gateway._logs import get_logger
from gateway._strategies.usage import UsageCounters
from gateway.routing import Strategy

if TYPE_CHECKING:
    from gateway._types import Deployment, RequestContext
    from gateway.routing import AttemptResult, RouterState

log = get_logger("gateway.routing")

#: provider prefixes whose name differs in genai-prices
GENAI_PRICES_PROVIDERS = {
    "gemini": "google",
    "vertex_ai": "google",
    "bedrock": "aws",
    "xai": "x-ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
}


def own_price(deployment: Deployment) -> float | None:
    """Input plus output price per token from ``litellm_params`` or ``model_info``, if both sides are set there."""
    for source in (deployment.params, deployment.model_info):
        inp, out = source.get("input_cost_per_token"), source.get("output_cost_per_token")
        if inp is not None or out is not None:
            return float(inp or 0) + float(out or 0)
    return None


def catalogue_price(deployment: Deployment) -> float | None:
    """The price from the ``genai-prices`` package when it is installed (its bundled data; no download)."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        return None
    model = str(deployment.model_info.get("base_model") or deployment.model)
    provider = GENAI_PRICES_PROVIDERS.get(deployment.provider, deployment.provider)
    try:
        found = calc_price(Usage(input_tokens=1_000_000, output_tokens=1_000_000), model, provider_id=provider)
    except Exception:  # unknown model or provider: the deployment is simply unpriced
        return None
    return float(found.total_price) / 1_000_000


class CostBased(Strategy):
    """Orders by price per token (input + output), cheapest first, skipping deployments over
    their ``rpm``/``tpm`` this minute; equal prices in weighted random order.

    Prices come from the deployment (``input_cost_per_token``/``output_cost_per_token`` in
    ``litellm_params`` or ``model_info``), else from the ``genai-prices`` package if installed;
    they are looked up once, at start-up.  Deployments with no known price go last, and a warning
    at start-up names them.
    """

    name = "cost-based-routing"

    def __init__(
        self, state: RouterState, options: Mapping[str, Any] | None = None, *, deployments: Sequence[Deployment] = ()
    ) -> None:
        super().__init__(state, options, deployments=deployments)
        self.usage = UsageCounters(state)
        self.prices: dict[str, float | None] = {}
        self.deployments_changed(deployments)
        unpriced = sorted(f"{d.model_group} ({d.provider}/{d.model})" for d in deployments if self.prices[d.id] is None)
        if unpriced:
            log.warning(
                "cost_routing_without_price",
                deployments=unpriced,
                fix="set input_cost_per_token/output_cost_per_token on them; they are tried last",
            )

    def deployments_changed(self, deployments: Sequence[Deployment]) -> None:
        prices: dict[str, float | None] = {}
        for deployment in deployments:
            price = own_price(deployment)
            prices[deployment.id] = price if price is not None else catalogue_price(deployment)
        self.prices = prices

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        fitting = self.usage.with_room(ctx, deployments)
        if len(fitting) <= 1:
            return fitting
        rng = self.rng.random

        def key(d: Deployment) -> tuple[bool, float, float]:
            price = self.prices.get(d.id)
            return (price is None, price or 0.0, -(rng() ** (1.0 / d.weight)))

        return sorted(fitting, key=key)

    def on_start(self, ctx: RequestContext, deployment: Deployment) -> None:
        self.usage.started(deployment)

    def on_success(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        self.usage.ended(ctx, deployment, result)
