"""Which budgets and limits apply to a request, turned into an :class:`AdmissionPlan`.

Sources: the principal's scopes (key, team, user ... filled by the auth plugin), an end-user scope
from the request's end user (OpenAI ``user``, Anthropic ``metadata.user_id``;
``litellm_settings.max_end_user_budget``), and the gateway-wide
budget (``litellm_settings.max_budget`` / ``budget_duration``).  Every budget is checked on its
own; one exhausted budget is enough to refuse the request (the contract's §4.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from gateway import BadRequestError, BudgetScope, Principal
from gateway.durations import Duration, parse_duration

from .admission import BudgetLine, ParallelLine, RateLine
from .money import as_decimal, to_nanos


@dataclass(slots=True)
class GlobalBudget:
    """``litellm_settings.max_budget`` and ``max_end_user_budget``, parsed once at start-up."""

    max_budget: Decimal | None
    duration: Duration | None
    end_user_budget: Decimal | None


def describe(scope: str, scope_id: str, alias: str | None) -> str:
    """How error messages and alerts name a scope."""
    if scope == "global":
        return "the gateway's global budget"
    if scope == "key":
        return f"key {alias!r}" if alias else f"key {scope_id[:12]}"
    name = {"end_user": "end user", "org": "organization"}.get(scope, scope)
    return f"{name} {alias or scope_id!r}" if alias else f"{name} {scope_id!r}"


def _limit(scope: BudgetScope, field: str) -> int | None:
    value = getattr(scope, field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequestError(
            f"{field} of {describe(scope.scope, scope.id, scope.alias)} must be a non-negative whole number, "
            f"not {value!r}; fix it on the {scope.scope}",
            param=field,
        )
    return value


def _money(scope: BudgetScope, field: str) -> int | None:
    value = getattr(scope, field)
    if value is None:
        return None
    try:
        return to_nanos(as_decimal(value, field))
    except ValueError as exc:
        raise BadRequestError(
            f"{exc} (on {describe(scope.scope, scope.id, scope.alias)}); fix it on the {scope.scope}", param=field
        ) from None


def budget_duration(text: str | None, field: str = "budget_duration") -> Duration | None:
    """A budget's window length; None (or empty) is a budget that never resets."""
    return None if text is None or text == "" else parse_duration(text, field)


def _duration(scope: BudgetScope) -> Duration | None:
    try:
        return budget_duration(scope.budget_duration)
    except ValueError as exc:
        raise BadRequestError(
            f"{exc} (on {describe(scope.scope, scope.id, scope.alias)})", param="budget_duration"
        ) from None


#: ``gateway_end_user_scope``: an end user's own budget and limits (None: not known)
EndUserLookup = Callable[[str], BudgetScope | None]


def applicable_scopes(
    principal: Principal,
    end_user: str | None,
    settings: GlobalBudget,
    lookup: EndUserLookup | None = None,
    tags: list[BudgetScope] | None = None,
) -> list[BudgetScope]:
    """The principal's scopes plus the end-user (``end_user``: the request's typed ``user``), tag
    (``tags``: from ``gateway_tag_scopes``) and global ones this plugin adds.  An end user known to
    ``lookup`` (a customer of gateway-virtual-keys) has its own scope; any other gets
    ``max_end_user_budget``."""
    scopes = list(principal.scopes)
    if tags:
        scopes.extend(tags)
    if isinstance(end_user, str) and end_user and not any(s.scope == "end_user" for s in scopes):
        own = lookup(end_user) if lookup is not None else None
        scopes.append(
            own if own is not None else BudgetScope("end_user", end_user, max_budget=settings.end_user_budget)
        )
    if settings.max_budget is not None and not any(s.scope == "global" for s in scopes):
        scopes.append(
            BudgetScope(
                "global",
                "global",
                max_budget=settings.max_budget,
                budget_duration=settings.duration.text if settings.duration else None,
            )
        )
    return scopes


def plan_lines(
    scopes: list[BudgetScope], *, enforce: bool
) -> tuple[list[BudgetLine], list[RateLine], list[ParallelLine]]:
    """Budget, rate and parallel lines for ``scopes``; ``enforce=False`` only tracks spend (master key)."""
    budgets: list[BudgetLine] = []
    rates: list[RateLine] = []
    parallels: list[ParallelLine] = []
    for scope in scopes:
        label = describe(scope.scope, scope.id, scope.alias)
        limit = _money(scope, "max_budget")
        soft = _money(scope, "soft_budget")
        if limit is not None or soft is not None:
            duration = _duration(scope)
            key = f"{scope.scope}:{scope.id}:{duration.text if duration else 'all'}"
            budgets.append(
                BudgetLine(
                    scope.scope,
                    scope.id,
                    label,
                    key,
                    limit if enforce else None,
                    soft,
                    duration,
                    scope.budget_started_at,
                    scope.alias,
                )
            )
        if not enforce:
            continue
        rpm, tpm = _limit(scope, "rpm_limit"), _limit(scope, "tpm_limit")
        if rpm is not None or tpm is not None:
            rates.append(RateLine(label, f"{scope.scope}:{scope.id}", rpm, tpm))
        parallel = _limit(scope, "max_parallel_requests")
        if parallel is not None:
            parallels.append(ParallelLine(label, f"{scope.scope}:{scope.id}", parallel))
    return budgets, rates, parallels


def scopes_signature(scopes: list[BudgetScope], enforce: bool) -> tuple[object, ...]:
    """A hashable summary of ``scopes``: the same signature always gives the same plan lines."""
    return (
        enforce,
        *(
            (
                s.scope,
                s.id,
                s.max_budget,
                s.budget_duration,
                s.soft_budget,
                s.rpm_limit,
                s.tpm_limit,
                s.max_parallel_requests,
                s.alias,
                s.budget_started_at,
            )
            for s in scopes
        ),
    )
