"""``GET /openapi.json`` lists every route ``GET /routes`` lists, with what each declares, and ``GET /docs``
serves Swagger UI from the installed package under a Content-Security-Policy of this origin only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import Gateway, create_app, hookimpl
from gateway.http import Operation, describe, json_response
from gateway.testing import asgi_lifespan

pytestmark = pytest.mark.anyio

MASTER = "sk-openapi-master-0123456789"
CONFIG: dict[str, Any] = {
    "model_list": [{"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o"}}],
    "general_settings": {"master_key": MASTER},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the gateway runs on asyncio


class WidgetPlugin:
    """A plugin with one described route and one that declares nothing."""

    name = "widgets"

    @hookimpl
    def gateway_register_routes(self, gateway: Gateway) -> list[Route]:
        async def new(request: Request) -> Response:
            return json_response({"id": "w1"})

        return [
            describe(
                Route("/widget/new", new, methods=["POST"]),
                Operation(
                    summary="Create a widget",
                    auth="admin",
                    request={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                    response={"type": "object", "properties": {"id": {"type": "string"}}},
                ),
            ),
            Route("/widget/{widget_id}", new, methods=["GET", "DELETE"]),
        ]


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock")
    monkeypatch.delenv("NO_DOCS", raising=False)
    app = create_app(Gateway(CONFIG, plugins=[WidgetPlugin()]))
    async with asgi_lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        yield c


def _template(path: str) -> str:
    return re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", path)


async def test_the_document_lists_every_route_of_the_route_table_with_its_plugin(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    table = (await client.get("/routes", headers={"Authorization": f"Bearer {MASTER}"})).json()["routes"]
    listed = {
        (path, method.upper(), operation["x-gateway-plugin"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    served = {(_template(row["path"]), method, row["plugin"]) for row in table for method in row["methods"]}
    assert listed == served
    assert document["openapi"] == "3.0.3"


async def test_a_described_route_has_its_schemas_and_an_undescribed_one_a_generic_operation(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    new = paths["/widget/new"]["post"]
    assert new["summary"] == "Create a widget"
    assert new["requestBody"]["content"]["application/json"]["schema"]["required"] == ["name"]
    assert new["responses"]["200"]["content"]["application/json"]["schema"]["properties"] == {"id": {"type": "string"}}
    assert "Admin keys only." in new["description"]
    generic = paths["/widget/{widget_id}"]["get"]
    assert generic["responses"]["200"]["content"]["application/json"]["schema"] == {}
    assert generic["parameters"] == [
        {"name": "widget_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    ]
    assert set(paths["/widget/{widget_id}"]) == {"get", "delete"}


async def test_model_routes_have_their_surfaces_schemas_and_error_envelopes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    chat = paths["/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["model", "messages"]
    assert body["properties"]["model"]["example"] == "gpt-4o"  # a model this gateway serves
    answers = chat["responses"]["200"]["content"]
    assert answers["application/json"]["schema"]["properties"]["object"]["enum"] == ["chat.completion"]
    assert "text/event-stream" in answers
    assert chat["responses"]["default"]["content"]["application/json"]["schema"]["required"] == ["error"]
    # public probes need no credential; everything else takes the bearer key
    assert paths["/health/liveliness"]["get"]["security"] == []
    assert "security" not in paths["/routes"]["get"]  # the document's default: the bearer key


async def test_docs_and_the_document_are_public_and_the_page_loads_only_from_this_origin(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/openapi.json")).status_code == 200
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "http" not in csp
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts and all(src.startswith("/docs/") for src in scripts)
    for src in scripts:
        asset = await client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 0, src
    assert "SwaggerUIBundle" in (await client.get("/docs/swagger-ui-bundle.js")).text
    missing = await client.get("/docs/nothing.js")
    assert missing.status_code == 404 and "swagger-ui-bundle.js" in missing.json()["error"]["message"]


async def test_no_docs_takes_the_page_and_the_document_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock")
    monkeypatch.setenv("NO_DOCS", "True")
    app = create_app(Gateway(CONFIG))
    async with asgi_lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        assert (await c.get("/docs")).status_code == 404
        assert (await c.get("/openapi.json")).status_code == 404
