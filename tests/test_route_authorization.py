"""The authorization matrix of every route the gateway serves with every plugin installed.

Each route has a row saying who may call it; a route without a row fails the test, so a new route
cannot be added without deciding.  Three callers are tried on every route, with the body the fuzz
test starts from (tests/test_fuzz_routes.py, same gateway process set-up):

* no credential: 401 on every route but the public ones;
* a virtual key of no team and no user, without admin rights: 403 on admin routes, served on key
  routes;
* the master key: never 401 or 403.

``delegated`` routes (keys, teams, users, spend) answer non-admin keys by what the key owns or
administers: their full matrix, role by role, is the virtual-keys README's, checked cell by cell by
plugins/governance/virtual-keys/tests/test_permissions.py.  Here they must refuse the anonymous caller
and serve the master key.
"""

# ruff: noqa: F811 - pytest fixtures imported from the fuzz test are used as parameters of the same name

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import yaml

# sibling test modules by their plain name: core/tests is a package named "tests", so
# "tests.<module>" does not name them reliably (it depends on the order pytest collects in)
sys.path.insert(0, str(Path(__file__).parent))
from test_fuzz_routes import (  # noqa: F401 - fixtures used by name
    MASTER,
    ROUTES,
    GatewayProcess,
    Route,
    Target,
    anthropic_upstream,
    gateway,
    route_path,
    target,
)

Access = Literal["public", "key", "delegated", "admin", "session"]

#: (method, path) -> who may call it
MATRIX: dict[tuple[str, str], Access] = {
    **{
        ("POST", f"{prefix}/{path}"): "key"
        for prefix in ("/v1", "")
        for path in ("chat/completions", "completions", "embeddings")
    },
    **{
        ("POST", f"/openai/deployments/{{deployment}}/{path}"): "key"
        for path in ("chat/completions", "completions", "embeddings")
    },
    ("POST", "/v1/messages"): "key",
    ("POST", "/v1/messages/count_tokens"): "key",
    # gateway-responses: a stored response is the creating key's own (another key gets 404)
    ("POST", "/v1/responses"): "key",
    ("GET", "/v1/responses/{response_id}"): "key",
    ("DELETE", "/v1/responses/{response_id}"): "key",
    ("GET", "/v1/responses/{response_id}/input_items"): "key",
    ("GET", "/v1/models"): "key",
    ("GET", "/models"): "key",
    ("GET", "/v1/models/{model_id:path}"): "key",
    ("GET", "/models/{model_id:path}"): "key",
    ("GET", "/guardrails/list"): "key",
    ("GET", "/health/liveliness"): "public",
    ("GET", "/health/liveness"): "public",
    ("GET", "/health/readiness"): "public",
    # the API reference (core): public, as LiteLLM serves its /docs and /openapi.json; NO_DOCS=True removes them
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/{asset}"): "public",
    ("GET", "/health"): "key",  # admin keys: a live check; other keys: the router's view of their models
    ("GET", "/routes"): "admin",
    ("GET", "/health/readiness/details"): "admin",
    # what the router serves (core): any key reads the models it may use; reloading the config is an admin's
    ("GET", "/model/info"): "key",
    ("GET", "/v1/model/info"): "key",
    ("GET", "/model_group/info"): "key",
    ("POST", "/config/reload"): "admin",
    # gateway-model-store: models at runtime
    ("POST", "/model/new"): "admin",
    ("POST", "/model/update"): "admin",
    ("POST", "/model/delete"): "admin",
    # pass-through (core): the caller's own calls to a vendor's API, governed like chat
    **{
        (method, f"{prefix}/{{path:path}}"): "key"
        for prefix in ("/openai", "/azure", "/anthropic", "/gemini", "/bedrock", "/vertex_ai")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    **{
        ("POST", path): "delegated"
        for path in (
            "/key/generate",
            "/key/update",
            "/key/delete",
            "/key/block",
            "/key/unblock",
            "/key/regenerate",
            "/key/{key}/regenerate",
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
    },
    **{
        ("GET", path): "delegated"
        for path in ("/key/info", "/key/list", "/team/info", "/team/list", "/user/info", "/user/list")
    },
    # gateway-virtual-keys: budget tiers, for admins and admin viewers
    **{
        (method, f"/budget/{name}"): "admin"
        for method, name in (
            ("POST", "new"),
            ("POST", "info"),
            ("POST", "update"),
            ("POST", "delete"),
            ("GET", "list"),
            ("GET", "settings"),
        )
    },
    # gateway-virtual-keys: tags with budgets, for admins and admin viewers
    **{
        (method, f"/tag/{name}"): "admin"
        for method, name in (("POST", "new"), ("POST", "info"), ("POST", "update"), ("POST", "delete"), ("GET", "list"))
    },
    # gateway-virtual-keys: customers (LiteLLM's /end_user/* are aliases), for admins and admin viewers
    **{
        (method, f"/{prefix}/{name}"): "admin"
        for prefix in ("customer", "end_user")
        for method, name in (
            ("POST", "new"),
            ("GET", "info"),
            ("POST", "update"),
            ("POST", "delete"),
            ("POST", "block"),
            ("POST", "unblock"),
            ("GET", "list"),
        )
    },
    # gateway-virtual-keys: organizations; admins create, change and delete them, org admins manage
    # their members, members read them (matrix role by role: the virtual-keys README)
    ("POST", "/organization/new"): "admin",
    ("PATCH", "/organization/update"): "admin",
    ("DELETE", "/organization/delete"): "admin",
    ("GET", "/organization/info"): "delegated",
    ("POST", "/organization/info"): "delegated",
    ("GET", "/organization/list"): "delegated",
    ("POST", "/organization/member_add"): "delegated",
    ("PATCH", "/organization/member_update"): "delegated",
    ("DELETE", "/organization/member_delete"): "delegated",
    **{("GET", path): "delegated" for path in ("/spend/logs", "/spend/logs/v2", "/global/spend/report")},
    ("GET", "/spend/ledger/status"): "admin",
    # gateway-cache
    ("GET", "/cache/ping"): "admin",
    ("POST", "/cache/delete"): "admin",
    # gateway-admin-ui: the page and its assets are public; its other routes take the UI's session
    # cookie (login: the page's own Origin), never a bearer key, the master key's included
    ("GET", "/ui"): "public",
    ("GET", "/ui/"): "public",
    ("GET", "/ui/assets/{asset:path}"): "public",
    ("POST", "/ui/login"): "session",
    ("POST", "/ui/logout"): "session",
    ("GET", "/ui/session"): "session",
    **{(method, "/ui/api/{path:path}"): "session" for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
}


def served_routes(gateway: GatewayProcess, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    monkeypatch.delenv("GATEWAY_LOAD_PLUGINS", raising=False)  # every installed plugin, as the process
    from starlette.routing import Route as StarletteRoute

    from gateway import Gateway, create_app

    config = yaml.safe_load((gateway.log_path.parent / "gateway.yaml").read_text())
    app = create_app(Gateway(config))
    return {
        (method, route.path)
        for route in app.starlette.routes
        if isinstance(route, StarletteRoute)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_route_has_a_row(gateway: GatewayProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    served = served_routes(gateway, monkeypatch)
    assert served - MATRIX.keys() == set(), "routes without a row in tests/test_route_authorization.py's MATRIX"
    assert MATRIX.keys() - served == set(), "rows for routes the gateway does not serve"


def call(gateway: GatewayProcess, route: Route, target: Target, key: str | None) -> httpx.Response:
    body: dict[str, Any] = route.valid(target)[0]
    path = route_path(route, target)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if route.method in ("GET", "DELETE"):
        url = f"{gateway.url}{path}?{urllib.parse.urlencode(body)}"
        return httpx.request(route.method, url, headers=headers, timeout=30)
    return httpx.request(route.method, gateway.url + path, content=json.dumps(body), headers=headers, timeout=30)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_who_may_call_each_route(gateway: GatewayProcess, target: Target, route: Route) -> None:
    access = MATRIX.get((route.method, route.path))
    assert access is not None, f"{route.method} {route.path} has no row in MATRIX: decide who may call it"
    anonymous = call(gateway, route, target, None)
    plain = call(gateway, route, target, target.virtual_key)
    master = call(gateway, route, target, MASTER)
    if access == "session":  # a bearer key is not a session: every caller here is refused
        for reply in (anonymous, plain, master):
            assert reply.status_code in (401, 403), reply.text
        return
    if access == "public":
        assert anonymous.status_code not in (401, 403), anonymous.text
    else:
        assert anonymous.status_code == 401, anonymous.text
    if access == "admin":
        assert plain.status_code == 403, plain.text
    elif access in ("key", "public"):
        assert plain.status_code not in (401, 403), plain.text
    assert master.status_code not in (401, 403), master.text
