"""The request path: what the principal carries, no database round trip per request, guessing keys.

Database work is observed with SQLAlchemy's ``before_cursor_execute`` event on the gateway's own
engine.  The change-log poll (one read of ``vk_version`` per ``poll_interval``) runs on a timer,
whatever the traffic, so it is left out of the counts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from decimal import Decimal
from typing import Any

import pytest
from gateway_virtual_keys.hashing import salt_from_environment
from sqlalchemy import event
from vk_testkit import MASTER, Api, error_of

from gateway import BudgetScope, Gateway, GatewayError, hookimpl, hookspec
from gateway.storage import get_engine


class StatementCounter:
    """Counts SQL statements the gateway runs, except the timer-driven change-log poll."""

    def __init__(self, running: Any) -> None:
        self.statements: list[str] = []
        self.engine = get_engine(running.gateway).sync_engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM vk_version" not in statement and "FROM vk_changes" not in statement:
            self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


class PrincipalRecorder:
    gateway_plugin_name = "principal_recorder"

    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def gateway_pre_call(self, ctx: Any) -> None:
        self.seen.append(ctx.principal)


class SpendHook:
    """gateway-spend's hook, as gateway-spend declares it: this plugin's tests run without gateway-spend."""

    @hookspec(firstresult=True)
    def gateway_get_spend(self, scope: str, ids: list[str], gateway: Any) -> dict[str, Any] | None:
        """Spend recorded per id."""


class FixedLedger:
    """A ledger answering ``gateway_get_spend`` (the real one is another plugin, which owns the hook)."""

    gateway_plugin_name = "fixed_ledger"

    def __init__(self) -> None:
        self.spend: dict[str, Decimal] = {}
        self.asked: list[tuple[str, list[str]]] = []

    @hookimpl
    def gateway_add_hookspecs(self, pluginmanager: Any) -> None:
        pluginmanager.add_hookspecs(SpendHook)

    @hookimpl
    async def gateway_get_spend(self, scope: str, ids: list[str]) -> dict[str, Any]:
        self.asked.append((scope, list(ids)))
        return {i: self.spend[i] for i in ids if i in self.spend}


def test_steady_state_requests_cost_no_database_query(gateway_for: Any) -> None:
    running, api = gateway_for()
    key = api.new_key(team_id="t", user_id="u", models=["gpt-4o"])["key"]
    counter = StatementCounter(running)
    try:
        assert api.chat(key).status_code == 200  # first use: the key is resolved once
        assert counter.statements, "the first request should load the key"
        counter.reset()
        for _ in range(30):
            assert api.chat(key).status_code == 200
        assert api.get("/v1/models", key=key).status_code == 200
        assert counter.statements == []
    finally:
        counter.close()
    metrics = running.gateway.state["virtual_keys_metrics"]
    assert metrics["auth_cache_hits_total"] >= 31 and metrics["auth_cache_loads_total"] == 1


def test_a_burst_of_guessed_keys_costs_a_bounded_number_of_queries(gateway_for: Any, server_logs: Any) -> None:
    running, api = gateway_for(unknown_key_lookups_per_second=1, invalid_key_log_interval=3600)
    counter = StatementCounter(running)
    try:
        for _ in range(200):
            refused = api.chat("sk-" + secrets.token_urlsafe(32))
            assert refused.status_code == 401 and error_of(refused)["type"] == "token_not_found_in_db"
        guess_queries = len(counter.statements)
        counter.reset()
        same = "sk-" + secrets.token_urlsafe(32)
        for _ in range(100):
            assert api.chat(same).status_code == 401
        repeat_queries = len(counter.statements)
    finally:
        counter.close()
    metrics = running.gateway.state["virtual_keys_metrics"]
    assert metrics["invalid_key_attempts_total"] == 300
    assert metrics["invalid_key_db_lookups_total"] < 20 and metrics["invalid_key_lookups_throttled_total"] > 180
    assert guess_queries <= 2 * metrics["invalid_key_db_lookups_total"] < 40
    assert repeat_queries <= 2  # at most one look-up, then remembered as invalid
    warning = server_logs.wait_for("virtual_keys_invalid_keys_presented")
    assert warning["count"] == 1 and warning["log_level"] == "warning"  # rate-limited: the first, then quiet
    assert len(server_logs.named("virtual_keys_invalid_keys_presented")) == 1


def test_keys_never_reach_the_logs(gateway_for: Any, server_logs: Any) -> None:
    _, api = gateway_for(invalid_key_log_interval=0.001)
    made = api.new_key(key_alias="logged?")
    api.chat(made["key"])
    guess = "sk-" + secrets.token_urlsafe(32)
    api.chat(guess)
    api.ok("POST", "/key/regenerate", {"key": made["key"]})
    text = " ".join(str(line) for line in server_logs)
    assert made["key"] not in text and guess not in text and MASTER not in text


@pytest.mark.parametrize(
    ("header", "words"),
    [("Basic dXNlcjpwYXNz", "Bearer"), ("Bearer", "Bearer"), ("sk-abc", "Bearer")],
)
def test_malformed_authorization_header_is_401_saying_what_is_wrong(api: Api, header: str, words: str) -> None:
    response = api.http.post(
        "/v1/chat/completions",
        headers={"Authorization": header},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 401 and words in error_of(response)["message"]
    admin = api.http.get("/key/list", headers={"Authorization": header})
    assert admin.status_code == 401 and words in error_of(admin)["message"]


def test_no_key_and_non_virtual_keys(api: Api) -> None:
    missing = api.http.get("/key/info")
    assert missing.status_code == 401 and "No api key" in error_of(missing)["message"]
    other = api.chat("not-an-sk-key")
    assert other.status_code == 401


def test_principal_carries_scopes_roles_and_settings(gateway_for: Any) -> None:
    recorder = PrincipalRecorder()
    _, api = gateway_for(recorder, guardrails=("pii", "lakera"))
    api.ok(
        "POST",
        "/team/new",
        {
            "team_id": "eng",
            "team_alias": "Engineering",
            "max_budget": 100,
            "rpm_limit": 50,
            "budget_duration": "30d",
            "guardrails": ["pii"],
            "model_aliases": {"best": "gpt-4o"},
        },
    )
    api.ok(
        "POST", "/user/new", {"user_id": "boss", "user_role": "proxy_admin", "max_budget": 7, "auto_create_key": False}
    )
    made = api.new_key(
        team_id="eng",
        user_id="boss",
        key_alias="k1",
        max_budget=12.5,
        soft_budget=10,
        tpm_limit=1000,
        max_parallel_requests=3,
        metadata={"app": "x"},
        permissions={"allow_pii_controls": True},
        guardrails=["lakera"],
        aliases={"quick": "gpt-4o-mini"},
    )
    assert api.chat(made["key"], "best").status_code == 200
    principal = recorder.seen[-1]
    assert principal.kind == "virtual_key" and principal.id == principal.key_hash == made["token_id"]
    assert principal.is_admin and principal.extra["user_role"] == "proxy_admin"
    assert (principal.user_id, principal.team_id, principal.team_alias, principal.key_alias) == (
        "boss",
        "eng",
        "Engineering",
        "k1",
    )
    assert principal.aliases == {"best": "gpt-4o", "quick": "gpt-4o-mini"}
    assert principal.models is None and principal.guardrails == ["pii", "lakera"]
    assert principal.metadata == {"app": "x"} and principal.permissions == {"allow_pii_controls": True}
    assert principal.scopes == [
        BudgetScope(
            "key",
            made["token_id"],
            max_budget=Decimal("12.5"),
            soft_budget=Decimal("10"),
            tpm_limit=1000,
            max_parallel_requests=3,
            alias="k1",
        ),
        BudgetScope("team", "eng", max_budget=Decimal("100"), budget_duration="30d", rpm_limit=50, alias="Engineering"),
        BudgetScope("user", "boss", max_budget=Decimal("7")),
    ]
    principal.scopes.append(BudgetScope("end_user", "x"))  # a later plugin adding a scope must not leak
    assert api.chat(made["key"]).status_code == 200
    assert len(recorder.seen[-1].scopes) == 3


def test_spend_comes_from_the_ledger_hook(gateway_for: Any) -> None:
    ledger = FixedLedger()
    _, api = gateway_for(ledger)
    made = api.new_key(team_id="eng", user_id="alice")
    ledger.spend = {made["token_id"]: Decimal("1.25"), "eng": Decimal("3.5"), "alice": Decimal("0.75")}
    assert api.ok("GET", "/key/info", {"key": made["key"]})["info"]["spend"] == 1.25
    team = api.ok("GET", "/team/info", {"team_id": "eng"})
    assert team["team_info"]["spend"] == 3.5 and team["keys"][0]["spend"] == 1.25
    user = api.ok("GET", "/user/info", {"user_id": "alice"})
    assert user["user_info"]["spend"] == 0.75 and user["keys"][0]["spend"] == 1.25
    assert ("key", [made["token_id"]]) in ledger.asked and ("team", ["eng"]) in ledger.asked


def test_without_a_ledger_plugin_spend_is_zero(gateway_for: Any) -> None:
    """No plugin declares ``gateway_get_spend`` (gateway-spend is not installed): spend is 0, never an error."""
    running, api = gateway_for()
    assert getattr(running.gateway.pm.hook, "gateway_get_spend", None) is None
    made = api.new_key(team_id="eng", max_budget=5)
    assert api.ok("GET", "/key/info", {"key": made["key"]})["info"]["spend"] == 0
    assert api.ok("GET", "/team/info", {"team_id": "eng"})["team_info"]["spend"] == 0


def test_keys_are_hashed_with_the_salt(gateway_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_SALT_KEY", "pepper-for-tests")
    _, api = gateway_for()
    made = api.new_key()
    expected = hmac.new(b"pepper-for-tests", made["key"].encode(), hashlib.sha256).hexdigest()
    assert made["token_id"] == expected and hashlib.sha256(made["key"].encode()).hexdigest() != expected
    assert api.chat(made["key"]).status_code == 200


def test_without_salt_or_master_key_no_key_can_be_made(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway_virtual_keys.settings import VirtualKeysSettings
    from gateway_virtual_keys.state import PluginState

    assert salt_from_environment(None) is None
    assert salt_from_environment("sk-master") == salt_from_environment("sk-master") != salt_from_environment("sk-other")

    monkeypatch.delenv("LITELLM_SALT_KEY", raising=False)
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    no_master = Gateway({"model_list": []}, load_entrypoints=False, allow_unauthenticated=True)
    state = PluginState(no_master, VirtualKeysSettings())
    with pytest.raises(GatewayError) as refused:
        state.require_hasher()
    assert refused.value.status == 500 and "LITELLM_SALT_KEY" in refused.value.message


def test_keys_and_teams_take_only_configured_guardrails(gateway_for: Any) -> None:
    # a key carrying a guardrail the gateway does not run would fail every request it makes
    _, api = gateway_for(guardrails=("pii",))
    for path, body in [
        ("/key/generate", {"guardrails": ["pii", "nope"]}),
        ("/team/new", {"team_id": "t", "guardrails": ["nope"]}),
    ]:
        refused = api.post(path, body)
        assert refused.status_code == 400, refused.text
        assert error_of(refused)["param"] == "guardrails" and "'nope' is not configured" in error_of(refused)["message"]
    made = api.new_key(guardrails=["pii"])
    assert api.chat(made["key"]).status_code == 200
    refused = api.post("/key/update", {"key": made["key"], "guardrails": ["nope"]})
    assert refused.status_code == 400 and error_of(refused)["param"] == "guardrails"
