"""``usage-based-routing`` (and ``-v2``): the least-used deployment this minute, within its rpm/tpm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gateway._errors import RateLimitError
from gateway.routing import Strategy, deployment_limit, estimated_prompt_tokens

if TYPE_CHECKING:
    from gateway._types import Deployment, RequestContext
    from gateway.routing import AttemptResult, RouterState


class UsageCounters:
    """Requests and tokens per deployment in the current minute, and the rpm/tpm check.

    A request counts when its attempt starts (so a burst cannot overshoot ``rpm``); its tokens
    count when the attempt succeeds (the real usage, or the prompt estimate when none was reported).
    """

    def __init__(self, state: RouterState) -> None:
        self.state = state

    def requests(self, deployment: Deployment) -> float:
        return self.state.count(f"rpm:{deployment.id}")

    def tokens(self, deployment: Deployment) -> float:
        return self.state.count(f"tpm:{deployment.id}")

    def has_room(self, deployment: Deployment, prompt_tokens: int) -> bool:
        rpm = deployment_limit(deployment, "rpm")
        if rpm is not None and self.requests(deployment) + 1 > rpm:
            return False
        tpm = deployment_limit(deployment, "tpm")
        return tpm is None or self.tokens(deployment) + prompt_tokens <= tpm

    def with_room(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        """The deployments that can take this request; 429 when none can."""
        prompt = estimated_prompt_tokens(ctx)
        fitting = [d for d in deployments if self.has_room(d, prompt)]
        if not fitting and deployments:
            wait = max(1, round(self.state.seconds_left_in_minute()))
            raise RateLimitError(
                f"every deployment of model group {deployments[0].model_group!r} reached its rpm/tpm limit for this "
                f"minute; retry in {wait} s",
                headers={"retry-after": str(wait)},
            )
        return fitting

    def started(self, deployment: Deployment) -> None:
        self.state.add(f"rpm:{deployment.id}")

    def ended(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        if result.usage is not None and result.usage.total_tokens:
            tokens = result.usage.total_tokens
        else:
            tokens = estimated_prompt_tokens(ctx)
        self.state.add(f"tpm:{deployment.id}", tokens)


class UsageBased(Strategy):
    """Skips deployments that would go over their ``rpm``/``tpm`` this minute (429 when all would),
    then orders by tokens used this minute, then requests, lowest first; ties in random order.

    With Redis the counts of every worker and instance are added up, so the limits hold for the
    whole fleet (give or take one sync interval).
    """

    name = "usage-based-routing"

    def __init__(
        self, state: RouterState, options: Mapping[str, Any] | None = None, *, deployments: Sequence[Deployment] = ()
    ) -> None:
        super().__init__(state, options, deployments=deployments)
        self.usage = UsageCounters(state)

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        fitting = self.usage.with_room(ctx, deployments)
        if len(fitting) <= 1:
            return fitting
        rng = self.rng.random
        return sorted(fitting, key=lambda d: (self.usage.tokens(d), self.usage.requests(d), rng()))

    def on_start(self, ctx: RequestContext, deployment: Deployment) -> None:
        self.usage.started(deployment)

    def on_success(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        self.usage.ended(ctx, deployment, result)
