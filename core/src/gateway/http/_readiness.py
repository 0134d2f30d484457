"""``GET /health/readiness/details`` (admin): the database, Redis, each plugin, and whatever the
plugins report (the spend ledger's backlog ...), with one overall status.

Core does not know what plugins depend on: a plugin (or a kernel package such as
``gateway.storage``) adds a check with :func:`add_readiness_check`, once, at start-up; the route
runs every check when an admin asks, each bounded by :data:`CHECK_TIMEOUT`, never on the
request path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway._errors import GatewayError
from gateway._strategies.redis_state import RedisRouterState, redis_location
from gateway.http._admin import require_admin_request
from gateway.http._health_checks import health_checks
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway

#: a check answers ``{"status": ..., <details>}``
ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]

STATE_KEY = "core.readiness_checks"
#: seconds each check may take before it is reported as timed out
CHECK_TIMEOUT = 3.0
#: statuses that make the report unhealthy (503)
BAD = frozenset({"unreachable", "error", "degraded", "timed out"})
#: names the report itself uses: a check cannot take them
RESERVED = frozenset({"status", "redis", "plugins", "shutting_down"})


def add_readiness_check(gateway: Gateway, component: str, check: ReadinessCheck) -> None:
    """Report ``component`` on ``/health/readiness/details`` with what ``check()`` answers.

    ``check`` is an ``async`` function answering ``{"status": "connected" | "ok" | "unreachable" |
    "error" | "degraded", <details>}``; a bad status makes the report unhealthy.  Add it once, at
    start-up (``gateway_configure`` or the lifespan); adding a component twice replaces the first.
    The answer is shown to admins: never put a secret (a password, a key) in it.
    """
    if component in RESERVED:
        raise ValueError(f"readiness component {component!r} is reserved; choose another name")
    checks: dict[str, ReadinessCheck] = gateway.state.setdefault(STATE_KEY, {})
    checks[component] = check


async def _run(check: ReadinessCheck) -> dict[str, Any]:
    try:
        result = await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return {"status": "timed out", "error": f"no answer within {CHECK_TIMEOUT:g} s"}
    except Exception as exc:
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return result if isinstance(result, dict) else {"status": "error", "error": f"the check answered {result!r}"}


def _plugins(gateway: Gateway) -> dict[str, dict[str, Any]]:
    plugins: dict[str, dict[str, Any]] = {}
    for name, record in gateway.pm.records.items():
        entry: dict[str, Any] = {
            "status": record.status,
            "distribution": record.distribution,
            "builtin": record.builtin,
        }
        if record.error:
            entry["error"] = record.error.splitlines()[0]
        plugins[name] = entry
    return plugins


async def readiness_report(gateway: Gateway) -> tuple[dict[str, Any], int]:
    """The report and its HTTP status: 200 when every part is well, else 503."""
    checks: dict[str, ReadinessCheck] = gateway.state.get(STATE_KEY, {})
    names = list(checks)
    redis, *results = await asyncio.gather(redis_readiness(gateway), *(_run(checks[name]) for name in names))
    report: dict[str, Any] = {"status": "healthy", "shutting_down": gateway.shutting_down, "redis": redis}
    if "database" not in checks:
        report["database"] = {"status": "not used", "note": "no installed plugin keeps data in a database"}
    report.update(zip(names, results, strict=True))
    report["plugins"] = _plugins(gateway)
    unhealthy = gateway.shutting_down or any(
        isinstance(part, dict) and part.get("status") in BAD for part in (redis, *results)
    )
    if unhealthy:
        report["status"] = "unhealthy"
    return report, 503 if unhealthy else 200


def readiness_routes(gateway: Gateway) -> list[Route]:
    async def details(request: Request) -> Response:
        try:
            await require_admin_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        report, status = await readiness_report(gateway)
        return json_response(report, status=status)

    return [Route("/health/readiness/details", details, methods=["GET"])]


async def redis_readiness(gateway: Gateway) -> dict[str, Any]:
    """The Redis the router (and the health checks) share state through, if any."""
    if redis_location(gateway.config.router_settings) is None:
        return {"status": "not configured", "scope": "routing state and health checks are per worker"}
    started = time.perf_counter()
    try:
        await asyncio.wait_for(health_checks(gateway).ping(), CHECK_TIMEOUT)
    except Exception as exc:
        return {"status": "unreachable", "error": f"{type(exc).__name__}: {exc}"}
    state = gateway.router.state
    synced = state.healthy if isinstance(state, RedisRouterState) else None
    return {
        "status": "connected",
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "router_state_synced": synced,
    }
