"""``least-busy``: the deployment with the fewest calls in progress first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.routing import Strategy

if TYPE_CHECKING:
    from gateway._types import Deployment, RequestContext
    from gateway.routing import AttemptResult


class LeastBusy(Strategy):
    """Orders by calls in flight (a stream counts until it ends); ties in random order.

    A call counts from the moment it is sent, so concurrent requests spread out at once instead
    of all picking the same idle deployment.  With Redis the counts of every worker are added up.
    """

    name = "least-busy"

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        if len(deployments) <= 1:
            return list(deployments)
        busy = self.state.in_flight
        rng = self.rng.random
        return sorted(deployments, key=lambda d: (busy(d.id), rng()))

    def on_start(self, ctx: RequestContext, deployment: Deployment) -> None:
        self.state.enter(deployment.id)

    def on_success(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        self.state.leave(deployment.id)

    def on_failure(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        self.state.leave(deployment.id)
