"""The request flow: auth -> pre_call -> route -> call (retries, fallbacks) -> post_call.

It knows nothing about HTTP: the HTTP layer parses the request into a ``RequestContext``, calls
:func:`run`, sends the answer, then calls :func:`finish`, which hands the request to the
``gateway_log`` implementations in the background.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .errors import AuthenticationError, GatewayError, NotFoundError, PermissionDeniedError, UpstreamError
from .types import Attempt, JSONResponseBody, LogEvent, RequestContext, ResponseBody, StreamResponseBody, Usage

if TYPE_CHECKING:
    from .gateway import Gateway
    from .types import Deployment, Principal

#: backoff before retrying the same deployment again: base * 2**n, capped, with jitter
RETRY_BACKOFF_BASE = 0.1
RETRY_BACKOFF_CAP = 2.0
#: an upstream's retry-after is honoured up to this many seconds before retrying in-process
RETRY_AFTER_CAP = 5.0


async def authenticate(gateway: Gateway, ctx: RequestContext) -> Principal:
    principal = await gateway.hooks.auth(ctx, ctx.api_key)
    if principal is None:
        if ctx.api_key is None:
            raise AuthenticationError(
                "Authentication Error, No api key passed in. Send 'Authorization: Bearer <key>'.", param="api_key"
            )
        raise AuthenticationError("Authentication Error, Invalid API key provided.", type="token_not_found_in_db", param="key")
    ctx.principal = principal
    return principal


def check_model_access(gateway: Gateway, ctx: RequestContext, principal: Principal) -> None:
    group = gateway.resolve_model(ctx.requested_model, principal)
    if group not in gateway.router.groups:
        raise NotFoundError(
            f"model {ctx.requested_model!r} does not exist on this gateway. Call GET /v1/models to see the models your "
            "key may use.",
            param="model",
            code="model_not_found",
        )
    if not principal.may_use(group):
        raise PermissionDeniedError(
            f"The requested model {ctx.requested_model!r} is not available for this API key. Call GET /v1/models to "
            "see the models your key may use.",
            type="key_model_access_denied",
            param="model",
        )
    ctx.model_group = group


async def run(gateway: Gateway, ctx: RequestContext) -> ResponseBody:
    """Serve one model request; raises ``GatewayError`` for anything the client should see."""
    hooks = gateway.hooks
    principal = ctx.principal or await authenticate(gateway, ctx)
    check_model_access(gateway, ctx, principal)
    await hooks.pre_call(ctx)
    plan = await hooks.route(ctx)
    if not plan:
        raise NotFoundError(f"no deployment can serve model {ctx.model_group!r}", param="model")
    ctx.deployments = plan
    response = await call_with_retries(gateway, ctx, plan)
    if isinstance(response, JSONResponseBody):
        usage = response.data.get("usage") if response.status == 200 else None
        ctx.usage = Usage.from_openai(usage) if isinstance(usage, dict) else None
    else:
        response.chunks = _observe_stream(ctx, response.chunks)
    await hooks.post_call(ctx, response)
    ctx.response = response
    return response


def attempts_for(plan: list[Deployment], group: str, num_retries: int) -> list[Deployment]:
    """The primary group's deployments, cycled to ``num_retries + 1`` tries; then the fallbacks."""
    primary = [d for d in plan if d.model_group == group]
    rest = [d for d in plan if d.model_group != group]
    tries = max(len(primary), num_retries + 1) if primary else 0
    cycled = [primary[i % len(primary)] for i in range(tries)] if primary else []
    return cycled + rest


async def call_with_retries(gateway: Gateway, ctx: RequestContext, plan: list[Deployment]) -> ResponseBody:
    router = gateway.router
    attempts = attempts_for(plan, ctx.model_group, gateway.num_retries)
    last_error: UpstreamError | None = None
    tries_on: dict[str, int] = {}
    primary_group = ctx.model_group
    for deployment in attempts:
        if deployment.model_group != primary_group and (ctx.deployment is None or ctx.deployment.model_group != deployment.model_group):
            ctx.fallbacks_used += 1
        previous = tries_on.get(deployment.id, 0)
        if previous:
            await asyncio.sleep(_backoff(previous, last_error, router.settings.retry_after))
        tries_on[deployment.id] = previous + 1
        ctx.deployment = deployment
        ctx.upstream_started = time.perf_counter()
        try:
            response = await gateway.hooks.call(ctx, deployment)
        except UpstreamError as exc:
            ctx.attempts.append(Attempt(deployment.id, deployment.model_group, str(exc), exc.status))
            if len(router.groups.get(deployment.model_group, ())) > 1 and router.cooldowns.record_failure(deployment.id):
                gateway.emit_alert(
                    "deployment_cooldown",
                    f"deployment {deployment.id} of model group {deployment.model_group!r} is cooling down for "
                    f"{router.cooldowns.cooldown_time:g} s after repeated failures: {exc.message}",
                    deployment_id=deployment.id,
                    model_group=deployment.model_group,
                    provider=deployment.provider,
                )
            if not exc.retryable:
                raise
            last_error = exc
            continue
        if response is None:
            raise RuntimeError("no gateway_call implementation answered")
        router.cooldowns.record_success(deployment.id)
        if ctx.attempts:
            ctx.response_headers["x-litellm-attempted-retries"] = str(len(ctx.attempts))
        if ctx.fallbacks_used:
            ctx.response_headers["x-litellm-attempted-fallbacks"] = str(ctx.fallbacks_used)
        return response
    assert last_error is not None
    if len(attempts) > 1:
        last_error.message = f"{last_error.message} (after {len(attempts)} attempts)"
        last_error.args = (last_error.message,)
    raise last_error


def _backoff(previous_tries: int, error: UpstreamError | None, minimum: float) -> float:
    if error is not None:
        retry_after = error.headers.get("retry-after")
        if retry_after:
            try:
                return min(max(float(retry_after), minimum), RETRY_AFTER_CAP)
            except ValueError:
                pass
    delay = min(RETRY_BACKOFF_BASE * 2 ** (previous_tries - 1), RETRY_BACKOFF_CAP)
    return max(minimum, delay * (0.75 + random.random() * 0.25))


async def _observe_stream(ctx: RequestContext, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """Record time to first token and the final usage while chunks pass through unchanged."""
    async for chunk in chunks:
        if ctx.first_token_at is None:
            ctx.first_token_at = time.perf_counter()
        usage = chunk.get("usage")
        if usage:
            ctx.usage = Usage.from_openai(usage)
        yield chunk


def finish(gateway: Gateway, ctx: RequestContext, error: BaseException | None = None) -> None:
    """Mark the request done and queue it for ``gateway_log`` (never blocks, never raises)."""
    ctx.finished = time.perf_counter()
    if error is not None:
        ctx.error = error
        ctx.status = error.status if isinstance(error, GatewayError) else 500
    gateway.log_dispatcher.submit(LogEvent(ctx))


__all__ = ["run", "finish", "authenticate", "StreamResponseBody", "JSONResponseBody"]
