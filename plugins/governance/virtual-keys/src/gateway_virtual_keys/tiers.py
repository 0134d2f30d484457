"""Budget tiers (LiteLLM's ``/budget/*``): named limits keys, teams and customers point to with ``budget_id``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LIMIT_FIELDS = ("max_budget", "soft_budget", "budget_duration", "tpm_limit", "rpm_limit", "max_parallel_requests")

#: budget tiers by id: their limit fields (``vk_budgets`` rows)
Tiers = Mapping[str, Mapping[str, Any]]


def with_tier(row: Mapping[str, Any], tiers: Tiers) -> Mapping[str, Any]:
    """``row`` with its budget tier's value for every limit it does not set itself.

    As LiteLLM documents tiers ("each user on this tier will have a max budget of $4"), a tier
    is a set of limits each member gets for itself: the counters stay per key, team or customer.
    """
    tier = tiers.get(row.get("budget_id") or "")
    if not tier:
        return row
    merged = dict(row)
    for name in LIMIT_FIELDS:
        if merged.get(name) is None and tier.get(name) is not None:
            merged[name] = tier[name]
    return merged
