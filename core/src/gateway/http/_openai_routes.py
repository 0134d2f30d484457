"""``GET /v1/models``: the models the caller may use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway._errors import GatewayError
from gateway.http._admin import authenticate_request
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway


def models_endpoint(gateway: Gateway) -> Callable[[Request], Any]:
    created = int(time.time())
    owners = {name: group[0].provider for name, group in gateway.router.groups.items()}

    async def list_models(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        data = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": owners.get(gateway.resolve_model(name, principal), "gateway"),
            }
            for name in gateway.model_names_for(principal)
        ]
        return json_response({"object": "list", "data": data})

    return list_models


def openai_routes(gateway: Gateway) -> list[Route]:
    """``GET /v1/models`` (and ``/models``); the POST model routes are surfaces (see :mod:`.serve`)."""
    models = models_endpoint(gateway)
    return [Route(f"{prefix}/models", models, methods=["GET"]) for prefix in ("/v1", "")]
