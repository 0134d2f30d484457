"""The default ``gateway_call``: hand the attempt to the provider registered for its prefix."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from gateway._errors import ServiceUnavailableError
from gateway._hookspecs import hookimpl
from gateway._types import Deployment, RequestContext, ResponseBody

if TYPE_CHECKING:
    from gateway._gateway import Gateway


@hookimpl(trylast=True)
def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> Awaitable[ResponseBody]:
    # a plain function returning the provider's coroutine: the hook driver awaits it, and every
    # request saves one coroutine layer
    provider = gateway.providers.get(deployment.provider)
    if provider is None:
        # the default router never picks an unavailable deployment; a routing plugin may
        raise ServiceUnavailableError(
            f"deployment {deployment.id} of model group {deployment.model_group!r} cannot be called: "
            f"{deployment.unavailable or f'no provider is registered for {deployment.provider!r}'}",
            code="deployment_unavailable",
        )
    if ctx.endpoint == "embeddings":
        return provider.embeddings(ctx, deployment, gateway)
    if ctx.endpoint == "completions":
        return provider.completions(ctx, deployment, gateway)
    return provider.chat(ctx, deployment, gateway)
