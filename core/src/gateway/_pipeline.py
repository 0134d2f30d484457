"""The request flow: auth -> pre_call -> route -> call (retries, fallbacks) -> post_call.

It knows nothing about HTTP: the HTTP layer parses the request into a ``RequestContext``, calls
:func:`run`, sends the answer, then calls :func:`finish`, which writes the access line and hands the
request to the ``gateway_log`` implementations in the background.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gateway._errors import AuthenticationError, GatewayError, NotFoundError
from gateway._logs import access_line, get_logger
from gateway._retries import call_with_retries
from gateway._types import JSONResponseBody, LogEvent, RequestContext, ResponseBody, StreamResponseBody

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Principal

log = get_logger("gateway.pipeline")


async def authenticate(gateway: Gateway, ctx: RequestContext, path: str | None = None) -> Principal:
    """Run ``gateway_auth``; then ``general_settings.allowed_routes`` for ``path`` (default: the
    context's endpoint when it is a path, as admin and plugin routes set it)."""
    return admit(gateway, ctx, await gateway.hooks.auth(ctx, ctx.api_key), path)


def admit(gateway: Gateway, ctx: RequestContext, principal: Principal | None, path: str | None = None) -> Principal:
    """What :func:`authenticate` does with ``gateway_auth``'s answer: 401 without a principal, then
    ``allowed_routes``.  The model lifecycle calls it directly when the auth hooks are plain functions."""
    if principal is None:
        if ctx.api_key is None:
            raise AuthenticationError(
                "Authentication Error, No api key passed in. Send 'Authorization: Bearer <key>'.", param="api_key"
            )
        raise AuthenticationError(
            "Authentication Error, Invalid API key provided.", type="token_not_found_in_db", param="key"
        )
    ctx.principal = principal
    route = path if path is not None else ctx.endpoint
    if gateway.access.routes is not None and route.startswith("/"):
        gateway.access.check_route(principal, route)
    return principal


def check_model_access(gateway: Gateway, ctx: RequestContext, principal: Principal) -> None:
    group = gateway.resolve_model(ctx.requested_model, principal)
    if group not in gateway.router.groups and not gateway.router.serves(group):  # exact groups: one lookup
        raise NotFoundError(
            f"model {ctx.requested_model!r} does not exist on this gateway. Call GET /v1/models to see the models your "
            "key may use.",
            param="model",
            code="model_not_found",
        )
    if not principal.may_use(group):
        # 401, as the LiteLLM proxy answers it (clients migrating from it branch on the status)
        raise AuthenticationError(
            f"key not allowed to access model. Tried to access {ctx.requested_model!r}; call GET /v1/models to see "
            "the models this key may use.",
            type="key_model_access_denied",
            param="model",
        )
    ctx.model_group = group


async def run(gateway: Gateway, ctx: RequestContext) -> ResponseBody:
    """Serve one model request; raises ``GatewayError`` for anything the client should see."""
    hooks = gateway.hooks
    principal = ctx.principal or await authenticate(gateway, ctx)
    check_model_access(gateway, ctx, principal)
    if hooks.pre_call_impls:  # checked here: a coroutine per empty hook is measurable per request
        await hooks.pre_call(ctx)
    plan = hooks.route_now(ctx)  # no coroutine when the route hooks are plain functions (the default router)
    if plan is not None and hasattr(plan, "__await__"):
        plan = await plan
    if not plan:
        raise NotFoundError(f"no deployment can serve model {ctx.model_group!r}", param="model")
    ctx.deployments = plan
    # the retry loop records usage (and, for streams, the time to first token) on ctx
    response = await call_with_retries(gateway, ctx, plan)
    if hooks.post_call_impls:
        try:
            await hooks.post_call(ctx, response)
        except BaseException:
            if isinstance(response, StreamResponseBody):  # refused before the client saw it: stop the upstream now
                await response.aclose()
            raise
    ctx.response = response
    return response


def finish(gateway: Gateway, ctx: RequestContext, error: BaseException | None = None) -> None:
    """Mark the request done, write its access line and queue it for ``gateway_log``.

    Called once the client has its answer.  Never blocks (the access line is buffered and written
    in batches) and never raises.  The line is rendered here rather than by a ``gateway_log``
    worker: it is never dropped when a sink's backlog is full, and a gateway without sinks runs no
    log worker at all (waking one per few requests cost more than rendering the line).
    """
    ctx.finished = time.perf_counter()
    if error is not None:
        ctx.error = error
        ctx.status = error.status if isinstance(error, GatewayError) else 500
    if gateway.access_log:
        try:
            access_line(ctx)
        except Exception as exc:  # a malformed context must not fail a request that was answered
            log.error("access_line_failed", error=f"{type(exc).__name__}: {exc}", request_id=ctx.request_id)
    if gateway.log_dispatcher.workers:
        gateway.log_dispatcher.submit(LogEvent(ctx))


__all__ = ["run", "finish", "authenticate", "admit", "StreamResponseBody", "JSONResponseBody"]
