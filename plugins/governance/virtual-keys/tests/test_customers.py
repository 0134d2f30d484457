"""``/customer/*`` and ``/end_user/*``: customers (end users named by a request's ``user``), on
SQLite and PostgreSQL: what the routes answer, the 400s naming the field, who may call them, and
what a customer's blocked flag and models do to its requests (budgets: tests/test_customers_flow.py,
with gateway-spend)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from vk_testkit import Api, error_of


def chat_as(api: Api, key: str, user: str, model: str = "gpt-4o") -> httpx.Response:
    return api.http.post(
        "/v1/chat/completions",
        json={"model": model, "user": user, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
    )


def test_customer_lifecycle(api: Api) -> None:
    made = api.ok(
        "POST",
        "/customer/new",
        {"user_id": "acme-42", "alias": "Acme", "max_budget": 12.5, "budget_duration": "1mo", "rpm_limit": 30},
    )
    assert made["user_id"] == "acme-42" and made["alias"] == "Acme" and made["blocked"] is False
    assert made["spend"] == 0 and made["max_budget"] == 12.5
    table = made["litellm_budget_table"]
    assert table["max_budget"] == 12.5 and table["rpm_limit"] == 30 and table["budget_reset_at"]
    info = api.ok("GET", "/customer/info", {"end_user_id": "acme-42"})
    assert info["alias"] == "Acme" and info["budget_duration"] == "1mo"
    updated = api.ok("POST", "/customer/update", {"user_id": "acme-42", "max_budget": None, "models": ["gpt-4o"]})
    assert updated["max_budget"] is None and updated["rpm_limit"] == 30 and updated["models"] == ["gpt-4o"]
    assert api.ok("POST", "/customer/block", {"user_ids": ["acme-42"]}) == {"blocked_users": ["acme-42"]}
    assert api.ok("GET", "/end_user/info", {"end_user_id": "acme-42"})["blocked"] is True
    assert api.ok("POST", "/end_user/unblock", {"user_ids": ["acme-42"]}) == {"unblocked_users": ["acme-42"]}
    assert [c["user_id"] for c in api.get("/customer/list").json()] == ["acme-42"]
    assert api.ok("POST", "/customer/delete", {"user_ids": ["acme-42"]}) == {"deleted_customers": ["acme-42"]}
    assert api.get("/customer/info", {"end_user_id": "acme-42"}).status_code == 404
    assert api.get("/end_user/list").json() == []


def test_a_blocked_customer_is_refused_and_unblocking_lets_it_in(api: Api) -> None:
    key = api.new_key()["key"]
    api.ok("POST", "/customer/new", {"user_id": "shop-1"})
    assert chat_as(api, key, "shop-1").status_code == 200
    api.ok("POST", "/customer/block", {"user_ids": ["shop-1"]})
    refused = chat_as(api, key, "shop-1")
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["param"] == "user" and "'shop-1' (the request's user) is blocked" in error["message"]
    assert chat_as(api, key, "someone-else").status_code == 200  # other end users are not affected
    api.ok("POST", "/customer/unblock", {"user_ids": ["shop-1"]})
    assert chat_as(api, key, "shop-1").status_code == 200


def test_a_customer_uses_only_its_models(api: Api) -> None:
    key = api.new_key()["key"]
    api.ok("POST", "/customer/new", {"user_id": "shop-2", "models": ["gpt-4o-mini"], "default_model": "gpt-4o-mini"})
    assert chat_as(api, key, "shop-2", "gpt-4o-mini").status_code == 200
    refused = chat_as(api, key, "shop-2", "gpt-4o")
    assert refused.status_code == 401 and error_of(refused)["param"] == "model"
    assert "'shop-2'" in error_of(refused)["message"]
    # an access group names its models
    api.ok("POST", "/customer/update", {"user_id": "shop-2", "models": ["chat-models"], "default_model": None})
    assert chat_as(api, key, "shop-2", "gpt-4o").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/customer/new", {"alias": "x"}, "user_id"),
        ("/customer/new", {"user_id": ""}, "user_id"),
        ("/customer/new", {"user_id": "c", "max_budget": -1}, "max_budget"),
        ("/customer/new", {"user_id": "c", "budget_duration": "often"}, "budget_duration"),
        ("/customer/new", {"user_id": "c", "rpm_limit": "many"}, "rpm_limit"),
        ("/customer/new", {"user_id": "c", "max_budjet": 1}, "max_budjet"),
        ("/customer/new", {"user_id": "c", "allowed_model_region": "eu"}, "allowed_model_region"),
        ("/customer/new", {"user_id": "c", "models": ["gpt-4o"], "default_model": "claude-sonnet"}, "default_model"),
        ("/customer/new", {"user_id": "c", "blocked": "maybe"}, "blocked"),
        ("/customer/update", {"max_budget": 1}, "user_id"),
        ("/customer/delete", {"user_ids": []}, "user_ids"),
        ("/customer/block", {"user_ids": "c"}, "user_ids"),
        ("/customer/unblock", {}, "user_ids"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(api: Api, path: str, body: dict[str, Any], param: str) -> None:
    response = api.post(path, body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_missing_and_duplicate_customers(api: Api) -> None:
    api.ok("POST", "/customer/new", {"user_id": "dup"})
    again = api.post("/customer/new", {"user_id": "dup"})
    assert again.status_code == 400 and error_of(again)["param"] == "user_id"
    # (/customer/block creates an end user it does not know, as LiteLLM's upsert: test_end_user_default_budget)
    for path in ("/customer/update", "/customer/delete", "/customer/unblock"):
        body = {"user_id": "ghost"} if path == "/customer/update" else {"user_ids": ["dup", "ghost"]}
        assert api.post(path, body).status_code == 404, path
    assert api.ok("GET", "/customer/info", {"end_user_id": "dup"})["blocked"] is False  # nothing half-done
    missing = api.get("/customer/info")
    assert missing.status_code == 400 and error_of(missing)["param"] == "end_user_id"


def test_only_admins_manage_customers_and_viewers_read_them(api: Api) -> None:
    api.ok("POST", "/user/new", {"user_id": "viewer", "user_role": "proxy_admin_viewer", "auto_create_key": False})
    viewer = api.new_key(user_id="viewer")["key"]
    plain = api.new_key()["key"]
    api.ok("POST", "/customer/new", {"user_id": "c1"})
    for key in (viewer, plain):
        for path, body in (("/customer/new", {"user_id": "c2"}), ("/customer/block", {"user_ids": ["c1"]})):
            assert api.post(path, body, key=key).status_code == 403, (key, path)
    assert api.get("/customer/info", {"end_user_id": "c1"}, key=viewer).status_code == 200
    assert api.get("/customer/list", key=viewer).status_code == 200
    assert api.get("/customer/info", {"end_user_id": "c1"}, key=plain).status_code == 403
    assert api.get("/customer/list", key=plain).status_code == 403
    assert api.get("/customer/list", key="").status_code == 401


def test_budgets_need_an_enforcer(gateway_for: Any) -> None:
    _, api = gateway_for(enforcer=False)
    refused = api.post("/customer/new", {"user_id": "c", "max_budget": 5})
    assert refused.status_code == 400 and "gateway-spend" in error_of(refused)["message"]
    assert api.ok("POST", "/customer/new", {"user_id": "c"})["max_budget"] is None
