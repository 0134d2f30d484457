"""``GET /openapi.json`` and the API reference at ``GET /docs`` (Swagger UI), both public.

LiteLLM serves its Swagger UI and ``/openapi.json`` to anyone by default, and ``NO_DOCS=True``
turns the UI off; here ``NO_DOCS=True`` takes both away (the document names every admin route,
which an operator hiding the UI will not want listed either).  Swagger UI's files come from the
``swagger-ui-bundle`` package, read once at start-up: no CDN, nothing fetched at run time.  The
page runs no inline script (its start-up code is ``/docs/init.js``), so its Content-Security-Policy
allows scripts, styles and requests from this origin only (images also as ``data:`` URIs, which
Swagger UI's stylesheet uses for its icons).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway._errors import NotFoundError
from gateway._logs import get_logger
from gateway.http._openapi import Operation, describe
from gateway.http._responses import error_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway

log = get_logger("gateway.docs")

#: ``gateway.state`` key of the document's bytes (made by :func:`gateway._app.collect_routes`)
STATE_KEY = "core.openapi"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_PAGE_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "cache-control": "no-cache"}

_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gateway API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the document to a public validator
_INIT = b"""window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    persistAuthorization: false
  });
};
"""

#: asset name -> (the file in swagger-ui-bundle, media type)
_ASSETS = {
    "swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
}


def docs_disabled() -> bool:
    """LiteLLM's ``NO_DOCS`` switch."""
    return os.environ.get("NO_DOCS", "").strip().lower() in ("true", "1", "yes")


def _load_assets() -> dict[str, tuple[bytes, str]]:
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    assets = {name: ((swagger_ui_path / file).read_bytes(), media) for name, (file, media) in _ASSETS.items()}
    assets["init.js"] = (_INIT, "text/javascript; charset=utf-8")
    return assets


def docs_routes(gateway: Gateway) -> list[BaseRoute]:
    if docs_disabled():
        return []
    moved = os.environ.get("DOCS_URL")
    if moved and moved.rstrip("/") != "/docs":  # LiteLLM's switch to move its UI: not silently ignored
        log.warning(
            "docs_url_not_read", DOCS_URL=moved, served_at="/docs", hint="unset DOCS_URL; NO_DOCS=True removes /docs"
        )
    assets = _load_assets()

    async def openapi(request: Request) -> Response:
        return Response(gateway.state[STATE_KEY], media_type="application/json")

    async def page(request: Request) -> Response:
        return Response(_PAGE, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["asset"]
        found = assets.get(name)
        if found is None:
            return error_response(
                NotFoundError(f"no file {name!r} under /docs; the page loads {', '.join(sorted(assets))}", code="404")
            )
        body, media_type = found
        return Response(body, media_type=media_type, headers=_PAGE_HEADERS)

    text = {"type": "string"}
    return [
        describe(
            Route("/openapi.json", openapi, methods=["GET"]),
            Operation(
                summary="This document: every route the gateway serves (OpenAPI 3.0)",
                auth="public",
                response={"type": "object", "required": ["openapi", "paths"]},
                tags=("docs",),
            ),
        ),
        describe(
            Route("/docs", page, methods=["GET"]),
            Operation(summary="The API reference (Swagger UI)", auth="public", media_type="text/html", tags=("docs",)),
        ),
        describe(
            Route("/docs/{asset}", asset, methods=["GET"]),
            Operation(
                summary="Swagger UI's files, from the swagger-ui-bundle package",
                auth="public",
                media_type="text/plain",
                response=text,
                tags=("docs",),
            ),
        ),
    ]


def encode_document(document: object) -> bytes:
    return orjson.dumps(document)
