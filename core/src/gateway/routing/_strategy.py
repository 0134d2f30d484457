"""The base class of routing strategies (the built-in ones and plugins'), and helpers they share.

A strategy orders a model group's healthy deployments for one request (best first) and may keep
statistics through the callbacks the retry loop calls around every attempt (see
:class:`gateway.routing.RoutingStrategy`).  Statistics live in the router's state
(``gateway.router.state``) so that they are shared through Redis when Redis is configured.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from gateway._errors import ConfigError
from gateway.chat import ChatRequest, Text

if TYPE_CHECKING:
    from gateway._config.schema import RouterSettings
    from gateway._gateway import Gateway
    from gateway._types import Deployment, RequestContext
    from gateway.routing._api import AttemptResult
    from gateway.routing._state import RouterState


def weighted_order(rng: random.Random, deployments: Sequence[Deployment]) -> list[Deployment]:
    """A random order in which each deployment comes first with probability weight / total.

    Efraimidis-Spirakis sampling: sort by ``u ** (1 / weight)``; one pass, no rejection loop.
    """
    if len(deployments) <= 1:
        return list(deployments)
    keyed = [(rng.random() ** (1.0 / d.weight), i) for i, d in enumerate(deployments)]
    keyed.sort(reverse=True)
    return [deployments[i] for _, i in keyed]


def estimated_prompt_tokens(ctx: RequestContext) -> int:
    """A cheap estimate of the request's input tokens (4 characters a token), computed once per request."""
    cached = ctx.state.get("routing_prompt_tokens")
    if cached is not None:
        return int(cached)
    chars = 0
    request = ctx.request
    if isinstance(request, ChatRequest):
        chars = sum(len(part.text) for _, part in request.iter_parts() if isinstance(part, Text))
    elif request is not None:
        for field in ("prompt", "input"):
            value = request.body.get(field)
            if isinstance(value, str):
                chars += len(value)
            elif isinstance(value, list):
                chars += sum(len(v) for v in value if isinstance(v, str))
    tokens = chars // 4 + 1
    ctx.state["routing_prompt_tokens"] = tokens
    return tokens


class Strategy:
    """Base class: ``order`` to implement, statistics callbacks that do nothing.

    ``args`` names the ``router_settings.routing_strategy_args`` keys the strategy reads, with
    their defaults; any other key is a start-up error naming the key and the known ones.
    """

    name: ClassVar[str] = ""
    args: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self, state: RouterState, options: Mapping[str, Any] | None = None, *, deployments: Sequence[Deployment] = ()
    ) -> None:
        self.state = state
        self.options = {**self.args, **(options or {})}
        seed = self.options.get("seed")
        self.rng = random.Random(seed) if seed is not None else random.Random()

    @classmethod
    def from_settings(cls, settings: RouterSettings, gateway: Gateway) -> Strategy:
        """The factory registered for the strategy's name: ``factory(settings, gateway)``."""
        options = cls.validated_args(settings.routing_strategy_args)
        strategy = cls(gateway.router.state, options, deployments=gateway.deployments)
        # deployments change at runtime (a config reload, models added through an admin API)
        gateway.add_deployments_listener(lambda: strategy.deployments_changed(gateway.deployments))
        return strategy

    def deployments_changed(self, deployments: Sequence[Deployment]) -> None:
        """The deployments served changed (``from_settings`` wires it): re-index what ``__init__``
        built from its ``deployments``.  Nothing by default."""

    @classmethod
    def validated_args(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        known = {"seed": None, **cls.args}
        out: dict[str, Any] = {}
        for key, value in given.items():
            if key not in known:
                raise ConfigError(
                    f"router_settings.routing_strategy_args.{key}: not an option of routing strategy {cls.name!r} "
                    f"(it takes: {', '.join(sorted(known))})"
                )
            default = known[key]
            if (isinstance(default, (int, float)) and not isinstance(default, bool)) and (
                not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0
            ):
                raise ConfigError(f"router_settings.routing_strategy_args.{key}: must be a number >= 0 (got {value!r})")
            out[key] = value
        return out

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        raise NotImplementedError

    def on_start(self, ctx: RequestContext, deployment: Deployment) -> None:
        """An attempt on ``deployment`` is about to be made."""

    def on_success(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        """The attempt succeeded (for a stream: the stream ended cleanly)."""

    def on_failure(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        """The attempt failed (``result.error``) or the client went away (``result.aborted``)."""


def deployment_limit(deployment: Deployment, name: str) -> float | None:
    """The deployment's ``rpm``/``tpm`` from ``litellm_params`` or ``model_info``."""
    value = deployment.params.get(name)
    if value is None:
        value = deployment.model_info.get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
