"""``GET /v1/models``: the models the caller may use.

LiteLLM's query flags work too: ``include_model_access_groups=true`` adds the access groups
(``model_info.access_groups``) whose every model the caller may use, ``only_model_access_groups=true``
lists only those groups.
"""

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


def access_groups(gateway: Gateway) -> dict[str, frozenset[str]]:
    """Access group name -> the model groups whose deployments name it in ``model_info.access_groups``."""
    groups: dict[str, set[str]] = {}
    for deployment in gateway.deployments:
        for name in deployment.model_info.get("access_groups") or ():
            groups.setdefault(str(name), set()).add(deployment.model_group)
    return {name: frozenset(members) for name, members in sorted(groups.items())}


def _flag(request: Request, name: str) -> bool:
    return (request.query_params.get(name) or "").lower() in ("1", "true", "yes")


def models_endpoint(gateway: Gateway) -> Callable[[Request], Any]:
    created = int(time.time())
    owners = {name: group[0].provider for name, group in gateway.router.groups.items()}
    groups = access_groups(gateway)

    async def list_models(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        only_groups = _flag(request, "only_model_access_groups")
        names = [] if only_groups else gateway.model_names_for(principal)
        if only_groups or _flag(request, "include_model_access_groups"):
            names += [name for name, members in groups.items() if all(principal.may_use(m) for m in members)]
        data = [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": owners.get(gateway.resolve_model(name, principal), "gateway"),
            }
            for name in names
        ]
        return json_response({"object": "list", "data": data})

    return list_models


def openai_routes(gateway: Gateway) -> list[Route]:
    """``GET /v1/models`` (and ``/models``); the POST model routes are surfaces (see :mod:`.serve`)."""
    models = models_endpoint(gateway)
    return [Route(f"{prefix}/models", models, methods=["GET"]) for prefix in ("/v1", "")]
