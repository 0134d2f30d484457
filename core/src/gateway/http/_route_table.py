"""``GET /routes`` (admin): every route the app serves and the plugin that serves it.

The table is made once, when the app is built (:func:`gateway._app.collect_routes` knows who
registered each route), and kept in ``gateway.state``; the route only answers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway._errors import GatewayError
from gateway.http._admin import require_admin_request
from gateway.http._responses import error_response, json_response

if TYPE_CHECKING:
    from gateway._gateway import Gateway

#: ``gateway.state`` key of the table: ``[{"path", "methods", "plugin"}]``, in the app's order
STATE_KEY = "core.route_table"
#: who serves the kernel's own routes (health, models, the provider pass-through routes)
CORE = "core"


def route_table_routes(gateway: Gateway) -> list[Route]:
    async def routes(request: Request) -> Response:
        try:
            await require_admin_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        records = gateway.pm.records
        table = []
        for row in gateway.state.get(STATE_KEY, []):
            # the distribution to install or upgrade (None for a plugin registered in code)
            record = records.get(row["plugin"])
            distribution = "gateway" if row["plugin"] == CORE else (record.distribution if record else None)
            table.append({**row, "distribution": distribution})
        return json_response({"routes": table, "count": len(table)})

    return [Route("/routes", routes, methods=["GET"])]
