"""What ``litellm_settings`` asks of new keys and users, and which stored limits are enforced.

* ``default_key_generate_params``: fields a ``/key/generate`` body leaves unset (absent or null;
  an empty ``models`` or ``metadata`` too) take these values, as in LiteLLM.
* ``upperbound_key_generate_params``: caps on ``max_budget``, ``budget_duration``, ``duration``,
  ``tpm_limit``, ``rpm_limit``, ``max_parallel_requests``.  A new key that leaves a capped field
  unset gets the cap (LiteLLM's rule: no key escapes it by saying nothing); one asking more is
  refused with a 400 naming the field, the value and the cap.  ``/key/update`` and
  ``/key/regenerate`` may not raise a capped field above the cap either, nor clear it (a key
  without a budget or expiry would be above any cap).  The caps apply to every caller, admins
  included, as LiteLLM applies them.
* ``max_internal_user_budget``: the budget of an ``internal_user`` created without one (by
  ``/user/new``, or on first use by ``/key/generate`` and ``/team/member_add``).

Budgets and limits are only stored when an installed plugin enforces them (gateway-spend answers
the ``gateway_enforced_limits`` hook): otherwise a body setting one is refused with a 400 naming
the plugin to install, and these settings' limit fields are reported at start-up and left unused.
A budget is never stored as if it were enforced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway import BadRequestError, ConfigError
from gateway.durations import parse_duration

from .bodies import Count, Duration, GenerateKey, Money, SmallCount, Strict, parse, sent

#: the BudgetScope fields stored on keys, teams and users that only an enforcing plugin gives effect
LIMIT_FIELDS = ("max_budget", "soft_budget", "budget_duration", "tpm_limit", "rpm_limit", "max_parallel_requests")
#: the plugin that enforces them (named in refusals)
ENFORCER = "gateway-spend"
#: ``/key/generate`` fields whose empty value counts as unset for the defaults (as in LiteLLM)
EMPTY_MEANS_UNSET: dict[str, Any] = {"models": [], "metadata": {}}
DEFAULTS = "litellm_settings.default_key_generate_params"
BOUNDS = "litellm_settings.upperbound_key_generate_params"


class UpperBounds(Strict):
    """``litellm_settings.upperbound_key_generate_params`` (LiteLLM's fields)."""

    max_budget: Money = None
    budget_duration: Duration = None
    duration: Duration = None
    max_parallel_requests: SmallCount = None
    tpm_limit: Count = None
    rpm_limit: Count = None


def _config_error(section: str, exc: BadRequestError) -> ConfigError:
    where = f"{section}.{exc.param}" if exc.param and exc.param != "body" else section
    return ConfigError(f"{where}: {exc.message}")


@dataclass(frozen=True)
class KeyPolicy:
    #: raw values (as the config gives them) for unset ``/key/generate`` fields
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: field -> cap (Decimal, int or duration text)
    bounds: Mapping[str, Any] = field(default_factory=dict)
    internal_user_budget: Decimal | None = None

    @classmethod
    def from_settings(cls, litellm: Any) -> KeyPolicy:
        """Read and check the settings (a ``ConfigError`` naming the key for a wrong one)."""
        raw_defaults = dict(litellm.default_key_generate_params or {})
        if "key" in raw_defaults:
            raise ConfigError(f"{DEFAULTS}.key: a default key value would give every key the same secret; remove it")
        try:
            parse(GenerateKey, raw_defaults)
        except BadRequestError as exc:
            raise _config_error(DEFAULTS, exc) from None
        try:
            bounds = parse(UpperBounds, dict(litellm.upperbound_key_generate_params or {}))
        except BadRequestError as exc:
            raise _config_error(BOUNDS, exc) from None
        budget = litellm.max_internal_user_budget
        policy = cls(
            defaults=raw_defaults,
            bounds={k: v for k, v in sent(bounds).items() if v is not None},
            internal_user_budget=None if budget is None else Decimal(str(budget)),
        )
        try:  # a default above its cap would refuse every key made without that field
            policy.bound_new_key(sent(parse(GenerateKey, raw_defaults)))
        except BadRequestError as exc:
            raise ConfigError(f"{DEFAULTS}.{exc.param} is above its cap: {exc.message}") from None
        return policy

    def restricted_to(self, enforced: frozenset[str]) -> tuple[KeyPolicy, list[str]]:
        """This policy without the limits no installed plugin enforces, and the settings dropped."""
        unenforced = [f for f in LIMIT_FIELDS if f not in enforced]
        dropped = [f"{DEFAULTS}.{f}" for f in unenforced if self.defaults.get(f) is not None]
        dropped += [f"{BOUNDS}.{f}" for f in unenforced if f in self.bounds]
        budget = self.internal_user_budget
        if budget is not None and "max_budget" not in enforced:
            dropped.append("litellm_settings.max_internal_user_budget")
            budget = None
        policy = replace(
            self,
            defaults={k: v for k, v in self.defaults.items() if k not in unenforced},
            bounds={k: v for k, v in self.bounds.items() if k not in unenforced},
            internal_user_budget=budget,
        )
        return policy, dropped

    # ------------------------------------------------------------------ /key/generate

    def with_defaults(self, data: dict[str, Any]) -> dict[str, Any]:
        """A ``/key/generate`` body with the configured defaults in its unset fields."""
        filled = dict(data)
        for name, value in self.defaults.items():
            current = filled.get(name)
            if current is None or current == EMPTY_MEANS_UNSET.get(name, object()):
                if name == "duration" and filled.get("expires") is not None:
                    continue  # the body chose its expiry itself
                filled[name] = value
        return filled

    def bound_new_key(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A new key's fields, capped: unset capped fields take the cap, larger values are refused."""
        capped = dict(fields)
        now = datetime.now(UTC)
        for name, bound in self.bounds.items():
            if name == "duration" and capped.get("expires") is not None:
                _check_expiry(capped["expires"], bound, now)
                continue
            if capped.get(name) is None:
                capped[name] = bound
            else:
                _check(name, capped[name], bound, now)
        return capped

    def key_duration(self, duration: str | None) -> str | None:
        """The lifetime of a key made with only a ``duration`` (``/user/new``'s): default, then cap."""
        if duration is None:
            duration = self.defaults.get("duration")
        bound = self.bounds.get("duration")
        if bound is not None:
            if duration is None:
                return str(bound)
            _check("duration", duration, bound, datetime.now(UTC))
        return duration

    def check_key_change(self, fields: Mapping[str, Any]) -> None:
        """``/key/update`` and ``/key/regenerate``: the fields sent stay within the caps."""
        now = datetime.now(UTC)
        for name, bound in self.bounds.items():
            if name == "duration" and "expires" in fields:
                if fields["expires"] is None:
                    _refuse("expires", None, bound, "a key that never expires", field_name="duration")
                _check_expiry(fields["expires"], bound, now)
            if name not in fields:
                continue
            if fields[name] is None:
                _refuse(name, None, bound, "no limit at all")
            _check(name, fields[name], bound, now)


def _check(name: str, value: Any, bound: Any, now: datetime) -> None:
    if name in ("duration", "budget_duration"):
        if parse_duration(value, name).after(now) > parse_duration(bound, name).after(now):
            _refuse(name, value, bound)
    elif value > bound:
        _refuse(name, value, bound)


def _check_expiry(expires: datetime, bound: str, now: datetime) -> None:
    if expires > parse_duration(bound, "duration").after(now):
        _refuse("expires", expires.isoformat(), bound, field_name="duration")


def _refuse(name: str, value: Any, bound: Any, meaning: str | None = None, *, field_name: str | None = None) -> None:
    capped = field_name or name
    shown = meaning or (f"{value:f}" if isinstance(value, Decimal) else value)
    cap = f"{bound:f}" if isinstance(bound, Decimal) else bound
    raise BadRequestError(
        f"'{name}' is over max limit set in config - user_value={shown}; max_value={cap} ({BOUNDS}.{capped}); "
        f"ask for at most {cap}",
        param=name,
    )


def require_enforced(enforced: frozenset[str], values: Mapping[str, Any], what: str) -> None:
    """Refuse (400, naming the plugin to install) a budget or limit that nothing would enforce."""
    for name in LIMIT_FIELDS:
        if values.get(name) is not None and name not in enforced:
            raise BadRequestError(
                f"'{name}': no installed plugin enforces the budgets and rate limits of a {what}, so it would be "
                f"stored without effect; install {ENFORCER} (pip install {ENFORCER}) and restart the gateway, or "
                f"leave '{name}' out",
                param=name,
            )
