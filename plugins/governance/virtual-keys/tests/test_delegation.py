"""A delegated admin never grants more than it holds (issue 14, items 1, 2 and 7).

A key has its owner's powers: a key of a ``proxy_admin`` user is an admin key, a key of a team
admin administers that team.  So a team admin that could make, re-key or re-assign a key to a
user above a plain member, or move a key out of its team, would hand out powers it does not
hold.  The first tests replay each hole the outside probe found; ``test_no_caller_raises_a_keys_power``
then tries every way of raising a key's power, on every route that makes keys or changes roles,
as every kind of caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from vk_testkit import MASTER, Api, error_of

A, B, C = "team-a", "team-b", "team-c"
ACTORS = ("master key", "proxy_admin key", "proxy_admin_viewer key", "team admin key", "plain key")
ADMINS = ("master key", "proxy_admin key")


class World:
    """Teams A, B, C; ``ta`` administers A and C, ``ta2`` administers A too; ``u1`` is a plain
    member of A, ``ub`` of B; ``pa`` is a proxy admin, ``pv`` a proxy admin viewer.  One key each."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.counter = itertools.count()
        for team in (A, B, C):
            api.ok("POST", "/team/new", {"team_id": team, "models": ["gpt-4o"] if team == A else []})
        api.ok("POST", "/user/new", {"user_id": "pa", "user_role": "proxy_admin", "auto_create_key": False})
        api.ok("POST", "/user/new", {"user_id": "pv", "user_role": "proxy_admin_viewer", "auto_create_key": False})
        api.ok(
            "POST",
            "/team/member_add",
            {
                "team_id": A,
                "member": [
                    {"role": "admin", "user_id": "ta"},
                    {"role": "admin", "user_id": "ta2"},
                    {"role": "user", "user_id": "u1"},
                ],
            },
        )
        api.ok("POST", "/team/member_add", {"team_id": C, "member": {"role": "admin", "user_id": "ta"}})
        api.ok("POST", "/team/member_add", {"team_id": B, "member": {"role": "user", "user_id": "ub"}})
        self.keys = {
            "master key": MASTER,
            "proxy_admin key": api.new_key(user_id="pa")["key"],
            "proxy_admin_viewer key": api.new_key(user_id="pv")["key"],
            "team admin key": api.new_key(user_id="ta", team_id=A)["key"],
            "plain key": api.new_key(user_id="u1", team_id=A)["key"],
        }
        self.ta2_key = api.new_key(user_id="ta2", team_id=A)

    @property
    def team_admin(self) -> str:
        return self.keys["team admin key"]

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    def user(self, role: str = "internal_user", **memberships: str) -> str:
        """A new user with ``role``, member of the given teams (``team_a="admin"``)."""
        user_id = self.fresh(role)
        self.api.ok("POST", "/user/new", {"user_id": user_id, "user_role": role, "auto_create_key": False})
        for team, member_role in memberships.items():
            self.api.ok(
                "POST",
                "/team/member_add",
                {"team_id": team.replace("_", "-"), "member": {"user_id": user_id, "role": member_role}},
            )
        return user_id

    def key_of(self, user_id: str | None, team_id: str | None = A) -> dict[str, Any]:
        return self.api.new_key(user_id=user_id, team_id=team_id)

    def key_info(self, ref: str) -> dict[str, Any]:
        return self.api.ok("GET", "/key/info", {"key": ref})["info"]

    def user_info(self, user_id: str) -> dict[str, Any]:
        return self.api.ok("GET", "/user/info", {"user_id": user_id})

    def role_in(self, team_id: str, user_id: str) -> str | None:
        members = self.api.ok("GET", "/team/info", {"team_id": team_id})["team_memberships"]
        return next((m["role"] for m in members if m["user_id"] == user_id), None)

    def is_admin_key(self, key: str) -> bool:
        return self.api.get("/user/list", key=key).status_code == 200


@pytest.fixture
def world(api: Api) -> World:
    return World(api)


def refused(response: httpx.Response, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    error = error_of(response)
    assert error["code"] == "403" and (param is None or error["param"] == param), error
    return error


# --------------------------------------------------------------------------- the probe's findings


def test_team_admin_cannot_mint_an_admin_key_in_two_calls(world: World) -> None:
    """Add an existing proxy admin to the team as a plain member, then make a key for them."""
    api = world.api
    boss = world.user("proxy_admin")
    refused(api.post("/team/member_add", {"team_id": A, "member": {"user_id": boss}}, key=world.team_admin), "member")
    assert world.role_in(A, boss) is None
    # even when a proxy admin made them a member, a team admin does not make keys for them
    api.ok("POST", "/team/member_add", {"team_id": A, "member": {"user_id": boss}})
    refused(api.post("/key/generate", {"team_id": A, "user_id": boss}, key=world.team_admin), "user_id")
    assert world.user_info(boss)["keys"] == []
    # the proxy admin can
    made = api.ok("POST", "/key/generate", {"team_id": A, "user_id": boss}, key=world.keys["proxy_admin key"])
    assert world.is_admin_key(made["key"])


def test_team_admin_cannot_hand_a_team_key_to_an_admin_via_update(world: World) -> None:
    boss = world.user("proxy_admin", team_a="user")
    key = world.key_of("u1")
    refused(world.api.post("/key/update", {"key": key["token_id"], "user_id": boss}, key=world.team_admin), "user_id")
    assert world.key_info(key["token_id"])["user_id"] == "u1" and not world.is_admin_key(key["key"])


def test_team_admin_cannot_regenerate_an_admins_team_key(world: World) -> None:
    boss = world.user("proxy_admin", team_a="user")
    key = world.key_of(boss)
    answer = world.api.post("/key/regenerate", {"key": key["token_id"]}, key=world.team_admin)
    refused(answer, "key")
    assert "sk-" not in answer.text
    assert world.api.chat(key["key"]).status_code == 200  # not rotated: the owner's key still works
    again = world.api.post(f"/key/{key['token_id']}/regenerate", {}, key=world.team_admin)
    refused(again, "key")


def test_team_admin_cannot_detach_a_key_from_its_team(world: World) -> None:
    key = world.key_of("u1")
    refused(world.api.post("/key/update", {"key": key["token_id"], "team_id": None}, key=world.team_admin), "team_id")
    assert world.key_info(key["token_id"])["team_id"] == A
    assert world.api.chat(key["key"], "claude-sonnet").status_code == 401  # team A's models still bind it


def test_team_admin_cannot_move_keys_between_teams_in_any_direction(world: World) -> None:
    key = world.key_of("u1")
    for team in (B, C, None):  # C: a team it administers too
        refused(
            world.api.post("/key/update", {"key": key["token_id"], "team_id": team}, key=world.team_admin), "team_id"
        )
        refused(
            world.api.post("/key/regenerate", {"key": key["token_id"], "team_id": team}, key=world.team_admin),
            "team_id",
        )
    assert world.key_info(key["token_id"])["team_id"] == A
    own_c_key = world.api.ok("POST", "/key/generate", {"team_id": C}, key=world.team_admin)
    refused(
        world.api.post("/key/update", {"key": own_c_key["token_id"], "team_id": A}, key=world.team_admin), "team_id"
    )
    # keys without a team cannot be pulled in either (a proxy admin's key, invisible to it)
    loose = world.key_of("u1", team_id=None)
    refused(world.api.post("/key/update", {"key": loose["token_id"], "team_id": A}, key=world.team_admin), "key")
    # a proxy admin moves keys
    moved = world.api.ok(
        "POST", "/key/update", {"key": key["token_id"], "team_id": B}, key=world.keys["proxy_admin key"]
    )
    assert moved["team_id"] == B


def test_team_admin_cannot_demote_remove_or_replace_a_fellow_team_admin(world: World) -> None:
    api, ta = world.api, world.team_admin
    refused(api.post("/team/member_update", {"team_id": A, "user_id": "ta2", "role": "user"}, key=ta), "user_id")
    # adding a member again changes nothing (LiteLLM's 400); roles change with /team/member_update
    again = api.post("/team/member_add", {"team_id": A, "member": {"user_id": "ta2", "role": "user"}}, key=ta)
    assert again.status_code == 400 and error_of(again)["type"] == "team_member_already_in_team"
    refused(api.post("/team/member_delete", {"team_id": A, "user_id": "ta2"}, key=ta), "user_id")
    ta2_key = world.ta2_key
    for path, body in (
        ("/key/block", {}),
        ("/key/update", {"max_budget": 0}),
        ("/key/regenerate", {}),
        ("/key/update", {"user_id": "u1"}),
    ):
        refused(api.post(path, {"key": ta2_key["token_id"], **body}, key=ta), "key")
    refused(api.post("/key/delete", {"keys": [ta2_key["token_id"]]}, key=ta), "key")
    refused(api.post("/key/generate", {"team_id": A, "user_id": "ta2"}, key=ta), "user_id")
    assert world.role_in(A, "ta2") == "admin"
    info = world.key_info(ta2_key["token_id"])
    assert not info["blocked"] and info["max_budget"] is None and info["user_id"] == "ta2"
    assert api.chat(ta2_key["key"]).status_code == 200
    # what a team admin may still do: manage plain members, and itself
    joiner = world.fresh("joiner")
    api.ok("POST", "/team/member_add", {"team_id": A, "member": {"user_id": joiner}}, key=ta)
    api.ok("POST", "/key/generate", {"team_id": A, "user_id": joiner}, key=ta)
    assert api.ok("POST", "/team/member_delete", {"team_id": A, "user_id": joiner}, key=ta)["deleted_keys"] == 1


def test_team_admin_cannot_pull_in_another_teams_user_and_spend_their_budget(world: World) -> None:
    api, ta = world.api, world.team_admin
    api.ok("POST", "/user/update", {"user_id": "ub", "max_budget": 5})
    refused(api.post("/team/member_add", {"team_id": A, "member": {"user_id": "ub"}}, key=ta), "member")
    api.ok("POST", "/user/update", {"user_id": "ub", "user_email": "ub@example.com"})
    refused(api.post("/team/member_add", {"team_id": A, "member": {"user_email": "ub@example.com"}}, key=ta), "member")
    assert world.role_in(A, "ub") is None
    refused(api.post("/key/generate", {"team_id": A, "user_id": "ub"}, key=ta), "user_id")
    refused(api.post("/key/update", {"key": world.key_of("u1")["token_id"], "user_id": "ub"}, key=ta), "user_id")
    assert [k["team_id"] for k in world.user_info("ub")["keys"]] == []
    # a user of no team, with a plain role, may join (the usual way to bring in a colleague)
    free = world.user()
    api.ok("POST", "/team/member_add", {"team_id": A, "member": {"user_id": free}}, key=ta)
    assert api.ok("POST", "/key/generate", {"team_id": A, "user_id": free}, key=ta)["user_id"] == free


def test_a_custom_key_in_use_is_refused_like_a_malformed_one(world: World) -> None:
    api = world.api
    existing = world.key_of("u1")
    rotated = api.new_key(team_id=A, user_id="u1", key="sk-" + "r" * 40)
    api.ok("POST", "/key/regenerate", {"key": rotated["token_id"], "grace_period": "1h"})
    malformed = error_of(api.post("/key/generate", {"team_id": A, "key": "sk-short"}, key=world.team_admin))
    for taken in (existing["key"], rotated["key"], world.keys["proxy_admin key"]):
        for caller in (MASTER, world.team_admin):
            answer = api.post("/key/generate", {"team_id": A, "key": taken}, key=caller)
            assert answer.status_code == 400 and error_of(answer) == malformed, answer.text
        answer = api.post("/key/regenerate", {"key": existing["token_id"], "new_key": taken})
        assert answer.status_code == 400 and error_of(answer)["message"] == malformed["message"].replace(
            "'key'", "'new_key'"
        )
    assert api.chat(existing["key"]).status_code == 200 and api.chat(rotated["key"]).status_code == 200
    assert api.ok("POST", "/key/generate", {"team_id": A, "key": "sk-" + "n" * 40}, key=world.team_admin)


def test_refusals_do_not_reveal_whether_a_key_exists(world: World) -> None:
    """A team admin, or a plain key, asking about another team's key gets exactly the answer it
    gets for a key that does not exist."""
    api = world.api
    other = api.new_key(team_id=B, user_id="ub", key_alias="b-key")
    api.new_key(key_alias="loose-key")
    missing = "sk-" + "0" * 40
    pairs: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("/key/update", {"key": other["token_id"], "max_budget": 1}, {"key": missing, "max_budget": 1}),
        ("/key/update", {"key": other["key"], "max_budget": 1}, {"key": "0" * 64, "max_budget": 1}),
        ("/key/update", {"key_alias": "b-key", "max_budget": 1}, {"key_alias": "no-such-alias", "max_budget": 1}),
        ("/key/update", {"key_alias": "loose-key", "max_budget": 1}, {"key_alias": "no-such-alias", "max_budget": 1}),
        ("/key/block", {"key": other["token_id"]}, {"key": missing}),
        ("/key/unblock", {"key": other["token_id"]}, {"key": missing}),
        ("/key/regenerate", {"key": other["token_id"]}, {"key": missing}),
        ("/key/delete", {"keys": [other["token_id"]]}, {"keys": [missing]}),
        ("/key/delete", {"key_aliases": ["b-key"]}, {"key_aliases": ["no-such-alias"]}),
    ]
    for caller in (world.team_admin, world.keys["plain key"], world.keys["proxy_admin_viewer key"]):
        for path, existing, absent in pairs:
            seen, unseen = api.post(path, existing, key=caller), api.post(path, absent, key=caller)
            assert (seen.status_code, seen.json()) == (unseen.status_code, unseen.json()) == (403, seen.json()), path
        for ref, absent_ref in ((other["token_id"], missing), (other["key"], "garbage")):
            seen, unseen = (
                api.get("/key/info", {"key": ref}, key=caller),
                api.get("/key/info", {"key": absent_ref}, key=caller),
            )
            if caller == world.keys["proxy_admin_viewer key"]:
                assert seen.status_code == 200 and unseen.status_code == 404  # a viewer sees every key
            else:
                assert (seen.status_code, seen.json()) == (unseen.status_code, unseen.json()) == (403, seen.json())
    assert world.key_info(other["token_id"])["max_budget"] is None and api.chat(other["key"]).status_code == 200


def test_role_fields_in_metadata_grant_nothing(world: World) -> None:
    made = world.api.ok(
        "POST",
        "/key/generate",
        {
            "team_id": A,
            "metadata": {"user_role": "proxy_admin", "is_admin": True, "role": "admin", "team_admin": [A, B, C]},
        },
        key=world.team_admin,
    )
    assert not world.is_admin_key(made["key"])
    assert world.api.get("/team/info", {"team_id": B}, key=made["key"]).status_code == 403
    refused(
        world.api.post(
            "/key/generate", {"team_id": A, "permissions": {"allow_pii_controls": True}}, key=world.team_admin
        ),
        "permissions",
    )


# --------------------------------------------------------------------------- every route, every caller


@dataclass
class Attempt:
    """One way to raise a key's power.  ``setup`` (as the master key) returns what ``attempt``
    needs; ``attempt`` is the actor's call; ``took_effect`` says whether the power was gained.
    Admins (master, proxy_admin) must succeed; everyone else must get 403 and change nothing."""

    setup: Callable[[World, str], dict[str, Any]]
    attempt: Callable[[World, dict[str, Any], str], httpx.Response]
    took_effect: Callable[[World, dict[str, Any], httpx.Response], bool]
    allowed: tuple[str, ...] = ADMINS


def _own_user(world: World, actor: str) -> str:
    return {"team admin key": "ta", "plain key": "u1", "proxy_admin_viewer key": "pv"}.get(actor) or world.user()


def _key_with(**fields: Any) -> Callable[[World, dict[str, Any], httpx.Response], bool]:
    def check(world: World, ctx: dict[str, Any], response: httpx.Response) -> bool:
        info = world.key_info(ctx["key"]["token_id"])
        return all(
            info[name] == (ctx[value[1:]] if isinstance(value, str) and value.startswith("$") else value)
            for name, value in fields.items()
        )

    return check


def _made_key_for(world: World, ctx: dict[str, Any], response: httpx.Response) -> bool:
    return bool(world.user_info(ctx["user"])["keys"])


def _update(**fields: Any) -> Callable[[World, dict[str, Any], str], httpx.Response]:
    def attempt(world: World, ctx: dict[str, Any], key: str) -> httpx.Response:
        body = {
            name: (ctx[value[1:]] if isinstance(value, str) and value.startswith("$") else value)
            for name, value in fields.items()
        }
        return world.api.post("/key/update", {"key": ctx["key"]["token_id"], **body}, key=key)

    return attempt


def _member_role(team: str, role: str | None) -> Callable[[World, dict[str, Any], httpx.Response], bool]:
    return lambda w, ctx, r: w.role_in(team, ctx["user"]) == role


def _plain_key(world: World, actor: str) -> dict[str, Any]:
    return {"key": world.key_of("u1")}


def _admin_member(role: str = "proxy_admin", **teams: str) -> Callable[[World, str], dict[str, Any]]:
    def setup(world: World, actor: str) -> dict[str, Any]:
        return {"key": world.key_of("u1"), "user": world.user(role, **teams)}

    return setup


ATTEMPTS: dict[str, Attempt] = {
    # /key/generate: an owner above a plain member, or permissions
    "generate for a proxy_admin member": Attempt(
        _admin_member(team_a="user"),
        lambda w, ctx, k: w.api.post("/key/generate", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _made_key_for,
    ),
    "generate for a proxy_admin_viewer member": Attempt(
        _admin_member("proxy_admin_viewer", team_a="user"),
        lambda w, ctx, k: w.api.post("/key/generate", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _made_key_for,
    ),
    "generate for a fellow team admin": Attempt(
        _admin_member("internal_user", team_a="admin"),
        lambda w, ctx, k: w.api.post("/key/generate", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _made_key_for,
    ),
    "generate for a member who administers another team": Attempt(
        _admin_member("internal_user", team_a="user", team_b="admin"),
        lambda w, ctx, k: w.api.post("/key/generate", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _made_key_for,
    ),
    "generate for another team's user": Attempt(
        _admin_member("internal_user", team_b="user"),
        lambda w, ctx, k: w.api.post("/key/generate", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _made_key_for,
    ),
    "generate with permissions": Attempt(
        lambda w, a: {},
        lambda w, ctx, k: w.api.post(
            "/key/generate", {"team_id": A, "permissions": {"allow_pii_controls": True}}, key=k
        ),
        lambda w, ctx, r: r.status_code == 200 and r.json()["permissions"] == {"allow_pii_controls": True},
    ),
    "generate without a team": Attempt(
        lambda w, a: {},
        lambda w, ctx, k: w.api.post("/key/generate", {"user_id": "u1"}, key=k),
        lambda w, ctx, r: r.status_code == 200 and r.json()["team_id"] is None,
    ),
    # /key/update: owner, team, permissions
    "update owner to a proxy_admin member": Attempt(
        _admin_member(team_a="user"), _update(user_id="$user"), _key_with(user_id="$user")
    ),
    "update owner to a fellow team admin": Attempt(
        _admin_member("internal_user", team_a="admin"), _update(user_id="$user"), _key_with(user_id="$user")
    ),
    "update owner to nobody": Attempt(_plain_key, _update(user_id=None), _key_with(user_id=None)),
    "update team to another team": Attempt(_plain_key, _update(team_id=B), _key_with(team_id=B)),
    "update team to another team it administers": Attempt(_plain_key, _update(team_id=C), _key_with(team_id=C)),
    "update team to none": Attempt(_plain_key, _update(team_id=None), _key_with(team_id=None)),
    "update permissions": Attempt(
        _plain_key,
        _update(permissions={"disable_global_guardrails": True}),
        _key_with(permissions={"disable_global_guardrails": True}),
    ),
    # /key/regenerate: an admin's key, or a regenerate that also changes owner or team
    "regenerate a proxy_admin's team key": Attempt(
        lambda w, a: {"key": w.key_of(w.user("proxy_admin", team_a="user"))},
        lambda w, ctx, k: w.api.post("/key/regenerate", {"key": ctx["key"]["token_id"]}, key=k),
        lambda w, ctx, r: r.status_code == 200 and w.api.chat(ctx["key"]["key"]).status_code == 401,
    ),
    "regenerate a fellow team admin's key": Attempt(
        lambda w, a: {"key": w.key_of(w.user("internal_user", team_a="admin"))},
        lambda w, ctx, k: w.api.post(f"/key/{ctx['key']['token_id']}/regenerate", {}, key=k),
        lambda w, ctx, r: r.status_code == 200 and w.api.chat(ctx["key"]["key"]).status_code == 401,
    ),
    "regenerate with a new owner": Attempt(
        _admin_member(team_a="user"),
        lambda w, ctx, k: w.api.post("/key/regenerate", {"key": ctx["key"]["token_id"], "user_id": ctx["user"]}, key=k),
        _key_with(user_id="$user"),
    ),
    "regenerate out of its team": Attempt(
        _plain_key,
        lambda w, ctx, k: w.api.post("/key/regenerate", {"key": ctx["key"]["token_id"], "team_id": None}, key=k),
        _key_with(team_id=None),
    ),
    # /user/*: roles
    "user/new with user_role proxy_admin": Attempt(
        lambda w, a: {"user": w.fresh("new-admin")},
        lambda w, ctx, k: w.api.post("/user/new", {"user_id": ctx["user"], "user_role": "proxy_admin"}, key=k),
        lambda w, ctx, r: w.api.get("/user/info", {"user_id": ctx["user"]}).status_code == 200,
    ),
    "user/update of its own user to proxy_admin": Attempt(
        lambda w, a: {"user": _own_user(w, a)},
        lambda w, ctx, k: w.api.post("/user/update", {"user_id": ctx["user"], "user_role": "proxy_admin"}, key=k),
        lambda w, ctx, r: w.user_info(ctx["user"])["user_info"]["user_role"] == "proxy_admin",
    ),
    "user/update of a team member to proxy_admin_viewer": Attempt(
        lambda w, a: {"user": w.user(team_a="user")},
        lambda w, ctx, k: w.api.post(
            "/user/update", {"user_id": ctx["user"], "user_role": "proxy_admin_viewer"}, key=k
        ),
        lambda w, ctx, r: w.user_info(ctx["user"])["user_info"]["user_role"] == "proxy_admin_viewer",
    ),
    # /team/*: member roles
    "member_add as admin": Attempt(
        lambda w, a: {"user": w.fresh("promoted")},
        lambda w, ctx, k: w.api.post(
            "/team/member_add", {"team_id": A, "member": {"user_id": ctx["user"], "role": "admin"}}, key=k
        ),
        _member_role(A, "admin"),
    ),
    "member_add of itself as admin of another team": Attempt(
        lambda w, a: {"user": _own_user(w, a)},
        lambda w, ctx, k: w.api.post(
            "/team/member_add", {"team_id": B, "member": {"user_id": ctx["user"], "role": "admin"}}, key=k
        ),
        _member_role(B, "admin"),
    ),
    "member_add of an existing proxy_admin": Attempt(
        _admin_member(),
        lambda w, ctx, k: w.api.post("/team/member_add", {"team_id": A, "member": {"user_id": ctx["user"]}}, key=k),
        _member_role(A, "user"),
    ),
    "member_add of another team's user": Attempt(
        _admin_member("internal_user", team_b="user"),
        lambda w, ctx, k: w.api.post("/team/member_add", {"team_id": A, "member": {"user_id": ctx["user"]}}, key=k),
        _member_role(A, "user"),
    ),
    "member_update demoting a fellow team admin": Attempt(
        _admin_member("internal_user", team_a="admin"),
        lambda w, ctx, k: w.api.post(
            "/team/member_update", {"team_id": A, "user_id": ctx["user"], "role": "user"}, key=k
        ),
        _member_role(A, "user"),
    ),
    "member_update promoting a member to team admin": Attempt(
        lambda w, a: {"user": w.user(team_a="user")},
        lambda w, ctx, k: w.api.post(
            "/team/member_update", {"team_id": A, "user_id": ctx["user"], "role": "admin"}, key=k
        ),
        _member_role(A, "admin"),
    ),
    "member_delete of a fellow team admin": Attempt(
        _admin_member("internal_user", team_a="admin"),
        lambda w, ctx, k: w.api.post("/team/member_delete", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _member_role(A, None),
    ),
    "member_delete of a proxy_admin member": Attempt(
        _admin_member(team_a="user"),
        lambda w, ctx, k: w.api.post("/team/member_delete", {"team_id": A, "user_id": ctx["user"]}, key=k),
        _member_role(A, None),
    ),
    "team/new with itself as admin": Attempt(
        lambda w, a: {"user": _own_user(w, a), "team": w.fresh("own-team")},
        lambda w, ctx, k: w.api.post(
            "/team/new",
            {"team_id": ctx["team"], "members_with_roles": [{"user_id": ctx["user"], "role": "admin"}]},
            key=k,
        ),
        lambda w, ctx, r: w.api.get("/team/info", {"team_id": ctx["team"]}).status_code == 200,
    ),
}


def test_no_caller_raises_a_keys_power(world: World) -> None:
    wrong: list[str] = []
    for name, case in ATTEMPTS.items():
        for actor in ACTORS:
            ctx = case.setup(world, actor)
            response = case.attempt(world, ctx, world.keys[actor])
            gained = case.took_effect(world, ctx, response)
            if actor in case.allowed:
                if response.status_code != 200 or not gained:
                    wrong.append(f"{name} as {actor}: should work, got {response.status_code} {response.text[:200]}")
            elif response.status_code != 403 or gained:
                wrong.append(
                    f"{name} as {actor}: should be 403 with no effect, got {response.status_code} "
                    f"(took effect: {gained}) {response.text[:200]}"
                )
            elif set(response.json()) != {"error"} or response.json()["error"]["code"] != "403":
                wrong.append(f"{name} as {actor}: not an OpenAI error envelope: {response.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_team_admin_still_manages_its_plain_members(world: World) -> None:
    """The legitimate delegated path, end to end, with the team admin's key only."""
    api, ta = world.api, world.team_admin
    newcomer = world.fresh("newcomer")
    api.ok(
        "POST",
        "/team/member_add",
        {"team_id": A, "member": {"user_id": newcomer, "user_email": "n@example.com"}},
        key=ta,
    )
    made = api.ok(
        "POST", "/key/generate", {"team_id": A, "user_id": newcomer, "max_budget": 3, "models": ["gpt-4o"]}, key=ta
    )
    assert api.chat(made["key"]).status_code == 200 and not world.is_admin_key(made["key"])
    api.ok("POST", "/key/update", {"key": made["token_id"], "user_id": "u1", "rpm_limit": 10}, key=ta)
    api.ok("POST", "/key/block", {"key": made["token_id"]}, key=ta)
    api.ok("POST", "/key/unblock", {"key": made["token_id"]}, key=ta)
    again = api.ok("POST", "/key/regenerate", {"key": made["token_id"]}, key=ta)
    assert api.chat(again["key"]).status_code == 200
    own = api.ok("POST", "/key/generate", {"team_id": C}, key=ta)
    api.ok("POST", "/key/regenerate", {"key": own["token_id"]}, key=ta)
    api.ok("POST", "/key/delete", {"keys": [again["token_id"], own["token_id"]]}, key=ta)
    assert api.ok("POST", "/team/member_delete", {"team_id": A, "user_email": "n@example.com"}, key=ta)
    assert world.role_in(A, newcomer) is None
