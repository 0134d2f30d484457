"""The interface between the router and a routing strategy: what a strategy is given and returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway._config.schema import RouterSettings
    from gateway._errors import GatewayError
    from gateway._gateway import Gateway
    from gateway._types import Deployment, RequestContext, Usage


@dataclass(slots=True)
class AttemptResult:
    """How one attempt on a deployment went; strategies keep statistics from it."""

    #: seconds from the attempt's start to its end (for a stream: the end of the stream)
    latency: float
    #: streams only: seconds from the attempt's start to the first chunk
    time_to_first_token: float | None = None
    usage: Usage | None = None
    #: the failure; None on success and when the client went away
    error: GatewayError | None = None
    #: the client went away before the attempt ended (not the deployment's fault)
    aborted: bool = False


class RoutingStrategy(Protocol):
    """Orders a model group's healthy deployments for one request (best first).

    ``order`` may drop deployments that cannot take the request (over their rpm) and raise
    :class:`gateway.RateLimitError` when none can.  A strategy may also define
    ``on_start(ctx, deployment)``, ``on_success(ctx, deployment, result)`` and
    ``on_failure(ctx, deployment, result)`` (``result`` is an :class:`AttemptResult`); the retry
    loop calls them around every attempt, exactly once each (``on_start``, then one of the others;
    for a stream when it ends).  Keep statistics in ``gateway.router.state`` to share them
    through Redis.
    """

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]: ...


StrategyFactory = Callable[["RouterSettings", "Gateway"], RoutingStrategy]


class RoutePlan(list):  # type: ignore[type-arg]
    """The default router's answer: the group's deployments in the strategy's order.

    Fallback groups are planned only when the group fails, for the kind of error that happened.
    A plan is true while it can still produce a deployment: it may be empty because every
    deployment is cooling down (``unavailable`` says why) and still have fallbacks to try.
    """

    __slots__ = ("group", "unavailable", "has_fallbacks")

    def __init__(self, deployments: Sequence[Deployment], group: str) -> None:
        super().__init__(deployments)
        self.group = group
        self.unavailable: GatewayError | None = None
        self.has_fallbacks = False

    def __bool__(self) -> bool:
        return len(self) > 0 or self.has_fallbacks
