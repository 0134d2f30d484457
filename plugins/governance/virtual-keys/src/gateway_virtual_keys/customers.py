"""Customers (LiteLLM's end users) at request time, served from memory.

A request names its customer with OpenAI's ``user`` (Anthropic: ``metadata.user_id``).  Every
worker keeps every customer row in memory (loaded at start-up, then kept current by the change log
like keys): a request costs one dict look-up, no database read.

* ``gateway_pre_call``: a blocked customer is refused (403); a customer with ``models`` may use
  only those (401, as a key's model refusal).
* ``gateway_end_user_scope`` (declared by gateway-spend): the customer's budget and limits, which
  gateway-spend enforces with its exact reservations, as for keys.  An end user with no budget of
  its own (no customer row, or one that sets no limit) gets the tier named by
  ``litellm_settings.max_end_user_budget_id``, on its own counters, as LiteLLM applies it; without
  that tier gateway-spend applies ``max_end_user_budget``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from gateway import AuthenticationError, BudgetScope, PermissionDeniedError

from .models import ModelCatalog, is_pattern
from .principal import scope
from .tiers import LIMIT_FIELDS, Tiers, with_tier


@dataclass(frozen=True, slots=True)
class Customer:
    user_id: str
    blocked: bool
    #: the model groups the customer may use; None: every model its key allows
    models: frozenset[str] | None
    #: its budget and limits (None: it sets none, ``max_end_user_budget`` applies)
    scope: BudgetScope | None

    def may_use(self, group: str) -> bool:
        if self.models is None or group in self.models:
            return True
        return any(is_pattern(name) and fnmatchcase(group, name) for name in self.models)


def customer_of(row: Mapping[str, Any], catalog: ModelCatalog, tiers: Tiers) -> Customer:
    row = with_tier(row, tiers)
    limited = any(row.get(name) is not None for name in LIMIT_FIELDS)
    return Customer(
        user_id=row["user_id"],
        blocked=bool(row.get("blocked")),
        models=catalog.expand(row.get("models")),
        scope=scope("end_user", row["user_id"], row, row.get("alias")) if limited else None,
    )


class Customers:
    """Every customer of the database, by id (one worker's copy)."""

    def __init__(self, default_tier_id: str | None = None) -> None:
        self.by_id: dict[str, Customer] = {}
        #: every budget tier, by id (few rows; keys and teams read them too)
        self.tiers: dict[str, dict[str, Any]] = {}
        #: ``litellm_settings.max_end_user_budget_id``: the tier of end users without a budget of their own
        self.default_tier_id = default_tier_id
        #: that tier's limits, when it exists and sets any (recomputed with the tiers)
        self.default_limits: dict[str, Any] | None = None

    def replace_all(
        self, rows: Iterable[Mapping[str, Any]], tiers: Iterable[Mapping[str, Any]], catalog: ModelCatalog
    ) -> None:
        self.tiers = {tier["budget_id"]: dict(tier) for tier in tiers}
        self.by_id = {row["user_id"]: customer_of(row, catalog, self.tiers) for row in rows}
        tier = self.tiers.get(self.default_tier_id or "")
        limits = {name: tier[name] for name in LIMIT_FIELDS if tier and tier.get(name) is not None}
        self.default_limits = limits or None

    def put(self, user_id: str, row: Mapping[str, Any] | None, catalog: ModelCatalog) -> None:
        if row is None:
            self.by_id.pop(user_id, None)
        else:
            self.by_id[user_id] = customer_of(row, catalog, self.tiers)


def check_request(
    customers: Customers, end_user: str | None, model_group: str | None, user_field: str = "user"
) -> None:
    """Refuse a blocked customer, or a model outside the customer's ``models``; ``user_field``:
    where the client's format names its end user (Anthropic: ``metadata.user_id``)."""
    customer = customers.by_id.get(end_user) if end_user else None
    if customer is None:
        return
    if customer.blocked:
        raise PermissionDeniedError(
            f"customer {customer.user_id!r} (the request's {user_field}) is blocked; an admin unblocks it with "
            "POST /customer/unblock",
            param=user_field,
            code="customer_blocked",
        )
    if model_group is not None and not customer.may_use(model_group):
        raise AuthenticationError(
            f"customer {customer.user_id!r} is not allowed to access model {model_group!r}; an admin changes its "
            "models with POST /customer/update",
            type="customer_model_access_denied",
            param="model",
        )


def end_user_scope(customers: Customers, end_user: str) -> BudgetScope | None:
    """The end user's own budget and limits, else those of the default tier; None: neither (then
    gateway-spend applies ``max_end_user_budget``)."""
    customer = customers.by_id.get(end_user)
    if customer is not None and customer.scope is not None:
        return customer.scope
    if customers.default_limits is None:
        return None
    return scope("end_user", end_user, customers.default_limits, None)
