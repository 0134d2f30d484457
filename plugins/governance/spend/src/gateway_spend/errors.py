"""The answers a refused request gets: budget (422 by default) and rate limits (429)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from gateway import BudgetExceededError, RateLimitError

from .admission import AdmissionPlan, Rejected
from .money import from_nanos, money_str


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def budget_error(plan: AdmissionPlan, rejection: Rejected, status: int, now: float) -> BudgetExceededError:
    line = plan.budgets[rejection.index]
    spent = from_nanos(rejection.used)
    message = (
        f"Budget has been exceeded for {line.label}: spent ${money_str(spent)} of max budget "
        f"${money_str(from_nanos(rejection.limit))}"
    )
    if rejection.reserved:
        message += f" (plus ${money_str(from_nanos(rejection.reserved))} reserved by requests in flight)"
    if plan.reserve:
        message += f"; this request could cost up to ${money_str(from_nanos(plan.reserve))}"
    resets_at = line.resets_at(now)
    if resets_at is not None:
        message += f". The budget resets at {_when(resets_at)}"
    return BudgetExceededError(message + ".", status=status, param=None, code=str(status))


def _amount(nanos: int) -> str:
    """A money amount as LiteLLM prints one (a Python float: ``0.0001``, ``3.7e-05``)."""
    return repr(float(from_nanos(nanos)))


def litellm_budget_error(plan: AdmissionPlan, rejection: Rejected, status: int) -> BudgetExceededError:
    """The refusal of ``budget_admission: spend_check``, in the words of LiteLLM's own budget checks
    (clients that parse "Current cost: X, Max budget: Y" keep working)."""
    line = plan.budgets[rejection.index]
    spent, limit = _amount(rejection.used), _amount(rejection.limit)
    if line.scope == "key":
        message = (
            f"Budget has been exceeded! Key={line.alias or line.id[:12]} Current cost: {spent}, Max budget: {limit}"
        )
    elif line.scope == "user":
        message = f"ExceededBudget: User={line.id} over budget. Spend={spent}, Budget={limit}"
    elif line.scope == "end_user":
        message = f"ExceededBudget: End User={line.id} over budget. Spend={spent}, Budget={limit}"
    elif line.scope == "global":
        message = f"ExceededBudget: the gateway has exceeded its budget. Current spend: {spent}; Max Budget: {limit}"
    else:
        name = {"team": "Team", "org": "Organization"}.get(line.scope, line.scope)
        message = f"Budget has been exceeded! {name}={line.id} Current cost: {spent}, Max budget: {limit}"
    return BudgetExceededError(message, status=status, param=None, code=str(status))


def rate_limit_error(plan: AdmissionPlan, rejection: Rejected, window: float) -> RateLimitError:
    retry = max(1, math.ceil(rejection.retry_after_ms / 1000))
    if rejection.kind == "parallel":
        line = plan.parallels[rejection.index]
        return RateLimitError(
            f"Max parallel request limit reached for {line.label}: {rejection.used} requests in flight, "
            f"max_parallel_requests is {rejection.limit}. Retry when one of them finished.",
            headers={"retry-after": "1"},
        )
    rate = plan.rates[rejection.index]
    scope = rate.key.split(":", 1)[0]
    if rejection.kind == "rpm":
        what, unit, field = f"{rejection.used} requests", "requests", "rpm_limit"
    else:
        what, unit, field = f"{rejection.used} tokens", "tokens", "tpm_limit"
    headers = {
        "retry-after": str(retry),
        f"x-ratelimit-limit-{unit}": str(rejection.limit),
        f"x-ratelimit-remaining-{unit}": "0",
        f"x-ratelimit-reset-{unit}": f"{retry}s",
        f"x-ratelimit-{scope}-limit-{unit}": str(rejection.limit),
        f"x-ratelimit-{scope}-remaining-{unit}": "0",
    }
    return RateLimitError(
        f"Rate limit exceeded for {rate.label}: {what} in the last {window:g} seconds, {field} is {rejection.limit}. "
        f"Retry after {retry} s.",
        headers=headers,
        extra={"rate_limit_type": unit, "retry_after": retry},
    )


def success_headers(plan: AdmissionPlan, usage: list[tuple[int, int]]) -> dict[str, str]:
    """``x-ratelimit-*`` headers for an admitted request: the tightest limit, and each scope's."""
    headers: dict[str, str] = {}
    tightest: dict[str, tuple[int, int]] = {}
    for rate, (requests, tokens) in zip(plan.rates, usage, strict=True):
        scope = rate.key.split(":", 1)[0]
        for unit, limit, left in (
            ("requests", rate.rpm, None if rate.rpm is None else rate.rpm - requests - 1),
            ("tokens", rate.tpm, None if rate.tpm is None else rate.tpm - tokens - plan.tokens),
        ):
            if limit is None or left is None:
                continue
            left = max(left, 0)
            headers[f"x-ratelimit-{scope}-limit-{unit}"] = str(limit)
            headers[f"x-ratelimit-{scope}-remaining-{unit}"] = str(left)
            if unit not in tightest or left < tightest[unit][1]:
                tightest[unit] = (limit, left)
    for unit, (limit, left) in tightest.items():
        headers[f"x-ratelimit-limit-{unit}"] = str(limit)
        headers[f"x-ratelimit-remaining-{unit}"] = str(left)
    return headers
