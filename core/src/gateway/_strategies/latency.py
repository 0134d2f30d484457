"""``latency-based-routing``: the deployment that answered fastest lately first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gateway._errors import UpstreamTimeoutError
from gateway.routing import Strategy

if TYPE_CHECKING:
    from gateway._types import Deployment, RequestContext
    from gateway.routing import AttemptResult, RouterState

#: what a timed-out attempt counts as, in seconds (LiteLLM uses the same penalty)
TIMEOUT_PENALTY = 1000.0


class LatencyBased(Strategy):
    """Orders by the average of each deployment's recent latencies, lowest first.

    Two series per deployment: for plain calls the latency divided by the output tokens, for
    streams the time to the first token; a request is ordered by the series of its own kind.  The
    last ``max_latency_list_size`` (10) samples younger than ``ttl`` (3600 s) count; a timeout
    counts as 1000 s.  A deployment without samples counts as 0, so new deployments get tried.
    Deployments within ``lowest_latency_buffer`` × the best average (0: only ties) are shuffled,
    which spreads load among nearly equal deployments.
    """

    name = "latency-based-routing"
    args = {"ttl": 3600.0, "lowest_latency_buffer": 0.0, "max_latency_list_size": 10}

    def __init__(
        self, state: RouterState, options: Mapping[str, Any] | None = None, *, deployments: Sequence[Deployment] = ()
    ) -> None:
        super().__init__(state, options, deployments=deployments)
        self.ttl = float(self.options["ttl"])
        self.buffer = float(self.options["lowest_latency_buffer"])
        self.limit = max(1, int(self.options["max_latency_list_size"]))
        self.deployments_changed(deployments)

    def deployments_changed(self, deployments: Sequence[Deployment]) -> None:
        keys = [f"{kind}:{d.id}" for d in deployments for kind in ("latency", "ttft")]
        self.state.watch_samples(keys, self.limit)

    def average(self, deployment: Deployment, stream: bool) -> float:
        values = self.state.samples(f"{'ttft' if stream else 'latency'}:{deployment.id}", self.ttl)
        return sum(values) / len(values) if values else 0.0

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        if len(deployments) <= 1:
            return list(deployments)
        rng = self.rng.random
        scored = sorted(((self.average(d, ctx.stream), rng(), d) for d in deployments), key=lambda t: (t[0], t[1]))
        if self.buffer > 0:
            limit = scored[0][0] * (1 + self.buffer)
            near = [t for t in scored if t[0] <= limit]
            self.rng.shuffle(near)
            scored = near + [t for t in scored if t[0] > limit]
        return [d for _, _, d in scored]

    def on_success(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        if result.time_to_first_token is not None:
            self.state.add_sample(f"ttft:{deployment.id}", result.time_to_first_token)
            return
        tokens = result.usage.completion_tokens if result.usage and result.usage.completion_tokens else 1
        self.state.add_sample(f"latency:{deployment.id}", result.latency / tokens)

    def on_failure(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        if result.time_to_first_token is not None:  # the stream started: its first token was real
            self.state.add_sample(f"ttft:{deployment.id}", result.time_to_first_token)
        elif isinstance(result.error, UpstreamTimeoutError):
            self.state.add_sample(f"{'ttft' if ctx.stream else 'latency'}:{deployment.id}", TIMEOUT_PENALTY)
