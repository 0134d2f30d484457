"""``GET /routes`` lists every route the gateway serves with the plugin serving it (admin only)."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway import Principal, hookimpl
from gateway.testing import FakeUpstream

from .conftest import MASTER, openai_config

USER_KEY = "sk-routes-user"


class Extras:
    """A plugin with a route of its own and a plain (non-admin) key."""

    @hookimpl
    def gateway_register_routes(self) -> list[Route]:
        async def hello(request: Request) -> Response:
            return PlainTextResponse("hello")

        return [Route("/extras/hello", hello, methods=["GET", "POST"])]

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        return Principal(id="user-key", kind="virtual_key") if api_key == USER_KEY else None


def test_routes_names_the_plugin_serving_each_route(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[("extras", Extras())])
    answer = httpx.get(gw.url + "/routes", headers={"Authorization": f"Bearer {MASTER}"})
    assert answer.status_code == 200, answer.text
    table = {row["path"]: row for row in answer.json()["routes"]}
    assert answer.json()["count"] == len(answer.json()["routes"])
    assert table["/extras/hello"] == {
        "path": "/extras/hello",
        "methods": ["GET", "POST"],
        "plugin": "extras",
        "distribution": None,  # registered in code, not installed
    }
    # model routes: the plugin whose surface claims the path (here core's built-in OpenAI surfaces)
    assert table["/v1/chat/completions"]["plugin"] == "openai_surfaces"
    assert table["/v1/chat/completions"]["methods"] == ["POST"]
    assert table["/v1/chat/completions"]["distribution"] == "gateway"
    assert table["/health"]["plugin"] == "core" and table["/routes"]["plugin"] == "core"
    assert table["/health"]["methods"] == ["GET"]  # HEAD, which Starlette adds, is not listed


def test_routes_is_for_admins(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[("extras", Extras())])
    assert httpx.get(gw.url + "/routes").status_code == 401
    refused = httpx.get(gw.url + "/routes", headers={"Authorization": f"Bearer {USER_KEY}"})
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
