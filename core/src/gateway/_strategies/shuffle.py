"""``simple-shuffle``: a weighted random order (LiteLLM's default strategy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.routing import Strategy, weighted_order

if TYPE_CHECKING:
    from gateway._types import Deployment, RequestContext


class SimpleShuffle(Strategy):
    """Each deployment comes first with probability ``weight / Σ weight``.

    A deployment's weight is ``litellm_params.weight``, else its ``rpm``, else its ``tpm``, else 1
    (decided once, at start-up).  ``routing_strategy_args.seed`` makes the order reproducible.
    Keeps no statistics.
    """

    name = "simple-shuffle"

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        return weighted_order(self.rng, deployments)
