"""Bad input on every admin endpoint: 400 (or 404) in the OpenAI envelope, ``param`` naming the field.

Each case is (method, path, body or query, expected status, expected ``param``).  ``{A}`` in a
value is replaced by a real key of team A, so the rest of the body is what is being checked.
"""

from __future__ import annotations

from typing import Any

from vk_testkit import Api, error_of

POST_ROUTES = (
    "/key/generate",
    "/key/update",
    "/key/delete",
    "/key/block",
    "/key/unblock",
    "/key/regenerate",
    "/team/new",
    "/team/update",
    "/team/delete",
    "/team/member_add",
    "/team/member_delete",
    "/team/member_update",
    "/user/new",
    "/user/update",
    "/user/delete",
)
MISSING_KEY = "sk-" + "0" * 40

CASES: list[tuple[str, str, dict[str, Any], int, str | None]] = [
    ("POST", "/key/generate", {"max_budget": -1}, 400, "max_budget"),
    ("POST", "/key/generate", {"soft_budget": float("inf")}, 400, "body"),  # JSON has no Infinity: malformed
    ("POST", "/key/generate", {"max_budget": "lots"}, 400, "max_budget"),
    ("POST", "/key/generate", {"duration": "forever"}, 400, "duration"),
    ("POST", "/key/generate", {"budget_duration": "1y"}, 400, "budget_duration"),
    ("POST", "/key/generate", {"duration": "1d", "expires": "2030-01-01T00:00:00Z"}, 400, "duration"),
    ("POST", "/key/generate", {"expires": "next tuesday"}, 400, "expires"),
    ("POST", "/key/generate", {"models": "gpt-4o"}, 400, "models"),
    ("POST", "/key/generate", {"tpm_limit": -5}, 400, "tpm_limit"),
    ("POST", "/key/generate", {"rpm_limit": 1.5}, 400, "rpm_limit"),
    ("POST", "/key/generate", {"metadata": "x"}, 400, "metadata"),
    ("POST", "/key/generate", {"max_buget": 5}, 400, "max_buget"),
    ("POST", "/key/generate", {"tags": "a"}, 400, "tags"),
    ("POST", "/key/generate", {"model_max_budget": {"gpt-4o": 1}}, 400, "model_max_budget"),
    ("POST", "/key/generate", {"key": "not-a-virtual-key-but-long-enough-to-count-0000"}, 400, "key"),
    ("GET", "/key/info", {"key": "sk-nobody-has-this-key-000000000000000000000"}, 404, "key"),
    ("GET", "/key/info", {"key": "garbage"}, 404, "key"),
    ("POST", "/key/update", {"max_budget": 1}, 400, "key"),
    ("POST", "/key/update", {"key": "{A}", "max_budget": -1}, 400, "max_budget"),
    ("POST", "/key/update", {"key": "{A}", "team_id": "no-such-team"}, 400, "team_id"),
    ("POST", "/key/update", {"key": "{A}", "budget_duration": "soon"}, 400, "budget_duration"),
    ("POST", "/key/update", {"key": "{A}", "models": ["claude-sonnet"]}, 400, "models"),
    ("POST", "/key/update", {"key": MISSING_KEY, "max_budget": 1}, 404, "key"),
    ("POST", "/key/delete", {}, 400, "keys"),
    ("POST", "/key/delete", {"keys": "abc"}, 400, "keys"),
    ("POST", "/key/delete", {"keys": [MISSING_KEY]}, 404, "key"),
    ("POST", "/key/block", {}, 400, "key"),
    ("POST", "/key/block", {"key": 5}, 400, "key"),
    ("POST", "/key/unblock", {"key": MISSING_KEY}, 404, "key"),
    ("POST", "/key/regenerate", {}, 400, "key"),
    ("POST", "/key/regenerate", {"key": "{A}", "grace_period": "later"}, 400, "grace_period"),
    ("POST", "/key/regenerate", {"key": "{A}", "new_key": "sk-short"}, 400, "new_key"),
    ("GET", "/key/list", {"size": 0}, 400, "size"),
    ("GET", "/key/list", {"page": "first"}, 400, "page"),
    ("POST", "/team/new", {"max_budget": -1}, 400, "max_budget"),
    ("POST", "/team/new", {"budget_duration": "1y"}, 400, "budget_duration"),
    ("POST", "/team/new", {"members_with_roles": [{"role": "boss", "user_id": "x"}]}, 400, "members_with_roles.0.role"),
    ("POST", "/team/new", {"team_id": "team-a"}, 400, "team_id"),
    ("GET", "/team/info", {}, 400, "team_id"),
    ("GET", "/team/info", {"team_id": "no-such-team"}, 404, "team_id"),
    ("POST", "/team/update", {}, 400, "team_id"),
    ("POST", "/team/update", {"team_id": "no-such-team", "team_alias": "x"}, 404, "team_id"),
    ("POST", "/team/update", {"team_id": "team-a", "rpm_limit": -1}, 400, "rpm_limit"),
    ("POST", "/team/update", {"team_id": "team-a", "soft_budget": -0.5}, 400, "soft_budget"),
    ("POST", "/team/delete", {}, 400, "team_ids"),
    ("POST", "/team/delete", {"team_ids": []}, 400, "team_ids"),
    ("POST", "/team/delete", {"team_ids": ["no-such-team"]}, 404, "team_id"),
    ("POST", "/team/member_add", {"team_id": "team-a"}, 400, "member"),
    ("POST", "/team/member_add", {"team_id": "team-a", "member": {"role": "user"}}, 400, "member"),
    ("POST", "/team/member_add", {"team_id": "no-such-team", "member": {"user_id": "x"}}, 404, "team_id"),
    ("POST", "/team/member_delete", {"team_id": "team-a"}, 400, "user_id"),
    ("POST", "/team/member_delete", {"team_id": "team-a", "user_id": "stranger"}, 400, "user_id"),
    ("POST", "/team/member_delete", {"team_id": "no-such-team", "user_id": "u1"}, 400, "team_id"),
    ("POST", "/team/member_add", {"team_id": "team-a", "member": {"user_id": "u1"}}, 400, "member"),
    (
        "POST",
        "/team/member_add",
        {"team_id": "team-a", "member": {"user_id": "litellm-proxy-budget"}},
        400,
        "member.user_id",
    ),
    ("POST", "/team/member_update", {"team_id": "team-a"}, 400, "user_id"),
    ("POST", "/team/member_update", {"team_id": "team-a", "user_id": "u1", "role": "owner"}, 400, "role"),
    ("POST", "/team/member_update", {"team_id": "team-a", "user_id": "stranger", "role": "user"}, 400, "user_id"),
    ("POST", "/team/member_update", {"team_id": "no-such-team", "user_id": "u1"}, 400, "team_id"),
    (
        "POST",
        "/team/member_update",
        {"team_id": "team-a", "user_id": "u1", "max_budget_in_team": 5},
        400,
        "max_budget_in_team",
    ),
    ("POST", "/user/new", {"user_role": "god"}, 400, "user_role"),
    ("POST", "/user/new", {"max_budget": -3}, 400, "max_budget"),
    ("POST", "/user/new", {"teams": ["no-such-team"]}, 400, "teams"),
    ("POST", "/user/new", {"teams": [{"team_id": "team-a", "user_role": "owner"}]}, 400, "teams"),
    ("POST", "/user/new", {"teams": [{"team_id": "team-a", "max_budget_in_team": 10}]}, 400, "teams"),
    ("POST", "/user/new", {"teams": [7]}, 400, "teams"),
    ("POST", "/user/new", {"user_id": "litellm-proxy-budget"}, 400, "user_id"),
    ("POST", "/user/new", {"team_id": "team-a", "models": ["claude-sonnet"]}, 400, "models"),
    ("POST", "/key/generate", {"user_id": "litellm-proxy-budget"}, 400, "user_id"),
    ("POST", "/user/new", {"duration": "eventually"}, 400, "duration"),
    ("GET", "/user/info", {"user_id": "nobody"}, 404, "user_id"),
    ("GET", "/user/info", {}, 400, "user_id"),
    ("POST", "/user/update", {}, 400, "user_id"),
    ("POST", "/user/update", {"user_id": "u1", "budget_duration": "x"}, 400, "budget_duration"),
    ("POST", "/user/update", {"user_id": "nobody", "user_alias": "x"}, 404, "user_id"),
    ("POST", "/user/delete", {}, 400, "user_ids"),
    ("POST", "/user/delete", {"user_ids": ["nobody"]}, 404, "user_id"),
    ("POST", "/user/delete", {"user_ids": ["litellm-proxy-budget"]}, 400, "user_id"),
    ("POST", "/user/update", {"user_id": "litellm-proxy-budget", "max_budget": 1}, 400, "user_id"),
    ("GET", "/user/list", {"page_size": 1000}, 400, "page_size"),
]


def test_every_validation_case(api: Api) -> None:
    api.ok("POST", "/team/new", {"team_id": "team-a", "models": ["gpt-4o"]})
    team_key = api.new_key(team_id="team-a", user_id="u1")["token_id"]
    api.ok("POST", "/team/member_add", {"team_id": "team-a", "member": {"user_id": "u1"}})
    wrong = []
    for method, path, data, status, param in CASES:
        data = {k: (team_key if v == "{A}" else v) for k, v in data.items()}
        if method == "GET":
            response = api.get(path, data)
        elif any(isinstance(v, float) and v == float("inf") for v in data.values()):
            response = api.post(path, raw=b'{"soft_budget": Infinity}')
        else:
            response = api.post(path, data)
        if response.status_code != status:
            wrong.append(f"{method} {path} {data}: expected {status}, got {response.status_code} {response.text}")
            continue
        error = error_of(response)
        if error["param"] != param or error["code"] != str(status):
            wrong.append(f"{method} {path} {data}: expected param {param!r}, got {error}")
        elif param and param not in ("body",) and param.split(".")[0] not in error["message"] and status == 400:
            wrong.append(f"{method} {path} {data}: the message does not name {param!r}: {error['message']}")
    assert not wrong, "\n".join(wrong)


def test_malformed_bodies_on_every_post_route(api: Api) -> None:
    for path in POST_ROUTES:
        for raw, words in ((b'{"max_budget": ', "not valid JSON"), (b"[1, 2]", "JSON object"), (b"", "empty")):
            if path == "/key/regenerate" and not raw:
                continue  # /key/{key}/regenerate needs no body; without one, 'key' is what is missing
            response = api.post(path, raw=raw)
            error = error_of(response)
            assert response.status_code == 400 and error["param"] == "body", (path, raw, response.text)
            assert words in error["message"], (path, error)


def test_unknown_team_is_refused_when_auto_creation_is_off(gateway_for: Any) -> None:
    _, api = gateway_for(auto_create_teams=False)
    response = api.post("/key/generate", {"team_id": "engineering"})
    error = error_of(response)
    assert response.status_code == 400 and error["param"] == "team_id"
    assert "does not exist" in error["message"] and "/team/new" in error["message"]
