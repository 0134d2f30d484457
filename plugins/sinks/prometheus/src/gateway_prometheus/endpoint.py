"""``GET /metrics``: the Prometheus text format (all workers merged in multiprocess mode),
for admins unless the operator opted out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from gateway import GatewayError
from gateway.http import error_response, require_admin_request

from .config import PrometheusConfig

if TYPE_CHECKING:
    from gateway import Gateway


def requires_auth(gateway: Gateway, config: PrometheusConfig) -> bool:
    """Protected unless the operator opted out (``plugins.prometheus.require_auth: false``, or
    LiteLLM's ``litellm_settings.require_auth_for_metrics_endpoint: false``).  A gateway that runs
    without any credential (open access on loopback) has no admin key to ask for."""
    wanted = config.require_auth
    if wanted is None:
        wanted = gateway.config.litellm_settings.require_auth_for_metrics_endpoint
    return (True if wanted is None else wanted) and not gateway.open_access


def metrics_endpoint(gateway: Gateway) -> Any:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    state = gateway.state["prometheus"]
    protected = requires_auth(gateway, state["config"])

    async def metrics(request: Request) -> Response:
        if protected:
            try:
                await require_admin_request(request, gateway)
            except GatewayError as exc:
                return error_response(exc)
        # reading many small files in multiprocess mode is quick; no await needed between reads
        return Response(generate_latest(state["registry"]), media_type=CONTENT_TYPE_LATEST)

    return metrics
