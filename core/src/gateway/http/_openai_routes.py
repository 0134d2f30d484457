"""``GET /v1/models``: the models the caller may use; ``GET /v1/models/{model_id}``: one of them.

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

from gateway._errors import GatewayError, NotFoundError
from gateway.http._admin import authenticate_request
from gateway.http._openapi import Operation, describe
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Principal


def access_groups(gateway: Gateway) -> dict[str, frozenset[str]]:
    """Access group name -> the model groups whose deployments name it in ``model_info.access_groups``."""
    groups: dict[str, set[str]] = {}
    for deployment in gateway.deployments:
        for name in deployment.model_info.get("access_groups") or ():
            groups.setdefault(str(name), set()).add(deployment.model_group)
    return {name: frozenset(members) for name, members in sorted(groups.items())}


def _flag(request: Request, name: str) -> bool:
    return (request.query_params.get(name) or "").lower() in ("1", "true", "yes")


class ModelObjects:
    """OpenAI's model objects for the names a caller may use (the router's groups of the moment:
    models added at runtime and reloads included)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.created = int(time.time())

    def model(self, name: str, principal: Principal) -> dict[str, Any]:
        group = self.gateway.router.groups.get(self.gateway.resolve_model(name, principal))
        owner = group[0].provider if group else "gateway"
        return {"id": name, "object": "model", "created": self.created, "owned_by": owner}


def models_endpoint(gateway: Gateway) -> Callable[[Request], Any]:
    objects = ModelObjects(gateway)
    groups = access_groups(gateway)

    def deployments_changed() -> None:  # a reload or a model added at runtime may name access groups
        nonlocal groups
        groups = access_groups(gateway)

    gateway.add_deployments_listener(deployments_changed)

    async def list_models(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        only_groups = _flag(request, "only_model_access_groups")
        names = [] if only_groups else gateway.model_names_for(principal)
        if only_groups or _flag(request, "include_model_access_groups"):
            names += [name for name, members in groups.items() if all(principal.may_use(m) for m in members)]
        return json_response({"object": "list", "data": [objects.model(name, principal) for name in names]})

    return list_models


def model_endpoint(gateway: Gateway) -> Callable[[Request], Any]:
    """One model, as OpenAI's ``GET /v1/models/{model_id}`` answers it; a name the caller may not use is
    a 404 like a name that does not exist (a key learns nothing about models it cannot call)."""
    objects = ModelObjects(gateway)

    async def retrieve_model(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
            name = request.path_params["model_id"]
            if name not in gateway.model_names_for(principal):
                raise NotFoundError(
                    f"The model {name!r} does not exist or this key may not use it. Call GET /v1/models to see the "
                    "models this key may use.",
                    type="invalid_request_error",
                    param="model",
                    code="model_not_found",
                )
        except GatewayError as exc:
            return error_response(exc)
        return json_response(objects.model(name, principal))

    return retrieve_model


_MODEL = {
    "type": "object",
    "required": ["id", "object"],
    "properties": {"id": {"type": "string"}, "object": {"type": "string"}},
}
_LIST = Operation(
    summary="The model groups this key may use (OpenAI's list)",
    response={
        "type": "object",
        "required": ["object", "data"],
        "properties": {"data": {"type": "array", "items": _MODEL}},
    },
    tags=("models",),
)
_ONE = Operation(summary="One model group (404 for one the key may not use)", response=_MODEL, tags=("models",))


def openai_routes(gateway: Gateway) -> list[Route]:
    """``GET /v1/models`` and ``/v1/models/{model_id}`` (and without ``/v1``); the POST model routes are
    surfaces (see :mod:`.serve`).  A model name may hold slashes (``openai/gpt-4o``)."""
    models, model = models_endpoint(gateway), model_endpoint(gateway)
    return [
        route
        for prefix in ("/v1", "")
        for route in (
            describe(Route(f"{prefix}/models", models, methods=["GET"]), _LIST),
            describe(Route(f"{prefix}/models/{{model_id:path}}", model, methods=["GET"]), _ONE),
        )
    ]
