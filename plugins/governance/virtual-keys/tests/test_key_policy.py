"""``litellm_settings`` controls on keys and users, and budgets nobody would enforce.

``default_key_generate_params`` fills what a ``/key/generate`` body leaves unset;
``upperbound_key_generate_params`` caps keys (a body asking more is a 400 naming the field and the
cap, and an unset capped field takes the cap); ``max_internal_user_budget`` is the budget of an
internal user created without one.  Without a plugin that enforces budgets and limits, setting one
is a 400 naming gateway-spend, and nothing is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import gateway_virtual_keys
import pytest
from vk_testkit import error_of

from gateway import ConfigError, Gateway


def _expires_in(made: dict[str, Any]) -> timedelta:
    return datetime.fromisoformat(made["expires"]) - datetime.now(UTC)


def test_defaults_fill_what_the_body_leaves_unset(gateway_for: Any) -> None:
    defaults = {"models": ["gpt-4o-mini"], "max_budget": 5, "duration": "1h", "metadata": {"source": "default"}}
    _, api = gateway_for(litellm_settings={"default_key_generate_params": defaults})
    made = api.new_key()
    assert made["models"] == ["gpt-4o-mini"] and made["max_budget"] == 5 and made["metadata"] == {"source": "default"}
    assert timedelta(minutes=55) < _expires_in(made) <= timedelta(hours=1)
    assert api.chat(made["key"], "gpt-4o-mini").status_code == 200
    assert api.chat(made["key"], "gpt-4o").status_code == 401  # the default models bind the key
    # what the body sets wins; LiteLLM counts an empty models list or metadata as unset
    own = api.new_key(models=["gpt-4o"], max_budget=2, metadata={"team": "x"}, expires=None)
    assert own["models"] == ["gpt-4o"] and own["max_budget"] == 2 and own["metadata"] == {"team": "x"}
    empty = api.new_key(models=[], metadata={})
    assert empty["models"] == ["gpt-4o-mini"] and empty["metadata"] == {"source": "default"}
    # a body choosing its own expiry does not get the default duration as well
    at = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert api.new_key(expires=at)["expires"] == datetime.fromisoformat(at).isoformat()


def test_upper_bounds_refuse_more_and_fill_what_is_unset(gateway_for: Any) -> None:
    bounds = {"max_budget": 100, "duration": "30d", "budget_duration": "30d", "rpm_limit": 60, "tpm_limit": 1000}
    _, api = gateway_for(litellm_settings={"upperbound_key_generate_params": bounds})
    for field, value in (
        ("max_budget", 1000),
        ("rpm_limit", 61),
        ("tpm_limit", 10**6),
        ("duration", "60d"),
        ("budget_duration", "2mo"),
    ):
        refused = api.post("/key/generate", {field: value})
        error = error_of(refused)
        assert refused.status_code == 400 and error["param"] == field, refused.text
        assert f"'{field}' is over max limit" in error["message"]
        assert f"upperbound_key_generate_params.{field}" in error["message"]
        assert f"max_value={bounds[field]}" in error["message"] and f"user_value={value}" in error["message"]
    far = api.post("/key/generate", {"expires": (datetime.now(UTC) + timedelta(days=90)).isoformat()})
    assert far.status_code == 400 and error_of(far)["param"] == "expires"
    assert api.ok("GET", "/key/list")["total_count"] == 0  # nothing refused was stored
    # a key that says nothing gets the caps: none escapes them by leaving a field out
    made = api.new_key()
    assert made["max_budget"] == 100 and made["rpm_limit"] == 60 and made["tpm_limit"] == 1000
    assert made["budget_duration"] == "30d" and timedelta(days=29) < _expires_in(made) <= timedelta(days=30)
    within = api.new_key(max_budget=40, duration="1d", rpm_limit=60)
    assert within["max_budget"] == 40 and within["rpm_limit"] == 60


def test_upper_bounds_hold_on_update_and_regenerate(gateway_for: Any) -> None:
    bounds = {"max_budget": 100, "duration": "30d"}
    _, api = gateway_for(litellm_settings={"upperbound_key_generate_params": bounds})
    key = api.new_key(max_budget=10)["token_id"]
    for change in ({"max_budget": 500}, {"max_budget": None}, {"duration": None}, {"duration": "1y"}):
        refused = api.post("/key/update", {"key": key, **change})
        assert refused.status_code == 400 and error_of(refused)["param"] in change, refused.text
    raised = api.post("/key/regenerate", {"key": key, "max_budget": 101})
    assert raised.status_code == 400 and error_of(raised)["param"] == "max_budget"
    assert api.ok("GET", "/key/info", {"key": key})["info"]["max_budget"] == 10  # unchanged
    assert api.ok("POST", "/key/update", {"key": key, "max_budget": 99, "duration": "7d"})["max_budget"] == 99


def test_the_settings_are_checked_at_start_up() -> None:
    plugins = [("virtual_keys", gateway_virtual_keys)]
    cases = [
        ({"upperbound_key_generate_params": {"max_budgett": 1}}, "upperbound_key_generate_params.max_budgett"),
        ({"upperbound_key_generate_params": {"duration": "forever"}}, "upperbound_key_generate_params.duration"),
        ({"default_key_generate_params": {"models": "gpt-4o"}}, "default_key_generate_params.models"),
        ({"default_key_generate_params": {"key": "sk-" + "x" * 40}}, "default_key_generate_params.key"),
        (
            {"default_key_generate_params": {"max_budget": 200}, "upperbound_key_generate_params": {"max_budget": 100}},
            "default_key_generate_params.max_budget is above its cap",
        ),
    ]
    for settings, named in cases:
        with pytest.raises(ConfigError) as failed:
            Gateway({"litellm_settings": settings}, plugins=plugins, load_entrypoints=False)
        assert named in str(failed.value), failed.value


def test_internal_users_created_without_a_budget_get_the_default(gateway_for: Any) -> None:
    _, api = gateway_for(litellm_settings={"max_internal_user_budget": 25})
    assert api.ok("POST", "/user/new", {"user_id": "new-hire", "auto_create_key": False})["max_budget"] == 25
    assert api.ok("POST", "/user/new", {"user_id": "frugal", "max_budget": 3})["max_budget"] == 3
    admin = api.ok("POST", "/user/new", {"user_id": "boss", "user_role": "proxy_admin", "auto_create_key": False})
    assert admin["max_budget"] is None  # LiteLLM's default is for internal users only
    api.new_key(user_id="first-seen-on-a-key")
    api.ok("POST", "/team/new", {"team_id": "t"})
    api.ok("POST", "/team/member_add", {"team_id": "t", "member": {"user_id": "first-seen-as-member"}})
    for user in ("first-seen-on-a-key", "first-seen-as-member"):
        assert api.ok("GET", "/user/info", {"user_id": user})["user_info"]["max_budget"] == 25


def test_without_an_enforcing_plugin_limits_are_refused_naming_it(gateway_for: Any) -> None:
    _, api = gateway_for(enforcer=False)
    api.ok("POST", "/team/new", {"team_id": "t"})
    user = api.ok("POST", "/user/new", {"user_id": "u", "auto_create_key": False})["user_id"]
    key = api.new_key(team_id="t")["token_id"]
    attempts = [
        ("/key/generate", {"max_budget": 10}, "max_budget"),
        ("/key/generate", {"budget_duration": "1d"}, "budget_duration"),
        ("/key/update", {"key": key, "rpm_limit": 5}, "rpm_limit"),
        ("/key/regenerate", {"key": key, "tpm_limit": 5}, "tpm_limit"),
        ("/team/new", {"team_id": "t2", "max_parallel_requests": 2}, "max_parallel_requests"),
        ("/team/update", {"team_id": "t", "max_budget": 10}, "max_budget"),
        ("/user/new", {"user_id": "u2", "soft_budget": 1}, "soft_budget"),
        ("/user/update", {"user_id": user, "max_budget": 10}, "max_budget"),
    ]
    for path, body, field in attempts:
        refused = api.post(path, body)
        error = error_of(refused)
        assert refused.status_code == 400 and error["param"] == field, (path, refused.text)
        assert "gateway-spend" in error["message"] and f"'{field}'" in error["message"]
    # nothing was stored as if it were enforced
    assert api.ok("GET", "/key/list")["total_count"] == 1
    assert api.get("/team/info", {"team_id": "t2"}).status_code == 404
    assert api.get("/user/info", {"user_id": "u2"}).status_code == 404
    info = api.ok("GET", "/key/info", {"key": key})["info"]
    assert info["rpm_limit"] is None and info["tpm_limit"] is None
    # clearing a limit, and everything else, still works
    assert api.ok("POST", "/key/update", {"key": key, "max_budget": None, "key_alias": "k"})["key_alias"] == "k"


def test_without_an_enforcing_plugin_the_limit_settings_are_left_unused(gateway_for: Any) -> None:
    settings = {
        "max_internal_user_budget": 25,
        "default_key_generate_params": {"max_budget": 5, "models": ["gpt-4o"]},
        "upperbound_key_generate_params": {"max_budget": 100, "duration": "30d"},
    }
    _, api = gateway_for(enforcer=False, litellm_settings=settings)
    assert api.ok("POST", "/user/new", {"user_id": "new-hire", "auto_create_key": False})["max_budget"] is None
    made = api.new_key()
    # no budget is stored that nothing would enforce; what virtual-keys enforces itself still applies
    assert made["max_budget"] is None and made["models"] == ["gpt-4o"]
    assert timedelta(days=29) < _expires_in(made) <= timedelta(days=30)
    refused = api.post("/key/generate", {"duration": "60d"})
    assert refused.status_code == 400 and error_of(refused)["param"] == "duration"


def test_user_new_key_gets_the_configured_lifetime(gateway_for: Any) -> None:
    _, api = gateway_for(
        litellm_settings={
            "default_key_generate_params": {"duration": "2h"},
            "upperbound_key_generate_params": {"duration": "1d"},
        }
    )
    made = api.ok("POST", "/user/new", {"user_id": "a"})
    assert made["duration"] == "2h" and timedelta(hours=1) < _expires_in(made) <= timedelta(hours=2)
    long = api.post("/user/new", {"user_id": "b", "duration": "7d"})
    assert long.status_code == 400 and error_of(long)["param"] == "duration"
    assert api.get("/user/info", {"user_id": "b"}).status_code == 404


def test_caps_bind_admins_too(gateway_for: Any) -> None:
    _, capped = gateway_for(litellm_settings={"upperbound_key_generate_params": {"max_budget": 1}})
    admin_key = capped.ok("POST", "/user/new", {"user_id": "pa", "user_role": "proxy_admin"})["key"]
    for key in (None, admin_key):  # the master key, then a proxy admin's key
        refused = capped.post("/key/generate", {"max_budget": 2}, key=key)
        assert refused.status_code == 400 and error_of(refused)["param"] == "max_budget"
