"""The default ``gateway_call``: hand the attempt to the provider registered for its prefix."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from gateway._hookspecs import hookimpl
from gateway._types import Deployment, RequestContext, ResponseBody

if TYPE_CHECKING:
    from gateway._gateway import Gateway


@hookimpl(trylast=True)
def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
    # a plain function returning the provider's coroutine: the hook driver awaits it, and every
    # request saves one coroutine layer
    provider = gateway.providers.get(deployment.provider)
    if provider is None:  # the config check makes this unreachable unless a plugin changed deployments
        raise RuntimeError(f"no provider is registered for {deployment.provider!r}")
    if ctx.endpoint == "embeddings":
        return provider.embeddings(ctx, deployment, gateway)
    if ctx.endpoint == "completions":
        return provider.completions(ctx, deployment, gateway)
    return provider.chat(ctx, deployment, gateway)
