"""What LiteLLM accepts, accepted here with its meaning: model names the config does not list,
wildcards, team members' statuses, members reading their team, /user/new's teams, the built-in
``litellm-proxy-budget`` user."""

from __future__ import annotations

from typing import Any

from vk_testkit import Api, error_of


def _models(api: Api, key: str, **flags: str) -> list[str]:
    return [m["id"] for m in api.ok("GET", "/v1/models", flags or None, key=key)["data"]]


def test_models_the_config_does_not_list_are_stored_and_honoured(api: Api) -> None:
    future = api.new_key(models=["gpt-5-preview"])
    assert future["models"] == ["gpt-5-preview"]  # stored as sent, as LiteLLM stores it
    assert api.chat(future["key"], "gpt-4o").status_code == 401  # it grants nothing that exists today
    assert _models(api, future["key"]) == []
    wildcard = api.new_key(models=["gpt-4o*"])
    assert api.chat(wildcard["key"], "gpt-4o").status_code == 200
    assert api.chat(wildcard["key"], "gpt-4o-mini").status_code == 200
    assert api.chat(wildcard["key"], "claude-sonnet").status_code == 401
    assert _models(api, wildcard["key"]) == ["gpt-4o", "gpt-4o-mini"]
    group = api.new_key(models=["chat-models"])  # model_info.access_groups
    assert _models(api, group["key"]) == ["claude-sonnet", "gpt-4o", "gpt-4o-mini"]
    assert _models(api, group["key"], include_model_access_groups="true")[-1] == "chat-models"
    assert _models(api, group["key"], only_model_access_groups="true") == ["chat-models"]
    assert _models(api, wildcard["key"], only_model_access_groups="true") == []  # not every model of the group


def test_a_team_bounds_its_keys_models_by_name_wildcard_and_group(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "gpts", "models": ["gpt-4o*", "o9-future"]})
    assert api.new_key(team_id="gpts", models=["gpt-4o-mini"])["models"] == ["gpt-4o-mini"]
    assert api.new_key(team_id="gpts", models=["o9-future"])["models"] == ["o9-future"]
    outside = api.post("/key/generate", {"team_id": "gpts", "models": ["claude-sonnet"]})
    assert outside.status_code == 400 and error_of(outside)["param"] == "models"
    wider = api.post("/key/generate", {"team_id": "gpts", "models": ["chat-models"]})  # has claude-sonnet
    assert wider.status_code == 400 and "'chat-models'" in error_of(wider)["message"]
    key = api.new_key(team_id="gpts")["key"]  # no list of its own: the team's
    assert api.chat(key, "gpt-4o").status_code == 200 and api.chat(key, "claude-sonnet").status_code == 401


def test_member_add_delete_update_answer_with_litellms_statuses(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "t", "members_with_roles": [{"user_id": "ann"}]})
    added = api.ok("POST", "/team/member_add", {"team_id": "t", "member": [{"user_id": "ann"}, {"user_id": "bob"}]})
    assert [u["user_id"] for u in added["updated_users"]] == ["bob"]  # ann was a member: left as she was
    assert added["updated_team_memberships"] == [{"team_id": "t", "user_id": "bob", "role": "user", "budget_id": None}]
    again = api.post("/team/member_add", {"team_id": "t", "member": {"user_id": "bob", "role": "admin"}})
    assert again.status_code == 400 and error_of(again)["type"] == "team_member_already_in_team"
    missing = api.post("/team/member_add", {"team_id": "nope", "member": {"user_id": "bob"}})
    assert missing.status_code == 404 and error_of(missing)["param"] == "team_id"

    bob_key = api.new_key(team_id="t", user_id="bob")["key"]
    assert api.get("/key/list", key=bob_key).status_code == 403
    promoted = api.ok("POST", "/team/member_update", {"team_id": "t", "user_id": "bob", "role": "admin"})
    assert promoted == {
        "team_id": "t",
        "user_id": "bob",
        "user_email": None,
        "role": "admin",
        "max_budget_in_team": None,
    }
    assert api.get("/key/list", key=bob_key).status_code == 200  # his key administers the team now
    api.ok("POST", "/team/member_update", {"team_id": "t", "user_id": "bob", "role": "user"})
    assert api.get("/key/list", key=bob_key).status_code == 403

    not_member = api.post("/team/member_delete", {"team_id": "t", "user_id": "carl"})
    assert not_member.status_code == 400 and error_of(not_member)["param"] == "user_id"
    no_team = api.post("/team/member_delete", {"team_id": "nope", "user_id": "bob"})
    assert no_team.status_code == 400 and error_of(no_team)["param"] == "team_id"
    left = api.ok("POST", "/team/member_delete", {"team_id": "t", "user_id": "bob"})
    assert [m["user_id"] for m in left["members_with_roles"]] == ["ann"] and left["deleted_keys"] == 1


def test_a_members_key_reads_its_own_team(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "mine", "max_budget": 9, "members_with_roles": [{"user_id": "m1"}]})
    api.ok("POST", "/team/member_add", {"team_id": "mine", "member": {"user_id": "m2"}})
    api.ok("POST", "/team/new", {"team_id": "theirs"})
    own = api.new_key(team_id="mine", user_id="m1")
    other = api.new_key(team_id="mine", user_id="m2")
    personal = api.new_key(user_id="m1")["key"]  # m1's key outside the team: m1 is a member, it reads too
    for key in (own["key"], personal):
        seen = api.ok("GET", "/team/info", {"team_id": "mine"}, key=key)
        assert seen["team_info"]["max_budget"] == 9 and {m["user_id"] for m in seen["team_memberships"]} == {
            "m1",
            "m2",
        }
        # a member sees its own keys in the team, not the other members' keys
        assert [k["token_id"] for k in seen["keys"]] == [own["token_id"]]
    assert other["token_id"] in [k["token_id"] for k in api.ok("GET", "/team/info", {"team_id": "mine"})["keys"]]
    # a team key without a user reads its team (LiteLLM: "allow team keys to check their info")
    service = api.new_key(team_id="theirs")["key"]
    assert api.ok("GET", "/team/info", {"team_id": "theirs"}, key=service)["team_id"] == "theirs"
    # other teams, and teams that do not exist, are one and the same refusal
    foreign = api.get("/team/info", {"team_id": "theirs"}, key=own["key"])
    absent = api.get("/team/info", {"team_id": "no-such-team"}, key=own["key"])
    assert foreign.status_code == absent.status_code == 403
    assert error_of(foreign)["message"].replace("theirs", "X") == error_of(absent)["message"].replace(
        "no-such-team", "X"
    )
    # reading the team does not open the other members' keys
    assert api.get("/key/info", {"key": other["token_id"]}, key=own["key"]).status_code == 403


def test_user_new_with_teams_team_id_and_aliases(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "ops", "models": ["gpt-4o", "gpt-4o-mini"]})
    api.ok("POST", "/team/new", {"team_id": "research"})
    made = api.ok(
        "POST",
        "/user/new",
        {
            "user_id": "kim",
            "teams": ["research", {"team_id": "ops", "user_role": "admin"}],
            "team_id": "ops",
            "aliases": {"fast": "gpt-4o-mini"},
            "models": ["gpt-4o-mini"],
        },
    )
    assert made["teams"] == ["research", "ops"] and made["team_id"] == "ops"
    assert made["aliases"] == {"fast": "gpt-4o-mini"}
    roles = {
        m["user_id"]: m["role"]
        for m in api.ok("GET", "/team/info", {"team_id": "ops"})["team_info"]["members_with_roles"]
    }
    assert roles == {"kim": "admin"}
    info = api.ok("GET", "/user/info", {"user_id": "kim"})
    assert info["user_info"]["teams"] == ["ops", "research"] and info["keys"][0]["team_id"] == "ops"
    reply = api.chat(made["key"], "fast")
    assert reply.status_code == 200 and reply.json()["model"] == "gpt-4o-mini"


def test_the_built_in_proxy_budget_user(gateway_for: Any) -> None:
    _, api = gateway_for(litellm_settings={"max_budget": 100, "budget_duration": "30d"})
    builtin = api.ok("GET", "/user/info", {"user_id": "litellm-proxy-budget"})
    info = builtin["user_info"]
    assert info["user_id"] == "litellm-proxy-budget" and info["max_budget"] == 100
    assert info["budget_duration"] == "30d" and info["budget_reset_at"] and info["spend"] == 0
    assert builtin["keys"] == [] and builtin["teams"] == []
    plain = api.new_key(user_id="someone")["key"]
    assert api.get("/user/info", {"user_id": "litellm-proxy-budget"}, key=plain).status_code == 403
    taken = api.post("/user/new", {"user_id": "litellm-proxy-budget"})
    assert taken.status_code == 400 and error_of(taken)["param"] == "user_id"
    _, unbudgeted = gateway_for()
    assert unbudgeted.get("/user/info", {"user_id": "litellm-proxy-budget"}).status_code == 404


def test_budget_reset_at_in_every_info(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "b", "budget_duration": "1d", "max_budget": 1})
    made = api.new_key(team_id="b", user_id="u", budget_duration="1h", max_budget=1)
    api.ok("POST", "/user/update", {"user_id": "u", "budget_duration": "7d", "max_budget": 1})
    assert api.ok("GET", "/key/info", {"key": made["key"]})["info"]["budget_reset_at"]
    assert api.ok("GET", "/user/info", {"user_id": "u"})["user_info"]["budget_reset_at"]
    team = api.ok("GET", "/team/info", {"team_id": "b"})
    assert team["team_info"]["budget_reset_at"] and team["keys"][0]["budget_reset_at"]
