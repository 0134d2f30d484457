"""Input the database cannot hold is a 400 naming the field, on every admin route, never a 500.

Found by fuzzing (issue 14): a NUL character in any text (PostgreSQL text cannot hold one),
integers past their column (BIGINT, INTEGER), durations and expiry times past the calendar, and
JSON nested deeper than the JSON tools handle each answered 500 somewhere.  Here every route gets
every kind of such value in every field it takes, through one keep-alive HTTP connection: each
answer must be 400 with ``param`` naming the field and the message naming it and the limit, the
connection must stay open, and nothing may have been created or changed.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from vk_testkit import MASTER, Api

NUL = "a\x00b"


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": value}
    return value


#: hostile values per kind of field: (value, words the message must contain besides the field)
HOSTILE: dict[str, list[tuple[Any, str]]] = {
    "text": [(NUL, "NUL")],
    "bigint": [(2**63, "9223372036854775807")],
    "integer": [(2**31, "2147483647")],
    "money": [(1e308, "1000000000000")],
    "duration": [("9999999d", "36500d"), ("99999999999999999999s", "16 characters")],
    "expires": [
        ("9999-12-31T23:59:59-14:00", "UTC"),
        ("0001-01-01T00:00:00+14:00", "UTC"),
        ("2999-01-01T00:00:00Z", "100 years"),
    ],
    # 40 levels: past this plugin's limit; 300: past what the JSON tools handle (core may refuse it first)
    "object": [(nested(40), "32 levels"), (nested(300), "levels"), ({"k": NUL}, "NUL"), ({NUL: 1}, "NUL")],
    "texts": [([NUL], "NUL"), ([nested(40)], "32 levels"), ([nested(300)], "levels")],
}

KEY_FIELDS = {
    "key_alias": "text",
    "user_id": "text",
    "team_id": "text",
    "models": "texts",
    "aliases": "object",
    "max_budget": "money",
    "soft_budget": "money",
    "budget_duration": "duration",
    "tpm_limit": "bigint",
    "rpm_limit": "bigint",
    "max_parallel_requests": "integer",
    "metadata": "object",
    "permissions": "object",
    "guardrails": "texts",
    "duration": "duration",
    "expires": "expires",
}
TEAM_FIELDS = {
    "team_alias": "text",
    "models": "texts",
    "model_aliases": "object",
    "max_budget": "money",
    "soft_budget": "money",
    "budget_duration": "duration",
    "tpm_limit": "bigint",
    "rpm_limit": "bigint",
    "max_parallel_requests": "integer",
    "metadata": "object",
    "guardrails": "texts",
}
USER_FIELDS = {
    "user_email": "text",
    "user_alias": "text",
    "user_role": "text",
    "models": "texts",
    "max_budget": "money",
    "soft_budget": "money",
    "budget_duration": "duration",
    "tpm_limit": "bigint",
    "rpm_limit": "bigint",
    "max_parallel_requests": "integer",
    "metadata": "object",
}

#: path -> (a valid body, with "{K}" standing for a real key's token id; the fields and their kinds)
POST_ROUTES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "/key/generate": ({"team_id": "team-a"}, {**KEY_FIELDS, "key": "text"}),
    "/key/update": ({"key": "{K}"}, {**KEY_FIELDS, "key": "text"}),
    "/key/regenerate": ({"key": "{K}"}, {**KEY_FIELDS, "key": "text", "new_key": "text", "grace_period": "duration"}),
    "/key/delete": ({"keys": ["{K}"]}, {"keys": "texts", "key_aliases": "texts"}),
    "/key/block": ({"key": "{K}"}, {"key": "text"}),
    "/key/unblock": ({"key": "{K}"}, {"key": "text"}),
    "/team/new": ({}, {**TEAM_FIELDS, "team_id": "text", "members_with_roles": "texts"}),
    "/team/update": ({"team_id": "team-a"}, {**TEAM_FIELDS, "team_id": "text"}),
    "/team/delete": ({"team_ids": ["team-a"]}, {"team_ids": "texts"}),
    "/team/member_add": ({"team_id": "team-a", "member": {"user_id": "newcomer"}}, {"team_id": "text"}),
    "/team/member_delete": (
        {"team_id": "team-a", "user_id": "u1"},
        {"team_id": "text", "user_id": "text", "user_email": "text"},
    ),
    "/user/new": (
        {},
        {**USER_FIELDS, "user_id": "text", "teams": "texts", "key_alias": "text", "duration": "duration"},
    ),
    "/user/update": ({"user_id": "u1"}, {**USER_FIELDS, "user_id": "text"}),
    "/user/delete": ({"user_ids": ["u1"]}, {"user_ids": "texts"}),
}
#: nested places the table above cannot express: (path, body, the param expected)
NESTED_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("/team/member_add", {"team_id": "team-a", "member": {"user_id": NUL}}, "member.user_id"),
    ("/team/member_add", {"team_id": "team-a", "member": [{"user_email": NUL}]}, "member.0.user_email"),
    ("/team/new", {"members_with_roles": [{"user_id": NUL}]}, "members_with_roles.0.user_id"),
    ("/key/generate", {"metadata": {"owner": {"name": NUL}}}, "metadata.owner.name"),
    ("/key/generate", {NUL: 1}, "body"),
]
#: path -> query parameters it reads
GET_ROUTES: dict[str, tuple[str, ...]] = {
    "/key/info": ("key",),
    "/key/list": ("user_id", "team_id", "key_alias", "key_hash", "page", "size"),
    "/team/info": ("team_id",),
    "/team/list": ("user_id",),
    "/user/info": ("user_id",),
    "/user/list": ("role", "user_ids", "page", "page_size"),
}


def body_cases(key_id: str) -> Iterator[tuple[str, dict[str, Any], str, str]]:
    """(path, body, expected param's first part, words the message must contain)."""
    for path, (valid, fields) in POST_ROUTES.items():
        valid = json.loads(json.dumps(valid).replace("{K}", key_id))
        for field, kind in fields.items():
            for value, words in HOSTILE[kind]:
                yield path, {**valid, field: value}, field, words
    for path, body, param in NESTED_CASES:
        yield path, body, param, "NUL"


class Connection:
    """One keep-alive HTTP connection: every request must leave it open for the next one."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.http = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        self.socket: Any = None

    def send(self, method: str, target: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        payload = None if body is None else json.dumps(body).encode()
        self.http.request(
            method,
            target,
            body=payload,
            headers={"Authorization": f"Bearer {MASTER}", "Content-Type": "application/json"},
        )
        response = self.http.getresponse()
        data = json.loads(response.read())
        if self.socket is None:
            self.socket = self.http.sock
        assert response.getheader("connection", "").lower() != "close", (target, body)
        assert self.http.sock is self.socket, "the server closed the connection"
        return response.status, data

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def world(api: Api) -> Iterator[tuple[Api, str, Connection]]:
    api.ok("POST", "/team/new", {"team_id": "team-a"})
    api.ok("POST", "/team/member_add", {"team_id": "team-a", "member": {"user_id": "u1"}})
    made = api.new_key(team_id="team-a", user_id="u1", key_alias="the-key")
    connection = Connection(api.running.url)
    try:
        yield api, made, connection
    finally:
        connection.close()


def snapshot(api: Api) -> Any:
    keys = api.ok("GET", "/key/list", {"return_full_object": "true", "size": 100})["keys"]
    teams = api.ok("GET", "/team/list")
    users = api.ok("GET", "/user/list", {"page_size": 100})["users"]
    return keys, teams, users


def test_unstorable_values_in_every_body_field_are_400s_naming_the_field(world: Any) -> None:
    api, made, connection = world
    before = snapshot(api)
    wrong = []
    count = 0
    for path, body, param, words in body_cases(made["token_id"]):
        count += 1
        status, answer = connection.send("POST", path, body)
        error = answer.get("error") or {}
        shown = f"{path} {str(body)[:120]}: {status} {str(answer)[:300]}"
        if status != 400:
            wrong.append(shown)
        elif error.get("code") != "400" or str(error.get("param")).split(".")[0] != param.split(".")[0]:
            wrong.append(f"param should be {param!r}: {shown}")
        elif param != "body" and param.split(".")[0] not in error["message"] or words not in error["message"]:
            wrong.append(f"message should name {param!r} and say {words!r}: {shown}")
    assert count > 150 and not wrong, "\n".join(wrong)
    assert snapshot(api) == before  # nothing was created, changed or deleted
    assert api.chat(made["key"]).status_code == 200


def test_nul_in_any_query_or_path_parameter_is_a_400_naming_it(world: Any) -> None:
    _, made, connection = world
    wrong = []
    for path, names in GET_ROUTES.items():
        for name in names:
            status, answer = connection.send("GET", f"{path}?{urllib.parse.urlencode({name: NUL})}")
            error = answer.get("error") or {}
            if status != 400 or error.get("param") != name or name not in error.get("message", ""):
                wrong.append(f"{path}?{name}=NUL: {status} {answer}")
    status, answer = connection.send("POST", "/key/a%00b/regenerate", {})
    if status != 400 or answer["error"]["param"] != "key":
        wrong.append(f"/key/{{NUL}}/regenerate: {status} {answer}")
    status, answer = connection.send("GET", "/key/list?%00=1")
    if status != 400:
        wrong.append(f"/key/list with a NUL parameter name: {status} {answer}")
    assert not wrong, "\n".join(wrong)
    assert connection.send("GET", f"/key/info?key={made['token_id']}")[0] == 200


def test_list_parameters_are_bounded(world: Any) -> None:
    _, _, connection = world
    status, answer = connection.send(
        "GET", "/user/list?" + urllib.parse.urlencode({"user_ids": ",".join(map(str, range(1001)))})
    )
    assert status == 400 and answer["error"]["param"] == "user_ids" and "1000" in answer["error"]["message"]
    status, answer = connection.send("GET", "/user/list?role=god")
    assert status == 400 and answer["error"]["param"] == "role" and "proxy_admin" in answer["error"]["message"]
    status, answer = connection.send("POST", "/key/delete", {"keys": [f"k{i}" for i in range(1001)]})
    assert status == 400 and answer["error"]["param"] == "keys" and "1000" in answer["error"]["message"]


def test_values_at_the_limits_are_accepted(world: Any) -> None:
    """The bounds are the columns' own: the largest value each one holds is stored and read back."""
    api, _, _ = world
    made = api.new_key(
        team_id="team-a",
        tpm_limit=2**63 - 1,
        rpm_limit=2**63 - 1,
        max_parallel_requests=2**31 - 1,
        max_budget=10**12,
        soft_budget=0.1,
        budget_duration="36500d",
        duration="36500d",
        metadata=nested(31),
    )
    info = api.ok("GET", "/key/info", {"key": made["key"]})["info"]
    assert (info["tpm_limit"], info["rpm_limit"], info["max_parallel_requests"]) == (2**63 - 1, 2**63 - 1, 2**31 - 1)
    assert info["max_budget"] == 10**12 and info["budget_duration"] == "36500d" and info["metadata"] == nested(31)
    assert info["expires"] is not None and api.chat(made["key"]).status_code == 200
