"""Health endpoints.

``/health`` with an admin key calls each deployment with a minimal request (LiteLLM's meaning) and
reports it healthy or unhealthy with the reason and the latency; the calls are rate limited and
shared (:mod:`gateway.http._health_checks`), so the route cannot be used to spend money.  With any
other key it reports the state of the key's deployments as the router sees it (cooling down or
not), which costs nothing.  ``/health/readiness`` and ``/health/liveliness`` need no key and say
nothing about the set-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway._errors import GatewayError, NotFoundError
from gateway.http._admin import authenticate_request
from gateway.http._health_checks import health_checks
from gateway.http._openapi import Operation, describe
from gateway.http._readiness import BAD, readiness_report, readiness_routes, redis_readiness
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway


_PUBLIC_PROBE = Operation(summary="Liveness: the process answers", auth="public")


def health_routes(gateway: Gateway) -> list[Route]:
    general = gateway.config.general_settings
    public_details = general.allow_public_health_readiness_details
    #: health_check_details: false shows each deployment's model only (LiteLLM's minimal view)
    details = general.health_check_details

    async def liveliness(request: Request) -> Response:
        return PlainTextResponse("I'm alive!")

    async def readiness(request: Request) -> Response:
        # anonymous (load balancers probe it without a key), so it says whether to send traffic
        # and nothing else: which plugins (and versions) run tells an attacker what to try
        if gateway.shutting_down:
            return json_response({"status": "shutting_down"}, status=503)
        if public_details:  # the operator chose to show the admin report to anyone (LiteLLM's switch)
            report, status = await readiness_report(gateway)
            return json_response(report, status=status)
        # the shared Redis down means requests are refused (gateway-spend's default policy) or
        # limits no longer shared: a probe must see it (only its status word: no address, no error)
        redis = await redis_readiness(gateway)
        if redis["status"] in BAD:
            return json_response({"status": "unhealthy", "redis": redis["status"]}, status=503)
        return json_response({"status": "healthy"})

    async def health(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        wanted = request.query_params.get("model")
        if wanted:
            wanted = gateway.resolve_model(wanted, principal)
        if wanted and wanted not in gateway.router.groups:
            return error_response(
                NotFoundError(
                    f"model {wanted!r} is not a model group of this gateway; GET /v1/models lists them",
                    param="model",
                    code="model_not_found",
                )
            )
        if principal.is_admin:
            return await live(wanted)
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
        return answer(healthy, unhealthy)

    def answer(healthy: list[dict[str, object]], unhealthy: list[dict[str, object]], **extra: object) -> Response:
        if not details:
            healthy = [{"model": e["model"]} for e in healthy]
            unhealthy = [{"model": e["model"]} for e in unhealthy]
        return json_response(
            {
                "healthy_endpoints": healthy,
                "unhealthy_endpoints": unhealthy,
                "healthy_count": len(healthy),
                "unhealthy_count": len(unhealthy),
                **extra,
            }
        )

    async def live(wanted: str | None) -> Response:
        checks = health_checks(gateway)
        chosen = [d for d in gateway.deployments if not wanted or d.model_group == wanted]
        results = await checks.check_all(chosen)
        cooling = gateway.router.cooldowns.cooling()  # after the checks: they may have started cooldowns
        healthy: list[dict[str, object]] = []
        unhealthy: list[dict[str, object]] = []
        for deployment, result in results:
            entry: dict[str, object] = {
                "model": deployment.model_group,
                "model_id": deployment.id,
                "provider": deployment.provider,
            }
            if result is None:  # another worker holds this window's check and has not reported yet
                unhealthy.append({**entry, "error": "a check by another worker has not reported yet; ask again"})
                continue
            entry["latency_ms"] = result.latency_ms
            entry["checked_at"] = round(result.checked_at, 3)
            if deployment.id in cooling:
                entry["cooldown_seconds_left"] = cooling[deployment.id]
            if result.healthy:
                healthy.append({**entry, "note": result.reason} if result.reason else entry)
            else:
                unhealthy.append({**entry, "error": result.reason})
        # how old an answer may be: results are reused for this long, so asking often costs nothing
        return answer(healthy, unhealthy, checks_reused_for_seconds=round(checks.fresh_for, 3))

    return [
        describe(Route("/health/liveliness", liveliness, methods=["GET"]), _PUBLIC_PROBE),
        describe(Route("/health/liveness", liveliness, methods=["GET"]), _PUBLIC_PROBE),
        describe(
            Route("/health/readiness", readiness, methods=["GET"]),
            Operation(summary="Readiness: whether this process can serve (its database, its cache)", auth="public"),
        ),
        describe(
            Route("/health", health, methods=["GET"]),
            Operation(
                summary="The deployments' health: a live check for admin keys, the router's view for other keys",
                query={"model": {"type": "string"}},
            ),
        ),
        *readiness_routes(gateway),
    ]
