"""``general_settings.allowed_ips`` for every route that is not a model route (those check it in
their lifecycle, so the refusal is in the client's format and recorded): 403 in OpenAI's shape
before anything else runs, except the load balancer's probes (see :mod:`gateway._access`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway._access import PROBE_PATHS, AccessPolicy, ip_refused
from gateway.http._responses import error_response


class AllowedIPsMiddleware:
    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] not in PROBE_PATHS:
            client = scope.get("client")
            address = client[0] if client else None
            if not self.policy.ip_allowed(address):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await error_response(ip_refused(address))(scope, receive, send)
                return
        await self.app(scope, receive, send)


__all__ = ["AllowedIPsMiddleware"]
