"""Model groups, deployment choice, cooldowns and fallbacks: the kernel's default router.

A model group is every ``model_list`` entry sharing a ``model_name``.  For each request the router
returns a :class:`RoutePlan`: the group's healthy deployments in the order the routing strategy
(``router_settings.routing_strategy``) picks.  The retry loop (:mod:`gateway._retries`) walks it,
retrying within the group, then asks the router for the fallback groups that fit the error
(``context_window_fallbacks``, ``content_policy_fallbacks``, else ``fallbacks``, else
``default_fallbacks``) and plans each of them the same way.

Cooldowns: a deployment that fails more than ``allowed_fails`` times within the current minute
(per error type with ``allowed_fails_policy``) leaves the rotation for ``cooldown_time`` seconds.
Only failures that say something about the deployment count (429, 5xx, timeouts, connection
errors, rejected credentials, 404), not the client's mistakes (400).  A group with a single
deployment is never cooled down: taking its only deployment away would turn a blip into a total
outage; its failures go straight to retries and fallbacks instead.

State (failure counts, cooldowns, strategy statistics) lives in ``router.state``: per worker, or
shared by every worker and instance through Redis when ``router_settings.redis_url`` /
``redis_host`` or ``REDIS_URL`` is set (see :mod:`gateway._strategies.redis_state`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gateway._errors import (
    BadRequestError,
    ConfigError,
    GatewayError,
    NotFoundError,
    PluginError,
    RateLimitError,
    ServiceUnavailableError,
)
from gateway._logs import get_logger
from gateway._registry import Registry
from gateway._strategies.redis_state import DEFAULT_SYNC_INTERVAL, RedisRouterState, redis_location
from gateway._strategies.shuffle import SimpleShuffle
from gateway._wildcards import WildcardGroups, WildcardMatch
from gateway.routing import (
    AttemptResult,
    RoutePlan,
    RouterState,
    RoutingStrategy,
    Strategy,
    StrategyFactory,
    request_tags,
    tag_filter,
)

if TYPE_CHECKING:
    from gateway._config.schema import RouterSettings
    from gateway._gateway import Gateway
    from gateway._types import Deployment, RequestContext

log = get_logger("gateway.routing")

# Error kinds, named like LiteLLM's exceptions so that policy keys read the same
# (``RateLimitErrorRetries``, ``TimeoutErrorAllowedFails`` ...).
BAD_REQUEST = "BadRequestError"
AUTHENTICATION = "AuthenticationError"
NOT_FOUND = "NotFoundError"
TIMEOUT = "TimeoutError"
RATE_LIMIT = "RateLimitError"
CONTENT_POLICY = "ContentPolicyViolationError"
CONTEXT_WINDOW = "ContextWindowExceededError"
INTERNAL = "InternalServerError"
UNAVAILABLE = "ServiceUnavailableError"
ERROR_KINDS = (
    BAD_REQUEST,
    AUTHENTICATION,
    NOT_FOUND,
    TIMEOUT,
    RATE_LIMIT,
    CONTENT_POLICY,
    CONTEXT_WINDOW,
    INTERNAL,
    UNAVAILABLE,
)
#: failures that count towards a cooldown without an ``allowed_fails_policy`` entry
COOLDOWN_KINDS = frozenset({AUTHENTICATION, NOT_FOUND, TIMEOUT, RATE_LIMIT, INTERNAL, UNAVAILABLE})
#: per-request ``num_retries`` above this is refused (a client must not turn one call into hundreds)
MAX_REQUEST_RETRIES = 10


class StrategyRegistry(Registry[StrategyFactory]):
    """Strategy names -> factories, filled through ``gateway_register_routing_strategies``."""

    def __init__(self) -> None:
        super().__init__("routing strategy")

    def build(self, settings: RouterSettings, gateway: Gateway) -> RoutingStrategy:
        name = settings.routing_strategy
        factory = self.get(name)
        if factory is None:
            raise ConfigError(
                f"router_settings.routing_strategy: unknown strategy {name!r}; known strategies: "
                f"{', '.join(self.names())} (a plugin can add more)"
            )
        strategy = factory(settings, gateway)
        if not callable(getattr(strategy, "order", None)):
            raise PluginError(f"routing strategy {name!r} from plugin {self.owner(name)!r} has no order() method")
        return strategy


def _policy(raw: Mapping[str, int] | None, suffix: str, where: str) -> dict[str, int]:
    """``{"RateLimitErrorRetries": 3}`` -> ``{"RateLimitError": 3}``, refusing unknown keys."""
    known = {kind + suffix: kind for kind in ERROR_KINDS}
    out = {}
    for key, value in (raw or {}).items():
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key; known keys: {', '.join(known)}")
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}.{key}: must be a whole number >= 0 (got {value!r})")
        out[known[key]] = value
    return out


class Cooldowns:
    """Failure counting and cooldown windows, kept in the router's (possibly shared) state."""

    def __init__(self, state: RouterState, settings: RouterSettings) -> None:
        self.state = state
        self.allowed_fails = settings.allowed_fails
        self.cooldown_time = settings.cooldown_time
        self.disabled = settings.disable_cooldowns or settings.cooldown_time <= 0
        self.policy = _policy(settings.allowed_fails_policy, "AllowedFails", "router_settings.allowed_fails_policy")

    def is_cooling(self, deployment_id: str, now: float | None = None) -> bool:
        return self.state.cooling_until(deployment_id) > (time.time() if now is None else now)

    def seconds_left(self, deployment_id: str) -> float:
        return max(0.0, self.state.cooling_until(deployment_id) - time.time())

    def record_failure(self, deployment_id: str, kind: str = INTERNAL) -> bool:
        """Count a failure; return True when it starts a cooldown."""
        if self.disabled:
            return False
        if kind in self.policy:
            counter, allowed = f"fails:{kind}:{deployment_id}", self.policy[kind]
        elif kind in COOLDOWN_KINDS:
            counter, allowed = f"fails:{deployment_id}", self.allowed_fails
        else:
            return False
        self.state.add(counter)
        failures = self.state.count(counter)
        if failures <= allowed:
            return False
        self.state.add(counter, -failures)  # after the rest, the deployment starts with a clean slate
        self.state.cool(deployment_id, time.time() + self.cooldown_time)
        return True

    def record_success(self, deployment_id: str) -> None:
        """Successes do not forgive failures within the minute (LiteLLM's rule); kept for callers."""

    def cooling(self) -> dict[str, float]:
        """Deployment id -> seconds left, for every deployment cooling down now."""
        now = time.time()
        return {d: round(until - now, 3) for d, until in self.state.cooling(now).items()}


def build_state(settings: RouterSettings) -> RouterState:
    location = redis_location(settings)
    if location is None:
        return RouterState()
    url, password = location
    interval = float(os.environ.get("GATEWAY_ROUTER_SYNC_INTERVAL") or DEFAULT_SYNC_INTERVAL)
    return RedisRouterState(url, password=password, sync_interval=interval)


class Router:
    def __init__(
        self,
        deployments: Sequence[Deployment],
        settings: RouterSettings,
        *,
        strategy: RoutingStrategy | None = None,
        extra_fallbacks: Sequence[dict[str, list[str]]] = (),
        state: RouterState | None = None,
        concretize: Callable[[Deployment, WildcardMatch, str], Deployment] | None = None,
    ) -> None:
        self.settings = settings
        self.groups: dict[str, list[Deployment]] = {}
        self.by_id: dict[str, Deployment] = {}
        #: each group's deployments that can be called (not marked ``unavailable``)
        self.available: dict[str, list[Deployment]] = {}
        #: ``model_name`` patterns (``*``, ``anthropic/*``), most specific first
        self.wildcards = WildcardGroups({})
        self.set_deployments(deployments)
        #: makes the deployment a wildcard group serves a requested name with (the gateway's: it
        #: knows the providers); without it a wildcard deployment is called as configured
        self.concretize = concretize
        self.state = state if state is not None else build_state(settings)
        self._failed_callbacks: set[str] = set()
        self.strategy: RoutingStrategy
        self.use_strategy(strategy or SimpleShuffle(self.state))
        self.cooldowns = Cooldowns(self.state, settings)
        self.fallbacks: dict[str, list[str]] = {}
        self.context_window_fallbacks: dict[str, list[str]] = {}
        self.content_policy_fallbacks: dict[str, list[str]] = {}
        self.add_fallbacks("fallbacks", [*settings.fallbacks, *extra_fallbacks])
        self.add_fallbacks("context_window_fallbacks", settings.context_window_fallbacks)
        self.add_fallbacks("content_policy_fallbacks", settings.content_policy_fallbacks)
        self.aliases = dict(settings.model_group_alias)
        self.retry_policy = _policy(settings.retry_policy, "Retries", "router_settings.retry_policy")
        self.group_retry_policy = {
            group: _policy(policy, "Retries", f"router_settings.model_group_retry_policy.{group}")
            for group, policy in (settings.model_group_retry_policy or {}).items()
        }

    # ------------------------------------------------------------------ set-up

    def set_deployments(self, deployments: Sequence[Deployment]) -> None:
        """Serve exactly ``deployments`` from now on (start-up, a config reload, models added at runtime).

        The tables are built aside and swapped in one step each, without awaiting: a request being
        planned sees the old set or the new one, and a request already holding its deployments
        (a stream in flight) keeps them.  Cooldowns and statistics are kept by deployment id.
        """
        groups: dict[str, list[Deployment]] = {}
        by_id: dict[str, Deployment] = {}
        for d in deployments:
            groups.setdefault(d.model_group, []).append(d)
            by_id[d.id] = d
        available = {group: [d for d in members if d.unavailable is None] for group, members in groups.items()}
        self.groups, self.by_id, self.available = groups, by_id, available
        self.wildcards = WildcardGroups(groups)

    def add_fallbacks(self, kind: str, entries: Sequence[Mapping[str, list[str]]]) -> None:
        """Merge ``[{group: [fallback groups]}]`` entries into ``fallbacks`` / ``context_window_fallbacks`` / ..."""
        table: dict[str, list[str]] = getattr(self, kind)
        for entry in entries:
            for group, targets in entry.items():
                known = table.setdefault(group, [])
                for target in targets:
                    if target not in known:
                        known.append(target)

    def check_fallbacks(self) -> None:
        """Refuse fallbacks that name a model group no ``model_list`` entry defines."""
        for kind in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
            for group, targets in getattr(self, kind).items():
                for target in targets:
                    if self.resolve_alias(target) not in self.groups:
                        raise ConfigError(
                            f"router_settings.{kind}: {group!r} falls back to {target!r}, which is not a model_name in "
                            f"model_list (known: {', '.join(sorted(self.groups))})"
                        )
        for target in self.settings.default_fallbacks or []:
            if self.resolve_alias(target) not in self.groups:
                raise ConfigError(f"router_settings.default_fallbacks: {target!r} is not a model_name in model_list")

    def use_strategy(self, strategy: RoutingStrategy) -> None:
        self.strategy = strategy
        self._on_start = _statistics_callback(strategy, "on_start")
        self._on_success = _statistics_callback(strategy, "on_success")
        self._on_failure = _statistics_callback(strategy, "on_failure")
        #: whether the strategy keeps statistics of successful attempts (else the retry loop builds no results)
        self.wants_results = self._on_success is not None

    def group_names(self) -> list[str]:
        return list(self.groups)

    def resolve_alias(self, name: str) -> str:
        return self.aliases.get(name, name)

    def serves(self, name: str) -> bool:
        """Whether ``name`` is a model group or matches a wildcard group."""
        return name in self.groups or (bool(self.wildcards) and self.wildcards.match(name) is not None)

    # ------------------------------------------------------------------ planning

    def healthy(self, group: str) -> list[Deployment]:
        deployments = self.available.get(group, [])
        if len(deployments) <= 1:
            return list(deployments)
        now = time.time()
        cooling_until = self.state.cooling_until
        return [d for d in deployments if cooling_until(d.id) <= now]

    def order_group(self, ctx: RequestContext, group: str) -> list[Deployment]:
        """The group's healthy deployments in the strategy's order (may raise 429 from the strategy)."""
        healthy = self.tagged(ctx, group) if self.settings.enable_tag_filtering else self.healthy(group)
        return self.strategy.order(ctx, healthy) if healthy else []

    def tagged(self, ctx: RequestContext, group: str) -> list[Deployment]:
        """``enable_tag_filtering``: the group's healthy deployments the request's tags select
        (:func:`gateway.routing.tag_filter`); cooldowns apply within them."""
        available = self.available.get(group, [])
        chosen = tag_filter(available, request_tags(ctx), group, self.settings.tag_filtering_match_any)
        if len(available) <= 1:
            return chosen
        now = time.time()
        cooling_until = self.state.cooling_until
        return [d for d in chosen if cooling_until(d.id) <= now]

    def unavailable_error(self, group: str) -> GatewayError:
        if not self.available.get(group):
            # no deployment of the group can be called at all (no plugin serves its provider ...)
            reasons = sorted({d.unavailable for d in self.groups.get(group, ()) if d.unavailable})
            return ServiceUnavailableError(
                f"model group {group!r} cannot be served by this gateway: {'; '.join(reasons)}",
                code="deployment_unavailable",
            )
        wait = min((self.cooldowns.seconds_left(d.id) for d in self.groups[group]), default=1.0)
        return RateLimitError(
            f"no deployment of model group {group!r} is available: every one is cooling down after failures; "
            f"retry in {max(1, round(wait))} s",
            headers={"retry-after": str(max(1, round(wait)))},
            code="429",
        )

    def plan(self, ctx: RequestContext) -> RoutePlan:
        group = ctx.model_group
        serving = group  # the group whose deployments serve it: itself, or the wildcard group it matches
        match: WildcardMatch | None = None
        if group not in self.groups:
            match = self.wildcards.match(group) if self.wildcards else None
            if match is None:
                raise NotFoundError(
                    f"model {ctx.requested_model!r} does not exist on this gateway; call GET /v1/models to see the "
                    "models your key may use",
                    param="model",
                    code="model_not_found",
                )
            serving = match.group
        unavailable: GatewayError | None = None
        try:
            ordered = self.order_group(ctx, serving)
        except RateLimitError as exc:
            ordered, unavailable = [], exc
        if match is not None and ordered and self.concretize is not None:
            concretize = self.concretize
            ordered = [concretize(d, match, group) for d in ordered]
        plan = RoutePlan(ordered, group)
        if not ordered:
            plan.unavailable = unavailable or self.unavailable_error(serving)
            plan.has_fallbacks = bool(self.fallback_targets(ctx, group, RATE_LIMIT))
            if not plan.has_fallbacks:
                raise plan.unavailable
        return plan

    def fallback_targets(self, ctx: RequestContext, group: str, kind: str) -> list[str]:
        """The groups to try after ``group`` failed with an error of ``kind``, in order.

        The list for the error type (``context_window_fallbacks``, ``content_policy_fallbacks``)
        when it has one, else ``fallbacks``, else ``default_fallbacks``; the request's own lists
        (same keys in the body) replace the configured ones.  Groups that do not exist or that
        the caller may not use are skipped; at most ``max_fallbacks``.
        """
        if _gateway_fields(ctx).get("disable_fallbacks"):
            return []
        names: list[str] | None = None
        if kind == CONTEXT_WINDOW:
            names = self._targets(ctx, "context_window_fallbacks", group)
        elif kind == CONTENT_POLICY:
            names = self._targets(ctx, "content_policy_fallbacks", group)
        if not names:
            names = self._targets(ctx, "fallbacks", group)
            if names is None:
                names = list(self.settings.default_fallbacks or [])
        principal = ctx.principal
        chosen: list[str] = []
        for name in names:
            target = self.resolve_alias(name)
            if target == group or target in chosen or target not in self.groups:
                continue
            if principal is not None and not principal.may_use(target):
                continue
            chosen.append(target)
        return chosen[: self.settings.max_fallbacks]

    def _targets(self, ctx: RequestContext, key: str, group: str) -> list[str] | None:
        fields = _gateway_fields(ctx)
        if key in fields:
            return request_fallbacks(fields[key], key, group)
        configured: dict[str, list[str]] = getattr(self, key)
        return configured.get(group)

    def retries_for(self, kind: str, group: str, default: int) -> int:
        """Retries within ``group`` after an error of ``kind``: the group's policy, the policy, else ``default``."""
        policy = self.group_retry_policy.get(group)
        if policy and kind in policy:
            return policy[kind]
        return self.retry_policy.get(kind, default)

    # ------------------------------------------------------------------ attempt bookkeeping

    def attempt_started(self, ctx: RequestContext, deployment: Deployment) -> None:
        if self._on_start is not None:
            self._quietly(self._on_start, ctx, deployment)

    def attempt_succeeded(self, ctx: RequestContext, deployment: Deployment, result: AttemptResult) -> None:
        if self._on_success is not None:
            self._quietly(self._on_success, ctx, deployment, result)

    def attempt_failed(
        self, ctx: RequestContext, deployment: Deployment, result: AttemptResult, kind: str | None
    ) -> bool:
        """Report a failed (or abandoned) attempt; True when it put the deployment in cooldown."""
        if self._on_failure is not None:
            self._quietly(self._on_failure, ctx, deployment, result)
        if kind is None or len(self.groups.get(deployment.model_group, ())) <= 1:
            return False  # the single-deployment rule: never cool down a group's only deployment
        return self.cooldowns.record_failure(deployment.id, kind)

    def _quietly(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run a strategy's statistics callback; a failing one is logged (once) but never fails a request."""
        try:
            callback(*args)
        except Exception as exc:
            name = getattr(callback, "__qualname__", repr(callback))
            if name not in self._failed_callbacks:
                self._failed_callbacks.add(name)
                log.error("routing_strategy_callback_failed", callback=name, error=f"{type(exc).__name__}: {exc}")


def _statistics_callback(strategy: RoutingStrategy, name: str) -> Callable[..., Any] | None:
    """The strategy's callback, or None when it has none or inherits the base class's no-op
    (then the retry loop builds no ``AttemptResult`` for it: the common case costs nothing)."""
    callback: Callable[..., Any] | None = getattr(strategy, name, None)
    if callback is None or getattr(type(strategy), name, None) is getattr(Strategy, name):
        return None
    return callback


def request_fallbacks(value: Any, key: str, group: str) -> list[str]:
    """A request's ``fallbacks`` (or ``context_window_fallbacks`` ...) as a list of model groups.

    Accepted: ``["gpt-4o-mini", {"model": "claude"}]`` (targets for the requested group) and
    ``[{"gpt-4o": ["gpt-4o-mini"]}]`` (LiteLLM's mapping form; entries for other groups are ignored).
    """
    if not isinstance(value, list):
        raise BadRequestError(f'{key} must be a list of model names, for example ["gpt-4o-mini"]', param=key)
    names: list[str] = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("model"), str):
            if len(item) > 1:
                raise BadRequestError(
                    f"{key}: per-fallback overrides ({', '.join(sorted(k for k in item if k != 'model'))}) are not "
                    "supported; give the model name only",
                    param=key,
                )
            names.append(item["model"])
        elif isinstance(item, dict) and all(isinstance(v, list) for v in item.values()):
            names.extend(str(t) for t in item.get(group, []))
        else:
            raise BadRequestError(f"{key}: {item!r} is not a model name", param=key)
    return names


def _gateway_fields(ctx: RequestContext) -> dict[str, Any]:
    """The request's own steering fields (``fallbacks``, ``disable_fallbacks`` ...)."""
    return ctx.request.gateway if ctx.request is not None else {}
