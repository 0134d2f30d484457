"""A test-only auth plugin: API keys mapped to principals with budget scopes, from its config section.

Used in-process (``plugins=[TestAuth(keys)]``) and in gateway subprocesses, where it is found
through a throw-away ``dist-info`` entry point (see ``conftest.gateway_process``).  It stands in
for the virtual-keys plugin so these tests depend on nothing but core's ``BudgetScope`` contract.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from gateway import BudgetScope, Principal, hookimpl

NAME = "spend_testauth"


class ScopeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: str
    id: str
    max_budget: Any = None
    budget_duration: str | None = None
    soft_budget: Any = None
    rpm_limit: Any = None
    tpm_limit: Any = None
    max_parallel_requests: Any = None
    alias: str | None = None


class KeySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_hash: str
    key_alias: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    team_alias: str | None = None
    scopes: list[ScopeSpec] = []


class TestAuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: dict[str, KeySpec] = {}


def principal_for(spec: KeySpec) -> Principal:
    scopes = []
    for s in spec.scopes:
        data = s.model_dump()
        for money in ("max_budget", "soft_budget"):
            if isinstance(data[money], (int, float, str)) and not isinstance(data[money], bool):
                try:
                    data[money] = Decimal(str(data[money]))
                except ArithmeticError:
                    pass  # keep the bad value: the plugin under test must refuse it
        scopes.append(BudgetScope(**data))
    return Principal(
        id=spec.key_hash,
        kind="virtual_key",
        key_hash=spec.key_hash,
        key_alias=spec.key_alias,
        user_id=spec.user_id,
        team_id=spec.team_id,
        team_alias=spec.team_alias,
        scopes=scopes,
    )


class TestAuth:
    __test__ = False  # not a pytest test class
    """Register in-process with explicit keys, or load by entry point (keys from the config)."""

    gateway_plugin_name = NAME

    def __init__(self, keys: dict[str, KeySpec] | None = None) -> None:
        self.keys = keys

    @hookimpl
    def gateway_register_config(self, register: Any) -> None:
        register(NAME, TestAuthConfig)

    @hookimpl
    def gateway_auth(self, api_key: str | None, gateway: Any) -> Principal | None:
        # principals are built once per key, as a real auth plugin's cache would
        cache = gateway.state.setdefault(NAME, {})
        found = cache.get(api_key)
        if found is None:
            keys = self.keys if self.keys is not None else gateway.plugin_config(NAME).keys
            spec = keys.get(api_key or "")
            if spec is None:
                return None
            found = cache[api_key] = principal_for(spec)
        return found


# module-level hooks for entry-point loading
_default = TestAuth()
gateway_register_config = _default.gateway_register_config
gateway_auth = _default.gateway_auth
