"""What the router serves, as LiteLLM's admin API reports it, and reloading the config file.

* ``GET /model/info`` (``/v1/model/info``): each deployment as a ``model_list`` entry, with its
  prices, limits, last health check and cooldown; secrets never (``litellm_params`` shows only
  keys known to hold no credential, ``api_base`` without userinfo or query).
* ``GET /model_group/info``: one entry per model group: its providers, prices, summed limits,
  and how many of its deployments are healthy or cooling down.
* ``POST /config/reload`` (admin): re-read the config file on this worker, and ask every other
  worker of the instance to do the same (``SIGHUP`` to the supervisor; see ``gateway._server``).

Any key may read the two info routes (LiteLLM's ``/model/info`` is an "LLM API route"); a key
sees the model groups it may use, an admin every one.  A failed reload is reported on
``/health/readiness/details`` as the ``config`` component.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway._errors import ConfigError, GatewayError
from gateway._log_payload import public_base
from gateway._logs import get_logger
from gateway.http._admin import authenticate_request, require_admin
from gateway.http._health_checks import CheckResult, health_checks
from gateway.http._openapi import Operation, describe
from gateway.http._readiness import add_readiness_check
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Deployment, Principal

log = get_logger("gateway.models")

#: ``litellm_params`` keys shown by ``/model/info``: none can hold a credential (an allow-list: a
#: provider's own option, a header map or a credentials file is never shown)
SHOWN_PARAMS = frozenset(
    {
        "model", "api_version", "custom_llm_provider", "rpm", "tpm", "weight", "timeout", "stream_timeout",
        "max_tokens", "max_completion_tokens", "region_name", "input_cost_per_token", "output_cost_per_token",
        "drop_params", "temperature", "top_p", "seed", "reasoning_effort", "mock_timeout", "tags", "order",
        "base_model",
    }
)  # fmt: skip
#: the environment variable ``gateway serve --workers N`` sets to the supervisor's pid: a reload
#: asked on one worker is passed to every worker through it
SUPERVISOR_PID = "GATEWAY_SUPERVISOR_PID"


def redacted_params(deployment: Deployment) -> dict[str, Any]:
    params = {k: v for k, v in deployment.params.items() if k in SHOWN_PARAMS}
    base = public_base(deployment.params.get("api_base"))
    if base:
        params["api_base"] = base
    return params


def _health(result: CheckResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "healthy": result.healthy,
        "reason": result.reason,
        "latency_ms": result.latency_ms,
        "checked_at": result.checked_at,
    }


async def _last_checks(gateway: Gateway, deployments: list[Deployment]) -> dict[str, CheckResult]:
    """The latest health check of each deployment this worker knows (from Redis when shared); no call."""
    checks = health_checks(gateway)
    found: dict[str, CheckResult] = {}
    for deployment in deployments:
        result = checks.results.get(deployment.id)
        if result is None and checks.shared and checks._redis is not None:
            result = await checks._read_shared(deployment.id)
        if result is not None:
            found[deployment.id] = result
    return found


def _visible(gateway: Gateway, principal: Principal) -> list[Deployment]:
    if principal.is_admin:
        return list(gateway.deployments)
    return [d for d in gateway.deployments if principal.may_use(d.model_group)]


def model_entry(gateway: Gateway, deployment: Deployment, check: CheckResult | None) -> dict[str, Any]:
    """One deployment in LiteLLM's ``/model/info`` shape, with the router's view of it."""
    info = dict(deployment.model_info)
    info["id"] = deployment.id
    info.setdefault("db_model", False)
    for key in ("input_cost_per_token", "output_cost_per_token"):
        if key not in info and key in deployment.params:
            info[key] = deployment.params[key]
    info["rpm"] = deployment.params.get("rpm")
    info["tpm"] = deployment.params.get("tpm")
    info["provider"] = deployment.provider
    cooling = gateway.router.cooldowns.seconds_left(deployment.id)
    info["cooldown_seconds_left"] = round(cooling, 3) if cooling > 0 else None
    info["health"] = _health(check)
    if deployment.unavailable is not None:
        info["unavailable"] = deployment.unavailable
    return {"model_name": deployment.model_group, "litellm_params": redacted_params(deployment), "model_info": info}


def _group_entry(
    gateway: Gateway, group: str, members: list[Deployment], checks: dict[str, CheckResult]
) -> dict[str, Any]:
    def first(key: str) -> Any:
        for d in members:
            value = d.model_info.get(key, d.params.get(key))
            if value is not None:
                return value
        return None

    def total(key: str) -> int | None:
        values = [d.params.get(key) for d in members]
        return sum(v for v in values if isinstance(v, int)) if any(isinstance(v, int) for v in values) else None

    cooling = [d.id for d in members if gateway.router.cooldowns.seconds_left(d.id) > 0]
    unhealthy = [d.id for d in members if d.id in checks and not checks[d.id].healthy]
    return {
        "model_group": group,
        "providers": sorted({d.provider for d in members}),
        "mode": first("mode") or "chat",
        "max_input_tokens": first("max_input_tokens"),
        "max_output_tokens": first("max_output_tokens"),
        "input_cost_per_token": first("input_cost_per_token"),
        "output_cost_per_token": first("output_cost_per_token"),
        "tpm": total("tpm"),
        "rpm": total("rpm"),
        "deployments": len(members),
        "deployments_cooling_down": cooling,
        "deployments_unhealthy": unhealthy,
    }


def _reading_route(gateway: Gateway, answer: Callable[[Request, Principal], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
            return json_response(await answer(request, principal))
        except GatewayError as exc:
            return error_response(exc)

    return endpoint


_MODEL_INFO = Operation(
    summary="Each deployment the key may use: prices, limits, health and cooldown (never a credential)",
    query={"litellm_model_id": {"type": "string"}},
    tags=("models",),
)


def model_admin_routes(gateway: Gateway) -> list[Route]:
    async def model_info(request: Request, principal: Principal) -> dict[str, Any]:
        wanted = request.query_params.get("litellm_model_id")
        chosen = [d for d in _visible(gateway, principal) if not wanted or d.id == wanted]
        checks = await _last_checks(gateway, chosen)
        return {"data": [model_entry(gateway, d, checks.get(d.id)) for d in chosen]}

    async def group_info(request: Request, principal: Principal) -> dict[str, Any]:
        wanted = request.query_params.get("model_group")
        groups: dict[str, list[Deployment]] = {}
        for d in _visible(gateway, principal):
            if not wanted or d.model_group == wanted:
                groups.setdefault(d.model_group, []).append(d)
        checks = await _last_checks(gateway, [d for members in groups.values() for d in members])
        return {"data": [_group_entry(gateway, g, members, checks) for g, members in groups.items()]}

    async def reload_config(request: Request) -> Response:
        try:
            principal = await authenticate_request(request, gateway)
            require_admin(principal, request.url.path)
            result = gateway.reload_config()
        except ConfigError as exc:
            return error_response(GatewayError(str(exc), status=400, type="invalid_request_error", code="400"))
        except GatewayError as exc:
            return error_response(exc)
        if result["status"] != "ok":
            return error_response(
                GatewayError(
                    f"the config file was not reloaded; the running config stays: {result['error']}",
                    status=400,
                    type="invalid_request_error",
                    code="400",
                )
            )
        result["workers"] = _signal_other_workers()
        return json_response(result)

    add_readiness_check(gateway, "config", _config_check(gateway))
    return [
        describe(Route("/model/info", _reading_route(gateway, model_info), methods=["GET"]), _MODEL_INFO),
        describe(Route("/v1/model/info", _reading_route(gateway, model_info), methods=["GET"]), _MODEL_INFO),
        describe(
            Route("/model_group/info", _reading_route(gateway, group_info), methods=["GET"]),
            Operation(
                summary="Each model group the key may use: its providers, prices and limits",
                query={"model_group": {"type": "string"}},
                tags=("models",),
            ),
        ),
        describe(
            Route("/config/reload", reload_config, methods=["POST"]),
            Operation(summary="Re-read the config file's model_list on every worker", auth="admin", tags=("models",)),
        ),
    ]


def _signal_other_workers() -> str:
    """Under ``gateway --workers N`` the supervisor passes ``SIGHUP`` on to every worker (this one
    reloads the same file again: harmless); a single process has no other worker."""
    raw = os.environ.get(SUPERVISOR_PID)
    if not raw or not raw.isdigit() or int(raw) != os.getppid():
        return "this process"
    try:
        os.kill(int(raw), signal.SIGHUP)
    except OSError as exc:  # the supervisor is gone: this worker reloaded, say the others may not have
        log.warning("config_reload_not_passed_on", error=f"{type(exc).__name__}: {exc}")
        return "this worker only"
    return "every worker"


def _config_check(gateway: Gateway) -> Callable[[], Any]:
    async def check() -> dict[str, Any]:
        if gateway.reload_error is not None:
            # the gateway serves on with the config it has: reported, not unhealthy
            return {"status": "reload_failed", "error": gateway.reload_error, "serving": "the config loaded before"}
        answer: dict[str, Any] = {"status": "ok", "path": str(gateway.config.path) if gateway.config.path else None}
        if gateway.reloaded_at is not None:
            answer["reloaded_seconds_ago"] = round(time.time() - gateway.reloaded_at, 1)
        return answer

    return check
