"""``/budget/*``: budget tiers, on SQLite and PostgreSQL: what the routes answer, the 400s naming the
field, who may call them, members pointing to a tier with ``budget_id``, and deleting a tier that
still has members (enforcement with gateway-spend: tests/test_budget_tiers_flow.py)."""

from __future__ import annotations

from typing import Any

import pytest
from vk_testkit import Api, error_of


def test_budget_tier_lifecycle(api: Api) -> None:
    made = api.ok(
        "POST", "/budget/new", {"budget_id": "free", "max_budget": 4, "budget_duration": "30d", "rpm_limit": 2}
    )
    assert made["budget_id"] == "free" and made["max_budget"] == 4 and made["rpm_limit"] == 2
    assert made["budget_reset_at"]
    generated = api.ok("POST", "/budget/new", {"tpm_limit": 1000})
    assert len(generated["budget_id"]) == 36  # a UUID when none is given
    updated = api.ok("POST", "/budget/update", {"budget_id": "free", "max_budget": 5, "rpm_limit": None})
    assert updated["max_budget"] == 5 and updated["rpm_limit"] is None and updated["budget_duration"] == "30d"
    info = api.post("/budget/info", {"budgets": ["free"]})
    assert info.status_code == 200 and [b["budget_id"] for b in info.json()] == ["free"]
    assert {b["budget_id"] for b in api.get("/budget/list").json()} == {"free", generated["budget_id"]}
    settings = {s["field_name"]: s for s in api.get("/budget/settings", {"budget_id": "free"}).json()}
    assert settings["max_budget"]["field_value"] == 5 and settings["rpm_limit"]["field_value"] is None
    assert api.ok("POST", "/budget/delete", {"id": "free"})["budget_id"] == "free"
    assert api.post("/budget/info", {"budgets": ["free"]}).status_code == 404


def test_members_point_to_a_tier_and_a_tier_with_members_is_not_deleted(api: Api) -> None:
    api.ok("POST", "/budget/new", {"budget_id": "pro", "max_budget": 100})
    key = api.new_key(budget_id="pro")
    assert key["budget_id"] == "pro"
    team = api.ok("POST", "/team/new", {"team_id": "t-pro", "budget_id": "pro"})
    assert team["budget_id"] == "pro"
    customer = api.ok("POST", "/customer/new", {"user_id": "c-pro", "budget_id": "pro", "rpm_limit": 7})
    assert customer["budget_id"] == "pro" and customer["max_budget"] is None
    # the limits that apply: the tier's, and the customer's own where it sets one
    table = customer["litellm_budget_table"]
    assert table["budget_id"] == "pro" and table["max_budget"] == 100 and table["rpm_limit"] == 7
    refused = api.post("/budget/delete", {"id": "pro"})
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["param"] == "id"
    assert "'t-pro'" in error["message"] and "'c-pro'" in error["message"] and key["token_id"] in error["message"]
    assert api.post("/budget/info", {"budgets": ["pro"]}).status_code == 200  # nothing deleted
    api.ok("POST", "/key/update", {"key": key["key"], "budget_id": None})
    api.ok("POST", "/team/update", {"team_id": "t-pro", "budget_id": None})
    api.ok("POST", "/customer/update", {"user_id": "c-pro", "budget_id": None})
    assert api.post("/budget/delete", {"id": "pro"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/budget/new", {"budget_id": "b", "max_budget": -1}, "max_budget"),
        ("/budget/new", {"budget_id": "b", "budget_duration": "weekly"}, "budget_duration"),
        ("/budget/new", {"budget_id": "b", "rpm_limit": 1.5}, "rpm_limit"),
        ("/budget/new", {"budget_id": "", "max_budget": 1}, "budget_id"),
        ("/budget/new", {"max_bugdet": 1}, "max_bugdet"),
        ("/budget/update", {"max_budget": 1}, "budget_id"),
        ("/budget/info", {"budgets": []}, "budgets"),
        ("/budget/delete", {}, "id"),
        ("/key/generate", {"budget_id": "no-such-tier"}, "budget_id"),
        ("/team/new", {"budget_id": "no-such-tier"}, "budget_id"),
        ("/customer/new", {"user_id": "c", "budget_id": "no-such-tier"}, "budget_id"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(api: Api, path: str, body: dict[str, Any], param: str) -> None:
    response = api.post(path, body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_missing_tiers_and_duplicates(api: Api) -> None:
    api.ok("POST", "/budget/new", {"budget_id": "dup"})
    again = api.post("/budget/new", {"budget_id": "dup"})
    assert again.status_code == 400 and error_of(again)["param"] == "budget_id"
    assert api.post("/budget/update", {"budget_id": "ghost", "max_budget": 1}).status_code == 404
    assert api.post("/budget/delete", {"id": "ghost"}).status_code == 404
    assert api.post("/budget/info", {"budgets": ["dup", "ghost"]}).status_code == 404
    assert api.get("/budget/settings", {"budget_id": "ghost"}).status_code == 404
    missing = api.get("/budget/settings")
    assert missing.status_code == 400 and error_of(missing)["param"] == "budget_id"


def test_only_admins_manage_tiers_and_assign_them(api: Api) -> None:
    api.ok("POST", "/budget/new", {"budget_id": "gold"})
    api.ok("POST", "/user/new", {"user_id": "viewer", "user_role": "proxy_admin_viewer", "auto_create_key": False})
    viewer = api.new_key(user_id="viewer")["key"]
    api.ok("POST", "/team/new", {"team_id": "squad", "members_with_roles": [{"role": "admin", "user_id": "lead"}]})
    lead = api.new_key(user_id="lead", team_id="squad")["key"]
    plain = api.new_key()["key"]
    for key in (viewer, lead, plain):
        assert api.post("/budget/new", {"budget_id": "x"}, key=key).status_code == 403
        assert api.post("/budget/update", {"budget_id": "gold", "max_budget": 1}, key=key).status_code == 403
        assert api.post("/budget/delete", {"id": "gold"}, key=key).status_code == 403
    assert api.get("/budget/list", key=viewer).status_code == 200
    assert api.post("/budget/info", {"budgets": ["gold"]}, key=viewer).status_code == 200
    assert api.get("/budget/list", key=plain).status_code == 403
    # a team admin makes keys for its team, but does not put them in a tier
    refused = api.post("/key/generate", {"team_id": "squad", "budget_id": "gold"}, key=lead)
    assert refused.status_code == 403 and error_of(refused)["param"] == "budget_id"
    assert api.post("/key/generate", {"team_id": "squad"}, key=lead).status_code == 200


def test_tier_limits_need_an_enforcer(gateway_for: Any) -> None:
    _, api = gateway_for(enforcer=False)
    refused = api.post("/budget/new", {"budget_id": "b", "max_budget": 5})
    assert refused.status_code == 400 and "gateway-spend" in error_of(refused)["message"]
