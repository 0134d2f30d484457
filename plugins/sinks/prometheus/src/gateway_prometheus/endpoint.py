"""``GET /metrics``: the Prometheus text format (all workers merged in multiprocess mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import GatewayError
from gateway.http import error_response, require_admin_request

if TYPE_CHECKING:
    from gateway import Gateway


def metrics_endpoint(gateway: Gateway) -> Any:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    state = gateway.state["prometheus"]

    async def metrics(request: Request) -> Response:
        if state["config"].require_auth:
            try:
                await require_admin_request(request, gateway)
            except GatewayError as exc:
                return error_response(exc)
        # reading many small files in multiprocess mode is quick; no await needed between reads
        return Response(generate_latest(state["registry"]), media_type=CONTENT_TYPE_LATEST)

    return metrics
