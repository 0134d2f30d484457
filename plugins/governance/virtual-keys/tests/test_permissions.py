"""The README's permission matrix, cell by cell: ✓ = 200, ✗ = 403, — = 400.

The expected outcomes are read from the README itself, so the documentation and the behaviour
cannot drift apart: a row without a check here, or a check without a row there, fails the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from vk_testkit import MASTER, Api

README = Path(__file__).parent.parent / "README.md"
EXPECTED_STATUS = {"✓": 200, "✗": 403, "—": 400}
TEAM_A, TEAM_B = "team-a", "team-b"
#: team A is in organization A, team B in organization B
ORG_A, ORG_B = "org-a", "org-b"


def readme_matrix() -> tuple[list[str], dict[str, list[str]]]:
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| route | master key |"))
    actors = [cell.strip() for cell in lines[start].strip("|").split("|")][1:]
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return actors, rows


class World:
    """Teams A and B, one user per role, their keys; fresh targets on demand (made with the master key)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.counter = itertools.count()
        for org in (ORG_A, ORG_B):
            api.ok("POST", "/organization/new", {"organization_id": org, "organization_alias": org})
        api.ok("POST", "/team/new", {"team_id": TEAM_A, "organization_id": ORG_A})
        api.ok("POST", "/team/new", {"team_id": TEAM_B, "organization_id": ORG_B})
        api.ok(
            "POST",
            "/organization/member_add",
            {"organization_id": ORG_A, "member": {"user_id": "oa", "role": "org_admin"}},
        )
        api.ok("POST", "/user/new", {"user_id": "pa", "user_role": "proxy_admin", "auto_create_key": False})
        api.ok("POST", "/user/new", {"user_id": "pv", "user_role": "proxy_admin_viewer", "auto_create_key": False})
        api.ok(
            "POST",
            "/team/member_add",
            {"team_id": TEAM_A, "member": [{"role": "admin", "user_id": "ta"}, {"role": "user", "user_id": "u1"}]},
        )
        api.ok("POST", "/team/member_add", {"team_id": TEAM_B, "member": {"role": "user", "user_id": "ub"}})
        self.keys = {
            "master key": MASTER,
            "proxy_admin key": api.new_key(user_id="pa")["key"],
            "proxy_admin_viewer key": api.new_key(user_id="pv")["key"],
            "org admin key": api.new_key(user_id="oa")["key"],
            "team admin key": api.new_key(user_id="ta", team_id=TEAM_A)["key"],
            "plain key": api.new_key(user_id="u1", team_id=TEAM_A)["key"],
        }

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    def tier(self) -> str:
        """A new budget tier (made with the master key)."""
        return str(self.api.ok("POST", "/budget/new", {"budget_id": self.fresh("tier")})["budget_id"])

    def tag(self) -> str:
        """A new tag (made with the master key)."""
        return str(self.api.ok("POST", "/tag/new", {"name": self.fresh("tag")})["name"])

    def customer(self) -> str:
        """A new customer (made with the master key)."""
        return str(self.api.ok("POST", "/customer/new", {"user_id": self.fresh("customer")})["user_id"])

    def org(self, prefix: str = "org") -> str:
        """A new organization without teams or members (made with the master key)."""
        org = self.fresh(prefix)
        self.api.ok("POST", "/organization/new", {"organization_id": org, "organization_alias": org})
        return org

    def org_member(self, org: str, role: str = "internal_user") -> str:
        """A new user, a ``role`` member of ``org``."""
        user = self.fresh("org-member")
        self.api.ok(
            "POST", "/organization/member_add", {"organization_id": org, "member": {"user_id": user, "role": role}}
        )
        return user

    def org_team(self, org: str) -> str:
        return str(
            self.api.ok("POST", "/team/new", {"team_id": self.fresh("org-team"), "organization_id": org})["team_id"]
        )

    def team_key(self, team: str) -> str:
        user = "u1" if team == TEAM_A else "ub"
        return self.api.new_key(team_id=team, user_id=user)["token_id"]

    def member(self, prefix: str, team: str, role: str = "user", user_role: str = "internal_user") -> str:
        """A new user with ``user_role``, a ``role`` member of ``team``."""
        user = self.fresh(prefix)
        self.api.ok("POST", "/user/new", {"user_id": user, "user_role": user_role, "auto_create_key": False})
        self.api.ok("POST", "/team/member_add", {"team_id": team, "member": {"user_id": user, "role": role}})
        return user


Check = Callable[[World, str], httpx.Response]


def _key_action(path: str, team: str) -> Check:
    def check(world: World, key: str) -> httpx.Response:
        return world.api.post(path, {"key": world.team_key(team)}, key=key)

    return check


def _member_delete(team: str) -> Check:
    def check(world: World, key: str) -> httpx.Response:
        user = world.fresh("leaving")
        world.api.ok("POST", "/team/member_add", {"team_id": team, "member": {"user_id": user}})
        return world.api.post("/team/member_delete", {"team_id": team, "user_id": user}, key=key)

    return check


CHECKS: dict[str, Check] = {
    "POST /key/generate for team A": lambda w, k: w.api.post("/key/generate", {"team_id": TEAM_A}, key=k),
    "POST /key/generate for a plain member of team A": lambda w, k: w.api.post(
        "/key/generate", {"team_id": TEAM_A, "user_id": "u1"}, key=k
    ),
    "POST /key/generate for team B": lambda w, k: w.api.post("/key/generate", {"team_id": TEAM_B}, key=k),
    "POST /key/generate for a proxy_admin member of team A": lambda w, k: w.api.post(
        "/key/generate", {"team_id": TEAM_A, "user_id": w.member("boss", TEAM_A, user_role="proxy_admin")}, key=k
    ),
    "GET /key/info of its own key": lambda w, k: w.api.get("/key/info", key=k),
    "GET /key/info of a team A key": lambda w, k: w.api.get("/key/info", {"key": w.team_key(TEAM_A)}, key=k),
    "GET /key/info of a team B key": lambda w, k: w.api.get("/key/info", {"key": w.team_key(TEAM_B)}, key=k),
    "POST /key/update of a team A key": lambda w, k: w.api.post(
        "/key/update", {"key": w.team_key(TEAM_A), "rpm_limit": 5}, key=k
    ),
    "POST /key/update of a team B key": lambda w, k: w.api.post(
        "/key/update", {"key": w.team_key(TEAM_B), "rpm_limit": 5}, key=k
    ),
    "POST /key/update of a team A key to team B": lambda w, k: w.api.post(
        "/key/update", {"key": w.team_key(TEAM_A), "team_id": TEAM_B}, key=k
    ),
    "POST /key/update of a team A key to no team": lambda w, k: w.api.post(
        "/key/update", {"key": w.team_key(TEAM_A), "team_id": None}, key=k
    ),
    "POST /key/delete of a team A key": lambda w, k: w.api.post("/key/delete", {"keys": [w.team_key(TEAM_A)]}, key=k),
    "POST /key/delete of a team B key": lambda w, k: w.api.post("/key/delete", {"keys": [w.team_key(TEAM_B)]}, key=k),
    "POST /key/block of a team A key": _key_action("/key/block", TEAM_A),
    "POST /key/block of a team B key": _key_action("/key/block", TEAM_B),
    "POST /key/unblock of a team A key": _key_action("/key/unblock", TEAM_A),
    "POST /key/unblock of a team B key": _key_action("/key/unblock", TEAM_B),
    "POST /key/regenerate of a team A key": _key_action("/key/regenerate", TEAM_A),
    "POST /key/regenerate of a team B key": _key_action("/key/regenerate", TEAM_B),
    "POST /key/regenerate of another team A admin's key": lambda w, k: w.api.post(
        "/key/regenerate",
        {"key": w.api.new_key(team_id=TEAM_A, user_id=w.member("lead", TEAM_A, "admin"))["token_id"]},
        key=k,
    ),
    "GET /key/list": lambda w, k: w.api.get("/key/list", key=k),
    "POST /team/new": lambda w, k: w.api.post("/team/new", {"team_id": w.fresh("new-team")}, key=k),
    "GET /team/info of team A": lambda w, k: w.api.get("/team/info", {"team_id": TEAM_A}, key=k),
    "GET /team/info of team B": lambda w, k: w.api.get("/team/info", {"team_id": TEAM_B}, key=k),
    "POST /team/update of team A": lambda w, k: w.api.post(
        "/team/update", {"team_id": TEAM_A, "team_alias": "A"}, key=k
    ),
    "POST /team/delete": lambda w, k: w.api.post(
        "/team/delete", {"team_ids": [w.api.ok("POST", "/team/new", {"team_id": w.fresh("doomed")})["team_id"]]}, key=k
    ),
    "POST /team/member_add to team A": lambda w, k: w.api.post(
        "/team/member_add", {"team_id": TEAM_A, "member": {"user_id": w.fresh("joiner")}}, key=k
    ),
    "POST /team/member_add to team B": lambda w, k: w.api.post(
        "/team/member_add", {"team_id": TEAM_B, "member": {"user_id": w.fresh("joiner")}}, key=k
    ),
    "POST /team/member_add of a team B member to team A": lambda w, k: w.api.post(
        "/team/member_add", {"team_id": TEAM_A, "member": {"user_id": w.member("b-member", TEAM_B)}}, key=k
    ),
    "POST /team/member_delete from team A": _member_delete(TEAM_A),
    "POST /team/member_delete from team B": _member_delete(TEAM_B),
    "POST /team/member_delete of another team A admin": lambda w, k: w.api.post(
        "/team/member_delete", {"team_id": TEAM_A, "user_id": w.member("co-lead", TEAM_A, "admin")}, key=k
    ),
    "POST /team/member_update in team A": lambda w, k: w.api.post(
        "/team/member_update", {"team_id": TEAM_A, "user_id": w.member("mover", TEAM_A), "role": "user"}, key=k
    ),
    "POST /team/member_update in team B": lambda w, k: w.api.post(
        "/team/member_update", {"team_id": TEAM_B, "user_id": w.member("mover", TEAM_B), "role": "user"}, key=k
    ),
    "GET /team/list": lambda w, k: w.api.get("/team/list", key=k),
    "POST /user/new": lambda w, k: w.api.post("/user/new", {"user_id": w.fresh("hire")}, key=k),
    "GET /user/info of its own user": lambda w, k: w.api.get("/user/info", key=k),
    "GET /user/info of another user": lambda w, k: w.api.get("/user/info", {"user_id": "ub"}, key=k),
    "POST /user/update": lambda w, k: w.api.post("/user/update", {"user_id": "ub", "user_alias": "B"}, key=k),
    "POST /user/delete": lambda w, k: w.api.post(
        "/user/delete",
        {
            "user_ids": [
                w.api.ok("POST", "/user/new", {"user_id": w.fresh("quit"), "auto_create_key": False})["user_id"]
            ]
        },
        key=k,
    ),
    "GET /user/list": lambda w, k: w.api.get("/user/list", key=k),
    "POST /customer/new": lambda w, k: w.api.post("/customer/new", {"user_id": w.fresh("customer")}, key=k),
    "GET /customer/info": lambda w, k: w.api.get("/customer/info", {"end_user_id": w.customer()}, key=k),
    "POST /customer/update": lambda w, k: w.api.post(
        "/customer/update", {"user_id": w.customer(), "alias": "c"}, key=k
    ),
    "POST /customer/block": lambda w, k: w.api.post("/customer/block", {"user_ids": [w.customer()]}, key=k),
    "POST /customer/unblock": lambda w, k: w.api.post("/customer/unblock", {"user_ids": [w.customer()]}, key=k),
    "POST /customer/delete": lambda w, k: w.api.post("/customer/delete", {"user_ids": [w.customer()]}, key=k),
    "GET /customer/list": lambda w, k: w.api.get("/customer/list", key=k),
    "POST /budget/new": lambda w, k: w.api.post("/budget/new", {"budget_id": w.fresh("tier")}, key=k),
    "POST /budget/info": lambda w, k: w.api.post("/budget/info", {"budgets": [w.tier()]}, key=k),
    "POST /budget/update": lambda w, k: w.api.post("/budget/update", {"budget_id": w.tier(), "max_budget": 1}, key=k),
    "POST /budget/delete": lambda w, k: w.api.post("/budget/delete", {"id": w.tier()}, key=k),
    "GET /budget/list": lambda w, k: w.api.get("/budget/list", key=k),
    "GET /budget/settings": lambda w, k: w.api.get("/budget/settings", {"budget_id": w.tier()}, key=k),
    "POST /tag/new": lambda w, k: w.api.post("/tag/new", {"name": w.fresh("tag")}, key=k),
    "POST /tag/info": lambda w, k: w.api.post("/tag/info", {"names": [w.tag()]}, key=k),
    "POST /tag/update": lambda w, k: w.api.post("/tag/update", {"name": w.tag(), "max_budget": 1}, key=k),
    "POST /tag/delete": lambda w, k: w.api.post("/tag/delete", {"name": w.tag()}, key=k),
    "GET /tag/list": lambda w, k: w.api.get("/tag/list", key=k),
    "POST /key/generate for team A in a budget tier": lambda w, k: w.api.post(
        "/key/generate", {"team_id": TEAM_A, "budget_id": w.tier()}, key=k
    ),
    "POST /team/new in organization A": lambda w, k: w.api.post(
        "/team/new", {"team_id": w.fresh("new-team"), "organization_id": ORG_A}, key=k
    ),
    "POST /team/new in organization B": lambda w, k: w.api.post(
        "/team/new", {"team_id": w.fresh("new-team"), "organization_id": ORG_B}, key=k
    ),
    "POST /team/update of a team of organization A to organization B": lambda w, k: w.api.post(
        "/team/update", {"team_id": w.org_team(ORG_A), "organization_id": ORG_B}, key=k
    ),
    "POST /team/delete of a team of organization A": lambda w, k: w.api.post(
        "/team/delete", {"team_ids": [w.org_team(ORG_A)]}, key=k
    ),
    "POST /organization/new": lambda w, k: w.api.post(
        "/organization/new", {"organization_id": w.fresh("new-org"), "organization_alias": "n"}, key=k
    ),
    "GET /organization/info of organization A": lambda w, k: w.api.get(
        "/organization/info", {"organization_id": ORG_A}, key=k
    ),
    "GET /organization/info of organization B": lambda w, k: w.api.get(
        "/organization/info", {"organization_id": ORG_B}, key=k
    ),
    "POST /organization/info of organization A": lambda w, k: w.api.post(
        "/organization/info", {"organizations": [ORG_A]}, key=k
    ),
    "PATCH /organization/update of organization A": lambda w, k: w.api.send(
        "PATCH", "/organization/update", {"organization_id": ORG_A, "metadata": {"n": 1}}, key=k
    ),
    "DELETE /organization/delete": lambda w, k: w.api.send(
        "DELETE", "/organization/delete", {"organization_ids": [w.org()]}, key=k
    ),
    "GET /organization/list": lambda w, k: w.api.get("/organization/list", key=k),
    "POST /organization/member_add to organization A": lambda w, k: w.api.post(
        "/organization/member_add", {"organization_id": ORG_A, "member": {"user_id": w.fresh("joiner")}}, key=k
    ),
    "POST /organization/member_add to organization B": lambda w, k: w.api.post(
        "/organization/member_add", {"organization_id": ORG_B, "member": {"user_id": w.fresh("joiner")}}, key=k
    ),
    "POST /organization/member_add of an org_admin to organization A": lambda w, k: w.api.post(
        "/organization/member_add",
        {"organization_id": ORG_A, "member": {"user_id": w.fresh("joiner"), "role": "org_admin"}},
        key=k,
    ),
    "PATCH /organization/member_update in organization A": lambda w, k: w.api.send(
        "PATCH",
        "/organization/member_update",
        {"organization_id": ORG_A, "user_id": w.org_member(ORG_A), "role": "internal_user_viewer"},
        key=k,
    ),
    "PATCH /organization/member_update in organization B": lambda w, k: w.api.send(
        "PATCH",
        "/organization/member_update",
        {"organization_id": ORG_B, "user_id": w.org_member(ORG_B), "role": "internal_user_viewer"},
        key=k,
    ),
    "DELETE /organization/member_delete from organization A": lambda w, k: w.api.send(
        "DELETE", "/organization/member_delete", {"organization_id": ORG_A, "user_id": w.org_member(ORG_A)}, key=k
    ),
    "DELETE /organization/member_delete from organization B": lambda w, k: w.api.send(
        "DELETE", "/organization/member_delete", {"organization_id": ORG_B, "user_id": w.org_member(ORG_B)}, key=k
    ),
    "DELETE /organization/member_delete of another organization A org_admin": lambda w, k: w.api.send(
        "DELETE",
        "/organization/member_delete",
        {"organization_id": ORG_A, "user_id": w.org_member(ORG_A, "org_admin")},
        key=k,
    ),
    "POST /v1/chat/completions": lambda w, k: w.api.chat(k),
}


def test_readme_matrix_has_a_check_for_every_row() -> None:
    actors, rows = readme_matrix()
    assert actors == [
        "master key",
        "proxy_admin key",
        "proxy_admin_viewer key",
        "org admin key",
        "team admin key",
        "plain key",
    ]
    assert set(rows) == set(CHECKS)
    assert all(len(cells) == len(actors) and set(cells) <= set(EXPECTED_STATUS) for cells in rows.values())


def test_every_cell_of_the_permission_matrix(api: Api) -> None:
    actors, rows = readme_matrix()
    world = World(api)
    wrong: list[str] = []
    for route, cells in rows.items():
        for actor, cell in zip(actors, cells, strict=True):
            response = CHECKS[route](world, world.keys[actor])
            expected = EXPECTED_STATUS[cell]
            if response.status_code != expected:
                wrong.append(
                    f"{route} as {actor}: expected {expected}, got {response.status_code} {response.text[:200]}"
                )
            elif expected != 200:
                body: Any = response.json()
                assert set(body) == {"error"} and body["error"]["code"] == str(expected), body
    assert not wrong, "\n".join(wrong)
