"""Model groups, deployment choice, cooldowns and fallbacks: the kernel's default router.

A model group is every ``model_list`` entry sharing a ``model_name``.  For each request the router
returns an ordered plan of deployments: the group's deployments in the order the routing strategy
picks (skipping those cooling down), then the deployments of each fallback group.  The pipeline
walks the plan, retrying on retryable errors.

Cooldowns: a deployment that fails more than ``allowed_fails`` times within a minute leaves the
rotation for ``cooldown_time`` seconds.  A group with a single deployment is never cooled down:
taking its only deployment away would turn a blip into a total outage; its failures go straight
to fallbacks instead.  State here is per worker; a plugin may replace ``Cooldowns`` with a shared
implementation (Redis) through ``gateway.router.cooldowns``.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .errors import NotFoundError, RateLimitError

if TYPE_CHECKING:
    from .config.schema import RouterSettings
    from .types import Deployment, RequestContext


class RoutingStrategy(Protocol):
    """Orders a model group's healthy deployments for one request (best first)."""

    name: str

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]: ...


class SimpleShuffle:
    """Weighted random order: ``weight``, else ``rpm``, else ``tpm``, else equal weights."""

    name = "simple-shuffle"

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(self, ctx: RequestContext, deployments: Sequence[Deployment]) -> list[Deployment]:
        if len(deployments) == 1:
            return [deployments[0]]
        pool = list(deployments)
        ordered: list[Deployment] = []
        while pool:
            pick = self._rng.choices(range(len(pool)), weights=[d.weight for d in pool])[0]
            ordered.append(pool.pop(pick))
        return ordered


class Cooldowns:
    """Per-worker failure counting and cooldown windows."""

    def __init__(self, allowed_fails: int, cooldown_time: float, *, disabled: bool = False) -> None:
        self.allowed_fails = allowed_fails
        self.cooldown_time = cooldown_time
        self.disabled = disabled
        self._failures: dict[str, deque[float]] = {}
        self._until: dict[str, float] = {}

    def is_cooling(self, deployment_id: str, now: float | None = None) -> bool:
        until = self._until.get(deployment_id)
        if until is None:
            return False
        if (now or time.monotonic()) >= until:
            del self._until[deployment_id]
            return False
        return True

    def seconds_left(self, deployment_id: str) -> float:
        until = self._until.get(deployment_id)
        return max(0.0, until - time.monotonic()) if until else 0.0

    def record_failure(self, deployment_id: str) -> bool:
        """Count a failure; return True when it starts a cooldown."""
        if self.disabled or self.cooldown_time <= 0:
            return False
        now = time.monotonic()
        window = self._failures.setdefault(deployment_id, deque())
        window.append(now)
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) > self.allowed_fails:
            self._until[deployment_id] = now + self.cooldown_time
            window.clear()
            return True
        return False

    def record_success(self, deployment_id: str) -> None:
        window = self._failures.get(deployment_id)
        if window:
            window.clear()

    def cooling(self) -> dict[str, float]:
        now = time.monotonic()
        return {d: round(u - now, 3) for d, u in self._until.items() if u > now}


class Router:
    def __init__(
        self,
        deployments: Sequence[Deployment],
        settings: RouterSettings,
        *,
        strategy: RoutingStrategy | None = None,
        extra_fallbacks: Sequence[dict[str, list[str]]] = (),
    ) -> None:
        self.settings = settings
        self.groups: dict[str, list[Deployment]] = {}
        self.by_id: dict[str, Deployment] = {}
        for d in deployments:
            self.groups.setdefault(d.model_group, []).append(d)
            self.by_id[d.id] = d
        self.strategy: RoutingStrategy = strategy or SimpleShuffle()
        self.cooldowns = Cooldowns(settings.allowed_fails, settings.cooldown_time, disabled=settings.disable_cooldowns)
        self.fallbacks: dict[str, list[str]] = {}
        for entry in [*settings.fallbacks, *extra_fallbacks]:
            for group, targets in entry.items():
                self.fallbacks.setdefault(group, []).extend(targets)
        self.aliases = dict(settings.model_group_alias)

    def group_names(self) -> list[str]:
        return list(self.groups)

    def resolve_alias(self, name: str) -> str:
        return self.aliases.get(name, name)

    def healthy(self, group: str) -> list[Deployment]:
        deployments = self.groups.get(group, [])
        if len(deployments) <= 1:
            return list(deployments)
        now = time.monotonic()
        return [d for d in deployments if not self.cooldowns.is_cooling(d.id, now)]

    def fallback_groups(self, group: str) -> list[str]:
        targets = self.fallbacks.get(group)
        if targets is None and self.settings.default_fallbacks:
            targets = list(self.settings.default_fallbacks)
        return [t for t in (targets or []) if t != group][: self.settings.max_fallbacks]

    def plan(self, ctx: RequestContext) -> list[Deployment]:
        group = ctx.model_group
        if group not in self.groups:
            raise NotFoundError(
                f"model {ctx.requested_model!r} does not exist on this gateway; call GET /v1/models to see the models "
                "your key may use",
                param="model",
                code="model_not_found",
            )
        plan = self.strategy.order(ctx, self.healthy(group))
        allow_fallbacks = not ctx.body.get("disable_fallbacks")
        request_fallbacks = ctx.body.get("fallbacks") if allow_fallbacks else None
        fallback_groups = (
            [f for f in request_fallbacks if isinstance(f, str)] if isinstance(request_fallbacks, list) else None
        )
        if fallback_groups is None and allow_fallbacks:
            fallback_groups = self.fallback_groups(group)
        for fallback in fallback_groups or []:
            if fallback in self.groups and (ctx.principal is None or ctx.principal.may_use(fallback)):
                plan.extend(self.strategy.order(ctx, self.healthy(fallback)))
        if not plan:
            wait = min((self.cooldowns.seconds_left(d.id) for d in self.groups[group]), default=1.0)
            raise RateLimitError(
                f"no deployment of model group {group!r} is available: every one is cooling down after failures; "
                f"retry in {wait:.0f} s",
                headers={"retry-after": str(max(1, round(wait)))},
                code="429",
            )
        return plan
