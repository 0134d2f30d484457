"""Helpers for plugin routes (admin APIs): authenticate the caller, require admin rights.

Plugins import these from ``gateway.http``; they run the same ``gateway_auth`` hook as model
routes, so a virtual key is recognised everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway import _pipeline
from gateway._errors import PermissionDeniedError
from gateway._types import Principal, RequestContext
from gateway.http._requests import extract_api_key

if TYPE_CHECKING:
    from gateway._gateway import Gateway


async def authenticate_request(request: Request, gateway: Gateway) -> Principal:
    """Run ``gateway_auth`` for a non-model route; raises ``AuthenticationError`` (401)."""
    state = request.scope.get("state", {})
    ctx = RequestContext(
        request_id=state.get("request_id", ""),
        endpoint=request.url.path,  # type: ignore[arg-type]
        body={},
        headers=request.headers,
        client_ip=request.client.host if request.client else None,
        client_request_id=state.get("client_request_id"),
    )
    ctx.api_key = extract_api_key(request.headers, gateway.config.general_settings.litellm_key_header_name)
    return await _pipeline.authenticate(gateway, ctx)


def authorize_model(gateway: Gateway, principal: Principal, model: str) -> str:
    """The model group ``model`` names for this caller (its aliases applied), refused exactly as a
    model route refuses it: 404 ``model_not_found`` for a model the gateway does not serve, 401
    ``key_model_access_denied`` for one the key may not use.  For plugin routes about a model that
    do not call it (``/v1/messages/count_tokens``)."""
    ctx = RequestContext(request_id="", endpoint="chat", body={}, headers={})
    ctx.requested_model = model
    _pipeline.check_model_access(gateway, ctx, principal)
    return ctx.model_group


def require_admin(principal: Principal, route: str) -> None:
    if not principal.is_admin:
        raise PermissionDeniedError(
            f"{route} needs an admin key (the master key, or a key whose user is a proxy admin); this key may only "
            "call model routes and read its own information",
            type="auth_error",
            code="403",
        )


async def require_admin_request(request: Request, gateway: Gateway) -> Principal:
    principal = await authenticate_request(request, gateway)
    require_admin(principal, request.url.path)
    return principal
