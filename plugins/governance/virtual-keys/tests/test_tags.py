"""``/tag/*``: tags with budgets (LiteLLM's docs/proxy/tag_budgets), on SQLite and PostgreSQL: what
the routes answer, the 400s naming the field, who may call them, and the request-time index every
worker keeps (enforcement with gateway-spend: tests/test_tag_budgets_flow.py and spend's
test_tag_budget_two_processes.py)."""

from __future__ import annotations

from typing import Any

import pytest
from vk_testkit import Api, error_of


def test_tag_lifecycle(api: Api) -> None:
    made = api.ok(
        "POST",
        "/tag/new",
        {
            "name": "engineering",
            "description": "Engineering department cost center",
            "max_budget": 500.0,
            "budget_duration": "30d",
        },
    )
    assert made["name"] == "engineering" and made["description"] == "Engineering department cost center"
    assert made["max_budget"] == 500 and made["budget_duration"] == "30d" and made["budget_reset_at"]
    assert made["spend"] == 0 and made["created_at"] and made["models"] == []
    api.ok("POST", "/tag/new", {"name": "marketing", "max_budget": 300, "rpm_limit": 10})
    info = api.ok("POST", "/tag/info", {"names": ["engineering", "marketing"]})
    assert set(info) == {"engineering", "marketing"}
    assert info["marketing"]["rpm_limit"] == 10 and info["engineering"]["spend"] == 0
    updated = api.ok("POST", "/tag/update", {"name": "engineering", "max_budget": 750.0, "description": None})
    assert updated["max_budget"] == 750 and updated["budget_duration"] == "30d" and updated["description"] is None
    assert [t["name"] for t in api.get("/tag/list").json()] == ["engineering", "marketing"]
    deleted = api.ok("POST", "/tag/delete", {"name": "engineering"})
    assert deleted["name"] == "engineering"
    assert api.post("/tag/info", {"names": ["engineering"]}).status_code == 404
    assert [t["name"] for t in api.get("/tag/list").json()] == ["marketing"]


def test_a_tag_in_a_budget_tier_gets_the_tiers_limits(api: Api) -> None:
    api.ok("POST", "/budget/new", {"budget_id": "dept", "max_budget": 40, "budget_duration": "1mo"})
    made = api.ok("POST", "/tag/new", {"name": "sales", "budget_id": "dept", "rpm_limit": 5})
    assert made["budget_id"] == "dept" and made["max_budget"] is None
    table = made["litellm_budget_table"]
    assert table["budget_id"] == "dept" and table["max_budget"] == 40 and table["rpm_limit"] == 5
    # the tier now has a member: it is not deleted under the tag
    refused = api.post("/budget/delete", {"id": "dept"})
    assert refused.status_code == 400 and "tags 'sales'" in error_of(refused)["message"]
    api.ok("POST", "/tag/update", {"name": "sales", "budget_id": None})
    assert api.post("/budget/delete", {"id": "dept"}).status_code == 200


def test_every_worker_knows_the_tags_with_a_budget(gateway_for: Any) -> None:
    running, api = gateway_for()
    state = running.gateway.state["virtual_keys"]
    api.ok("POST", "/tag/new", {"name": "paid", "max_budget": 2})
    api.ok("POST", "/tag/new", {"name": "label-only", "description": "no limits: only a name"})
    scopes = state.tags.scopes_for(["paid", "label-only", "unknown"])
    assert [(s.scope, s.id, str(s.max_budget)) for s in scopes] == [("tag", "paid", "2")]
    api.ok("POST", "/tag/update", {"name": "paid", "max_budget": 3})
    assert str(state.tags.scopes_for(["paid"])[0].max_budget) == "3"
    api.ok("POST", "/tag/delete", {"name": "paid"})
    assert state.tags.scopes_for(["paid"]) is None


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/tag/new", {"name": "t", "max_budget": -1}, "max_budget"),
        ("/tag/new", {"name": "t", "budget_duration": "monthly"}, "budget_duration"),
        ("/tag/new", {"name": "t", "rpm_limit": 2.5}, "rpm_limit"),
        ("/tag/new", {"name": ""}, "name"),
        ("/tag/new", {"max_budget": 1}, "name"),
        ("/tag/new", {"name": "t", "max_bugdet": 1}, "max_bugdet"),
        ("/tag/new", {"name": "t", "models": ["gpt-4o"]}, "models"),
        ("/tag/new", {"name": "t", "model_info": {"id-1": "gpt-4o"}}, "model_info"),
        ("/tag/new", {"name": "t", "budget_id": "no-such-tier"}, "budget_id"),
        ("/tag/new", {"name": "t", "description": "x" * 10_001}, "description"),
        ("/tag/update", {"max_budget": 1}, "name"),
        ("/tag/info", {"names": []}, "names"),
        ("/tag/info", {"names": "engineering"}, "names"),
        ("/tag/delete", {}, "name"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(api: Api, path: str, body: dict[str, Any], param: str) -> None:
    response = api.post(path, body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_missing_tags_and_duplicates(api: Api) -> None:
    api.ok("POST", "/tag/new", {"name": "dup"})
    again = api.post("/tag/new", {"name": "dup"})
    assert again.status_code == 400 and error_of(again)["param"] == "name"
    assert "exists already" in error_of(again)["message"]
    assert api.post("/tag/update", {"name": "ghost", "max_budget": 1}).status_code == 404
    assert api.post("/tag/delete", {"name": "ghost"}).status_code == 404
    missing = api.post("/tag/info", {"names": ["dup", "ghost"]})
    assert missing.status_code == 404 and "'ghost'" in error_of(missing)["message"]


def test_only_admins_manage_tags(api: Api) -> None:
    api.ok("POST", "/tag/new", {"name": "gold"})
    api.ok("POST", "/user/new", {"user_id": "viewer", "user_role": "proxy_admin_viewer", "auto_create_key": False})
    viewer = api.new_key(user_id="viewer")["key"]
    api.ok("POST", "/team/new", {"team_id": "squad", "members_with_roles": [{"role": "admin", "user_id": "lead"}]})
    lead = api.new_key(user_id="lead", team_id="squad")["key"]
    member = api.new_key(user_id="someone")["key"]
    plain = api.new_key()["key"]
    for key in (viewer, lead, member, plain):
        assert api.post("/tag/new", {"name": "x"}, key=key).status_code == 403
        assert api.post("/tag/update", {"name": "gold", "max_budget": 1}, key=key).status_code == 403
        assert api.post("/tag/delete", {"name": "gold"}, key=key).status_code == 403
    assert api.get("/tag/list", key=viewer).status_code == 200
    assert api.post("/tag/info", {"names": ["gold"]}, key=viewer).status_code == 200
    for key in (lead, member, plain):
        assert api.get("/tag/list", key=key).status_code == 403
        assert api.post("/tag/info", {"names": ["gold"]}, key=key).status_code == 403
    assert api.get("/tag/list", key="").status_code == 401
    assert [t["name"] for t in api.get("/tag/list").json()] == ["gold"]  # nothing changed


def test_tag_limits_need_an_enforcer(gateway_for: Any) -> None:
    _, api = gateway_for(enforcer=False)
    refused = api.post("/tag/new", {"name": "b", "max_budget": 5})
    assert refused.status_code == 400 and "gateway-spend" in error_of(refused)["message"]
    assert api.ok("POST", "/tag/new", {"name": "b", "description": "a name only"})["name"] == "b"


def test_a_keys_tags_are_stored_in_its_metadata_as_litellm_stores_them(api: Api) -> None:
    made = api.new_key(tags=["engineering", "project-alpha"], metadata={"owner": "ops"})
    assert made["tags"] == ["engineering", "project-alpha"]
    assert made["metadata"] == {"owner": "ops", "tags": ["engineering", "project-alpha"]}
    info = api.ok("GET", "/key/info", {"key": made["key"]})["info"]
    assert info["tags"] == ["engineering", "project-alpha"]
    # tags alone change only the tags; metadata alone keeps what it is given
    updated = api.ok("POST", "/key/update", {"key": made["key"], "tags": ["marketing"]})
    assert updated["metadata"] == {"owner": "ops", "tags": ["marketing"]}
    cleared = api.ok("POST", "/key/update", {"key": made["key"], "tags": None})
    assert cleared["metadata"] == {"owner": "ops"} and cleared["tags"] is None
    direct = api.new_key(metadata={"tags": ["paid"]})
    assert direct["tags"] == ["paid"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tags": "engineering"}, "tags"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": ["x"] * 65}, "tags"),
        ({"metadata": {"tags": "engineering"}}, "metadata"),
        ({"metadata": {"tags": [1]}}, "metadata"),
    ],
)
def test_key_tags_that_are_not_a_list_of_names_are_400s(api: Api, body: dict[str, Any], param: str) -> None:
    response = api.post("/key/generate", body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_tags_on_teams_users_and_customers_are_accepted_only_empty(api: Api) -> None:
    assert api.post("/team/new", {"team_id": "t-empty-tags", "tags": []}).status_code == 200
    refused = api.post("/team/new", {"team_id": "t-tags", "tags": ["paid"]})
    assert refused.status_code == 400 and error_of(refused)["param"] == "tags"
    assert "does not support" in error_of(refused)["message"]
    assert api.post("/customer/new", {"user_id": "c-tags", "tags": ["paid"]}).status_code == 400
