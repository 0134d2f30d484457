"""``/organization/*`` on SQLite and PostgreSQL: what the routes answer (LiteLLM's shapes), teams in
an organization (its models bound theirs, a blocked organization stops their keys), members and
their roles, deleting an organization that still has teams or members, and the 400s naming the
field.  Who may call what: the README matrix (test_permissions.py).  The organization's budget
shared by its teams, enforced by gateway-spend across two processes:
plugins/governance/spend/tests/test_organization_budget_two_processes.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from vk_testkit import Api, error_of


def new_org(api: Api, org_id: str, **fields: Any) -> dict[str, Any]:
    return api.ok("POST", "/organization/new", {"organization_id": org_id, "organization_alias": org_id, **fields})


def test_organization_lifecycle_in_litellms_shapes(api: Api) -> None:
    made = new_org(api, "acme", models=["gpt-4o", "gpt-4o-mini"], max_budget=100, budget_duration="30d", rpm_limit=60)
    assert made["organization_id"] == "acme" and made["organization_alias"] == "acme"
    assert made["models"] == ["gpt-4o", "gpt-4o-mini"] and made["max_budget"] == 100 and made["spend"] == 0
    assert made["members"] == [] and made["teams"] == [] and made["blocked"] is False
    table = made["litellm_budget_table"]
    assert table["max_budget"] == 100 and table["rpm_limit"] == 60 and table["budget_reset_at"]
    generated = api.ok("POST", "/organization/new", {"organization_alias": "unnamed"})
    assert len(generated["organization_id"]) == 36  # a UUID when none is given

    team = api.ok("POST", "/team/new", {"team_id": "acme-eng", "organization_id": "acme", "models": ["gpt-4o"]})
    assert team["organization_id"] == "acme"
    added = api.ok(
        "POST",
        "/organization/member_add",
        {"organization_id": "acme", "member": [{"user_id": "boss", "role": "org_admin"}, {"user_email": "w@x.io"}]},
    )
    assert added["organization_id"] == "acme"
    assert {u["user_id"] for u in added["updated_users"]} >= {"boss"}
    roles = {m["user_id"]: m["user_role"] for m in added["updated_organization_memberships"]}
    assert roles["boss"] == "org_admin" and sorted(roles.values()) == ["internal_user", "org_admin"]
    memberships = api.ok("GET", "/user/info", {"user_id": "boss"})["user_info"]["organization_memberships"]
    assert [(m["organization_id"], m["user_role"]) for m in memberships] == [("acme", "org_admin")]

    info = api.ok("GET", "/organization/info", {"organization_id": "acme"})
    assert [t["team_id"] for t in info["teams"]] == ["acme-eng"]
    assert {m["user_id"]: m["user_role"] for m in info["members"]} == roles
    assert [o["organization_id"] for o in api.ok("POST", "/organization/info", {"organizations": ["acme"]})] == ["acme"]

    updated = api.ok("PATCH", "/organization/update", {"organization_id": "acme", "max_budget": 50, "rpm_limit": None})
    assert updated["max_budget"] == 50 and updated["rpm_limit"] is None and updated["budget_duration"] == "30d"
    changed = api.ok(
        "PATCH", "/organization/member_update", {"organization_id": "acme", "user_id": "boss", "role": "internal_user"}
    )
    assert changed["user_role"] == "internal_user" and changed["organization_id"] == "acme"
    listed = api.get("/organization/list").json()
    assert {o["organization_id"] for o in listed} == {"acme", generated["organization_id"]}
    assert [t["team_id"] for t in api.get("/team/list", {"organization_id": "acme"}).json()] == ["acme-eng"]

    removed = api.ok("DELETE", "/organization/member_delete", {"organization_id": "acme", "user_id": "boss"})
    assert removed["user_id"] == "boss"
    missing = api.send("DELETE", "/organization/member_delete", {"organization_id": "acme", "user_id": "boss"})
    assert missing.status_code == 404 and error_of(missing)["param"] == "user_id"


def test_an_organization_with_teams_or_members_is_not_deleted_and_the_refusal_names_them(api: Api) -> None:
    new_org(api, "busy")
    api.ok("POST", "/team/new", {"team_id": "busy-team", "organization_id": "busy"})
    api.ok("POST", "/organization/member_add", {"organization_id": "busy", "member": {"user_id": "busy-user"}})
    refused = api.send("DELETE", "/organization/delete", {"organization_ids": ["busy"]})
    assert refused.status_code == 400
    error = error_of(refused)
    assert error["param"] == "organization_ids"
    assert "'busy-team'" in error["message"] and "'busy-user'" in error["message"]
    assert api.get("/organization/info", {"organization_id": "busy"}).status_code == 200  # nothing deleted
    api.ok("POST", "/team/update", {"team_id": "busy-team", "organization_id": None})
    api.ok("DELETE", "/organization/member_delete", {"organization_id": "busy", "user_id": "busy-user"})
    deleted = api.send("DELETE", "/organization/delete", {"organization_ids": ["busy"]})
    assert deleted.status_code == 200 and [o["organization_id"] for o in deleted.json()] == ["busy"]
    assert api.get("/organization/info", {"organization_id": "busy"}).status_code == 404
    missing = api.send("DELETE", "/organization/delete", {"organization_ids": ["busy"]})
    assert missing.status_code == 404


def test_an_organizations_models_bound_its_teams_and_their_keys(api: Api) -> None:
    new_org(api, "narrow", models=["gpt-4o"])
    outside = api.post("/team/new", {"team_id": "wide", "organization_id": "narrow", "models": ["claude-sonnet"]})
    assert outside.status_code == 400 and error_of(outside)["param"] == "models"
    assert "'claude-sonnet'" in error_of(outside)["message"]
    # a team that lists no models gets its organization's
    api.ok("POST", "/team/new", {"team_id": "open", "organization_id": "narrow"})
    key = api.new_key(team_id="open")["key"]
    assert api.chat(key, "gpt-4o").status_code == 200
    assert api.chat(key, "claude-sonnet").status_code == 401
    # narrowing the organization under a team that uses a model is refused, naming the team
    api.ok("PATCH", "/organization/update", {"organization_id": "narrow", "models": ["gpt-4o", "gpt-4o-mini"]})
    api.ok("POST", "/team/update", {"team_id": "open", "models": ["gpt-4o-mini"]})
    narrowed = api.send("PATCH", "/organization/update", {"organization_id": "narrow", "models": ["gpt-4o"]})
    assert narrowed.status_code == 400 and "'open'" in error_of(narrowed)["message"]
    # a team moving into an organization must fit its models
    api.ok("POST", "/team/new", {"team_id": "outsider", "models": ["claude-sonnet"]})
    moved = api.post("/team/update", {"team_id": "outsider", "organization_id": "narrow"})
    assert moved.status_code == 400 and error_of(moved)["param"] == "models"


def test_a_blocked_organization_stops_the_keys_of_its_teams_at_once(api: Api) -> None:
    new_org(api, "frozen")
    api.ok("POST", "/team/new", {"team_id": "cold", "organization_id": "frozen"})
    key = api.new_key(team_id="cold")["key"]
    other = api.new_key()["key"]
    assert api.chat(key).status_code == 200
    api.ok("PATCH", "/organization/update", {"organization_id": "frozen", "blocked": True})
    refused = api.chat(key)
    assert refused.status_code == 401 and "'frozen'" in error_of(refused)["message"]
    assert api.chat(other).status_code == 200
    api.ok("PATCH", "/organization/update", {"organization_id": "frozen", "blocked": False})
    assert api.chat(key).status_code == 200


def test_an_org_admin_manages_its_organization_and_nothing_else(api: Api) -> None:
    new_org(api, "mine")
    new_org(api, "theirs")
    api.ok(
        "POST",
        "/organization/member_add",
        {"organization_id": "mine", "member": {"user_id": "oa", "role": "org_admin"}},
    )
    admin_key = api.new_key(user_id="oa")["key"]
    made = api.post("/team/new", {"team_id": "mine-1", "organization_id": "mine"}, key=admin_key)
    assert made.status_code == 200
    assert api.post("/team/new", {"team_id": "t-x", "organization_id": "theirs"}, key=admin_key).status_code == 403
    assert api.post("/team/new", {"team_id": "t-y"}, key=admin_key).status_code == 403  # a team of no organization
    # it takes no team out of its organization, and gives none to another
    out = api.post("/team/update", {"team_id": "mine-1", "organization_id": None}, key=admin_key)
    assert out.status_code == 403
    # it administers the teams of its organization: members, keys
    joined = api.post(
        "/team/member_add", {"team_id": "mine-1", "member": {"user_id": "dev", "role": "admin"}}, key=admin_key
    )
    assert joined.status_code == 200
    assert api.post("/key/generate", {"team_id": "mine-1", "user_id": "dev"}, key=admin_key).status_code == 200
    # it makes no org admins and does not touch another org admin
    api.ok(
        "POST",
        "/organization/member_add",
        {"organization_id": "mine", "member": {"user_id": "oa2", "role": "org_admin"}},
    )
    promote = api.post(
        "/organization/member_add",
        {"organization_id": "mine", "member": {"user_id": "new", "role": "org_admin"}},
        key=admin_key,
    )
    assert promote.status_code == 403
    demote = api.send(
        "PATCH",
        "/organization/member_update",
        {"organization_id": "mine", "user_id": "oa2", "role": "internal_user"},
        key=admin_key,
    )
    assert demote.status_code == 403
    # nor the budget of its organization
    budget = api.send("PATCH", "/organization/update", {"organization_id": "mine", "max_budget": 10**6}, key=admin_key)
    assert budget.status_code == 403
    assert [o["organization_id"] for o in api.get("/organization/list", key=admin_key).json()] == ["mine"]


def test_a_team_admin_cannot_reach_an_org_admins_key(api: Api) -> None:
    """A key has its owner's powers: an org admin who is a plain member of a team is not a plain
    member for that team's admin (its key would administer the whole organization)."""
    new_org(api, "o")
    api.ok("POST", "/team/new", {"team_id": "t", "organization_id": "o"})
    api.ok(
        "POST",
        "/team/member_add",
        {"team_id": "t", "member": [{"user_id": "lead", "role": "admin"}, {"user_id": "oa"}]},
    )
    api.ok(
        "POST", "/organization/member_add", {"organization_id": "o", "member": {"user_id": "oa", "role": "org_admin"}}
    )
    lead_key = api.new_key(user_id="lead", team_id="t")["key"]
    org_admin_key = api.new_key(user_id="oa", team_id="t")["token_id"]
    assert api.post("/key/regenerate", {"key": org_admin_key}, key=lead_key).status_code == 403
    assert api.post("/key/generate", {"team_id": "t", "user_id": "oa"}, key=lead_key).status_code == 403
    assert api.post("/team/member_delete", {"team_id": "t", "user_id": "oa"}, key=lead_key).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/organization/new", {"organization_id": "o"}, "organization_alias"),
        ("POST", "/organization/new", {"organization_alias": "o", "max_budget": -1}, "max_budget"),
        ("POST", "/organization/new", {"organization_alias": "o", "budget_duration": "weekly"}, "budget_duration"),
        ("POST", "/organization/new", {"organization_alias": "o", "organisation_alias": "x"}, "organisation_alias"),
        ("POST", "/organization/new", {"organization_alias": "o", "budget_id": "no-such-tier"}, "budget_id"),
        (
            "POST",
            "/organization/new",
            {"organization_alias": "o", "model_max_budget": {"gpt-4o": 1}},
            "model_max_budget",
        ),
        ("PATCH", "/organization/update", {"max_budget": 5}, "organization_id"),
        (
            "PATCH",
            "/organization/update",
            {"organization_id": "known", "organization_alias": None},
            "organization_alias",
        ),
        ("DELETE", "/organization/delete", {"organization_ids": []}, "organization_ids"),
        (
            "POST",
            "/organization/member_add",
            {"organization_id": "known", "member": {"user_id": "u", "role": "boss"}},
            "member.role",
        ),
        (
            "POST",
            "/organization/member_add",
            {"organization_id": "known", "member": {"role": "internal_user"}},
            "member",
        ),
        (
            "POST",
            "/organization/member_add",
            {"organization_id": "known", "member": {"user_id": "u"}, "max_budget_in_organization": 5},
            "max_budget_in_organization",
        ),
        ("PATCH", "/organization/member_update", {"organization_id": "known", "role": "internal_user"}, "user_id"),
        ("DELETE", "/organization/member_delete", {"organization_id": "known"}, "user_id"),
        ("POST", "/team/new", {"team_id": "t", "organization_id": "no-such-org"}, "organization_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api: Api, method: str, path: str, body: dict[str, Any], param: str
) -> None:
    new_org(api, "known")
    response = api.send(method, path, body)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["param"] == param, error
    assert error["type"] and error["message"]


def test_a_member_added_twice_is_a_400_and_an_unknown_organization_a_404(api: Api) -> None:
    new_org(api, "o")
    api.ok("POST", "/organization/member_add", {"organization_id": "o", "member": {"user_id": "u"}})
    again = api.post("/organization/member_add", {"organization_id": "o", "member": {"user_id": "u"}})
    assert again.status_code == 400 and "member_update" in error_of(again)["message"]
    for method, path, body in (
        ("GET", "/organization/info", {"organization_id": "nope"}),
        ("POST", "/organization/member_add", {"organization_id": "nope", "member": {"user_id": "u"}}),
        ("PATCH", "/organization/update", {"organization_id": "nope", "max_budget": 1}),
    ):
        response = api.get(path, body) if method == "GET" else api.send(method, path, body)
        assert response.status_code == 404 and error_of(response)["param"] == "organization_id", (path, response.text)


def test_a_budget_tier_with_an_organization_in_it_is_not_deleted(api: Api) -> None:
    api.ok("POST", "/budget/new", {"budget_id": "gold", "max_budget": 10})
    made = new_org(api, "tiered", budget_id="gold")
    assert made["budget_id"] == "gold" and made["litellm_budget_table"]["max_budget"] == 10
    refused = api.post("/budget/delete", {"id": "gold"})
    assert refused.status_code == 400 and "'tiered'" in error_of(refused)["message"]
