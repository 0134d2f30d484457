"""The default ``gateway_route``: the kernel router's plan for the request's model group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway._hookspecs import hookimpl
from gateway._types import Deployment, RequestContext

if TYPE_CHECKING:
    from gateway._gateway import Gateway


@hookimpl(trylast=True)
def gateway_route(ctx: RequestContext, gateway: Gateway) -> list[Deployment]:
    return gateway.router.plan(ctx)
