"""Master-key authentication, and open access when the operator explicitly allows it.

The master key is checked first (``tryfirst``), before any plugin that may need a database, with a
constant-time comparison.  Open access (no credential needed) is the last resort (``trylast``)
and only active when the gateway decided at start-up that it may run open.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from gateway._hookspecs import hookimpl

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Principal, RequestContext


@hookimpl(tryfirst=True)
def gateway_auth(api_key: str | None, gateway: Gateway) -> Principal | None:
    master = gateway.master_key_bytes
    if master is None or api_key is None:
        return None
    if hmac.compare_digest(api_key.encode(), master):
        return gateway.master_principal
    return None


@hookimpl(specname="gateway_auth", trylast=True)
def open_access(ctx: RequestContext, api_key: str | None, gateway: Gateway) -> Principal | None:
    if gateway.open_access:
        return gateway.anonymous_principal
    return None
