"""The default ``gateway_call``: hand the attempt to the provider registered for its prefix."""

from __future__ import annotations

from ..gateway import Gateway
from ..hookspecs import hookimpl
from ..types import Deployment, RequestContext, ResponseBody


@hookimpl(trylast=True)
async def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> ResponseBody:
    provider = gateway.providers.get(deployment.provider)
    if provider is None:  # the config check makes this unreachable unless a plugin changed deployments
        raise RuntimeError(f"no provider is registered for {deployment.provider!r}")
    if ctx.endpoint == "embeddings":
        return await provider.embeddings(ctx, deployment, gateway)
    if ctx.endpoint == "completions":
        return await provider.completions(ctx, deployment, gateway)
    return await provider.chat(ctx, deployment, gateway)
