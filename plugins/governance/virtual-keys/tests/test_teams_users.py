"""``/team/*`` and ``/user/*``: what they return, and what happens to keys when teams and users go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vk_testkit import Api, error_of


def test_team_lifecycle(api: Api) -> None:
    team = api.ok(
        "POST",
        "/team/new",
        {
            "team_alias": "Research",
            "models": ["gpt-4o"],
            "max_budget": 50,
            "budget_duration": "1mo",
            "tpm_limit": 10_000,
            "metadata": {"cost_center": 7},
            "members_with_roles": [
                {"role": "admin", "user_id": "lead"},
                {"role": "user", "user_email": "dev@example.com"},
            ],
        },
    )
    team_id = team["team_id"]
    assert len(team_id) == 36 and team["team_alias"] == "Research" and team["max_budget"] == 50
    today = datetime.now(UTC)  # a 1mo budget is a calendar month: it resets on the 1st, midnight UTC
    assert (
        team["budget_reset_at"]
        == datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=UTC).isoformat()
    )
    assert {
        (m["user_id"] if m["role"] == "admin" else m["user_email"], m["role"]) for m in team["members_with_roles"]
    } == {("lead", "admin"), ("dev@example.com", "user")}
    key = api.new_key(team_id=team_id)["key"]
    info = api.ok("GET", "/team/info", {"team_id": team_id})
    assert info["team_info"]["tpm_limit"] == 10_000 and info["team_info"]["metadata"] == {"cost_center": 7}
    assert len(info["keys"]) == 1 and {m["role"] for m in info["team_memberships"]} == {"admin", "user"}
    updated = api.ok("POST", "/team/update", {"team_id": team_id, "max_budget": 80})
    assert updated["max_budget"] == 80 and updated["team_alias"] == "Research" and updated["tpm_limit"] == 10_000
    assert team_id in [t["team_id"] for t in api.ok("GET", "/team/list")]
    assert [t["team_id"] for t in api.ok("GET", "/team/list", {"user_id": "lead"})] == [team_id]
    assert api.chat(key).status_code == 200
    deleted = api.ok("POST", "/team/delete", {"team_ids": [team_id]})
    assert deleted == {"deleted_teams": [team_id], "deleted_keys": 1}
    assert api.chat(key).status_code == 401  # keys of a deleted team are refused at once
    assert api.get("/team/info", {"team_id": team_id}).status_code == 404


def test_blocking_a_team_refuses_its_keys(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "paused"})
    key = api.new_key(team_id="paused")["key"]
    api.ok("POST", "/team/update", {"team_id": "paused", "blocked": True})
    refused = api.chat(key)
    assert refused.status_code == 401 and "team 'paused'" in error_of(refused)["message"]
    api.ok("POST", "/team/update", {"team_id": "paused", "blocked": False})
    assert api.chat(key).status_code == 200


def test_team_model_change_applies_to_existing_keys(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "shifting"})
    key = api.new_key(team_id="shifting")["key"]
    assert api.chat(key, "claude-sonnet").status_code == 200
    api.ok("POST", "/team/update", {"team_id": "shifting", "models": ["gpt-4o"]})
    assert api.chat(key, "claude-sonnet").status_code == 401
    assert api.chat(key, "gpt-4o").status_code == 200


def test_removing_a_member_revokes_their_team_keys(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "squad", "members_with_roles": [{"user_id": "carol"}, {"user_id": "dan"}]})
    carol = api.new_key(team_id="squad", user_id="carol")["key"]
    carol_personal = api.new_key(user_id="carol")["key"]
    dan = api.new_key(team_id="squad", user_id="dan")["key"]
    left = api.ok("POST", "/team/member_delete", {"team_id": "squad", "user_id": "carol"})
    assert left["deleted_keys"] == 1 and [m["user_id"] for m in left["members_with_roles"]] == ["dan"]
    assert api.chat(carol).status_code == 401
    assert api.chat(carol_personal).status_code == 200 and api.chat(dan).status_code == 200


def test_team_admin_manages_only_its_team(api: Api) -> None:
    api.ok(
        "POST",
        "/team/new",
        {"team_id": "mine", "members_with_roles": [{"role": "admin", "user_id": "tl"}, {"user_id": "member"}]},
    )
    api.ok("POST", "/team/new", {"team_id": "theirs"})
    admin_key = api.new_key(team_id="mine", user_id="tl")["key"]
    api.new_key(team_id="theirs")
    made = api.ok("POST", "/key/generate", {"team_id": "mine", "user_id": "member"}, key=admin_key)
    assert made["user_id"] == "member"
    own = api.ok("POST", "/key/generate", {"team_id": "mine"}, key=admin_key)
    assert own["user_id"] == "tl"
    outsider = api.post("/key/generate", {"team_id": "mine", "user_id": "stranger"}, key=admin_key)
    assert outsider.status_code == 403 and "not a member" in error_of(outsider)["message"]
    listed = api.ok("GET", "/key/list", {"return_full_object": "true"}, key=admin_key)
    assert {k["team_id"] for k in listed["keys"]} == {"mine"} and listed["total_count"] == 3
    assert [t["team_id"] for t in api.ok("GET", "/team/list", key=admin_key)] == ["mine"]
    promote = api.post(
        "/team/member_add", {"team_id": "mine", "member": {"role": "admin", "user_id": "member"}}, key=admin_key
    )
    assert promote.status_code == 403
    moved = api.post("/key/update", {"key": made["key"], "team_id": "theirs"}, key=admin_key)
    assert moved.status_code == 403


def test_user_lifecycle(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "ops"})
    user = api.ok(
        "POST",
        "/user/new",
        {
            "user_id": "erin",
            "user_email": "erin@example.com",
            "user_role": "internal_user",
            "max_budget": 20,
            "teams": ["ops"],
            "key_alias": "erin-laptop",
            "duration": "30d",
        },
    )
    assert user["user_id"] == "erin" and user["key"].startswith("sk-") and user["teams"] == ["ops"]
    second = api.new_key(user_id="erin")["key"]
    info = api.ok("GET", "/user/info", {"user_id": "erin"})
    assert info["user_info"]["max_budget"] == 20 and info["user_info"]["user_email"] == "erin@example.com"
    assert {k["key_alias"] for k in info["keys"]} == {"erin-laptop", None} and [
        t["team_id"] for t in info["teams"]
    ] == ["ops"]
    assert api.ok("GET", "/user/info", key=user["key"])["user_id"] == "erin"  # a key reads its own user
    updated = api.ok("POST", "/user/update", {"user_email": "erin@example.com", "user_alias": "Erin"})
    assert updated["user_alias"] == "Erin" and updated["max_budget"] == 20
    listed = api.ok("GET", "/user/list", {"page_size": 10})
    assert "erin" in [u["user_id"] for u in listed["users"]] and listed["page"] == 1
    assert [u["user_id"] for u in api.ok("GET", "/user/list", {"user_ids": "erin"})["users"]] == ["erin"]
    assert api.chat(user["key"]).status_code == 200 and api.chat(second).status_code == 200
    deleted = api.ok("POST", "/user/delete", {"user_ids": ["erin"]})
    assert deleted == {"deleted_users": ["erin"], "deleted_keys": 2}
    assert api.chat(user["key"]).status_code == 401 and api.chat(second).status_code == 401


def test_promoting_a_user_to_admin_takes_effect_on_their_key(api: Api) -> None:
    key = api.ok("POST", "/user/new", {"user_id": "frank"})["key"]
    assert api.get("/user/list", key=key).status_code == 403
    api.ok("POST", "/user/update", {"user_id": "frank", "user_role": "proxy_admin"})
    assert api.get("/user/list", key=key).status_code == 200
    made = api.ok("POST", "/key/generate", {"user_id": "grace"}, key=key)
    assert made["created_by"] == "frank"


def test_user_without_auto_key(api: Api) -> None:
    user = api.ok("POST", "/user/new", {"user_id": "no-key", "auto_create_key": False})
    assert "key" not in user
    assert api.ok("GET", "/user/info", {"user_id": "no-key"})["keys"] == []


def test_generated_ids_and_created_by(gateway_for: Any) -> None:
    _, api = gateway_for()
    made = api.new_key(user_id="x")
    assert made["created_by"] == "litellm_proxy_master_key" and made["created_at"] and made["expires"] is None
