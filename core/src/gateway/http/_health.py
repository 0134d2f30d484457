"""Health endpoints.

``/health`` reports each deployment's state as the router sees it (cooling down or not, recent
failures) instead of calling every upstream: a health probe should cost nothing and never spend
money or rate limit (LiteLLM's ``/health`` makes a real call to every deployment).
``/health/readiness`` and ``/health/liveliness`` need no key and say nothing about the set-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway._errors import GatewayError
from gateway.http._admin import authenticate_request
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway


def health_routes(gateway: Gateway) -> list[Route]:
    async def liveliness(request: Request) -> Response:
        return PlainTextResponse("I'm alive!")

    async def readiness(request: Request) -> Response:
        # anonymous (load balancers probe it without a key), so it says whether to send traffic
        # and nothing else: which plugins (and versions) run tells an attacker what to try
        if gateway.shutting_down:
            return json_response({"status": "shutting_down"}, status=503)
        return json_response({"status": "healthy"})

    async def health(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        wanted = request.query_params.get("model")
        cooling = gateway.router.cooldowns.cooling()
        healthy: list[dict[str, object]] = []
        unhealthy: list[dict[str, object]] = []
        for deployment in gateway.deployments:
            if wanted and deployment.model_group != wanted:
                continue
            if not principal.may_use(deployment.model_group):
                continue
            entry: dict[str, object] = {
                "model": deployment.model_group,
                "model_id": deployment.id,
                "provider": deployment.provider,
            }
            if deployment.unavailable is not None:
                unhealthy.append({**entry, "error": deployment.unavailable})
            elif deployment.id in cooling:
                unhealthy.append(
                    {**entry, "error": "cooling down after failures", "cooldown_seconds_left": cooling[deployment.id]}
                )
            else:
                healthy.append(entry)
        return json_response(
            {
                "healthy_endpoints": healthy,
                "unhealthy_endpoints": unhealthy,
                "healthy_count": len(healthy),
                "unhealthy_count": len(unhealthy),
            }
        )

    return [
        Route("/health/liveliness", liveliness, methods=["GET"]),
        Route("/health/liveness", liveliness, methods=["GET"]),
        Route("/health/readiness", readiness, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
