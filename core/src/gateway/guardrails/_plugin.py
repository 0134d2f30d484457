"""The guardrail framework's hook implementations (a core builtin plugin named ``guardrails``).

Start-up: build one guardrail per ``guardrails:`` entry from the types plugins registered, and
open/close them with the gateway.  Request path: select the guardrails of the request, run the
pre_call and during_call checks in ``gateway_pre_call`` (``trylast``: after budgets, rate limits
and request rewrites, so the checks see the final request and cheap refusals come first), and
the post_call checks and un-masking in ``gateway_post_call`` (``trylast``: other plugins, such
as a response cache, see the answer as the model gave it, with placeholders still in place, so a
cached answer can never carry one client's un-masked values to another; un-masking and output
checks run on the way out, cache hits included).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from gateway._hookspecs import hookimpl
from gateway.guardrails._base import Guardrail
from gateway.guardrails._flow import RequestGuards
from gateway.guardrails._registry import build_guardrails
from gateway.guardrails._selection import select

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import RequestContext, ResponseBody

NAME = "guardrails"
#: ``ctx.annotations`` key listing the logging_only guardrails of a request (see logview.py)
LOGGING_ONLY_ANNOTATION = "guardrails_logging_only"


class GuardrailSet:
    """The configured guardrails of one gateway, in ``gateway.state["guardrails"]``."""

    def __init__(self, guardrails: dict[str, Guardrail]) -> None:
        self.guardrails = guardrails


def guardrail_set(gateway: Gateway) -> GuardrailSet | None:
    return gateway.state.get(NAME)


def configured_guardrails(gateway: Gateway) -> list[str]:
    """The names of the guardrails in the config's ``guardrails:`` list, in order (public API:
    admin APIs check the names a key or team is given against it)."""
    found = guardrail_set(gateway)
    return list(found.guardrails) if found is not None else []


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    built = build_guardrails(gateway)
    if built:
        gateway.state[NAME] = GuardrailSet(built)
    else:  # no guardrails configured: the framework costs nothing per request
        gateway.deactivate_hooks(NAME, "gateway_pre_call", "gateway_post_call")


@hookimpl
def gateway_lifespan(gateway: Gateway) -> object | None:
    found = guardrail_set(gateway)
    if found is None:
        return None

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        guards = list(found.guardrails.values())
        await asyncio.gather(*(g.start() for g in guards))
        try:
            yield
        finally:
            await asyncio.gather(*(g.close() for g in guards), return_exceptions=True)

    return running()


@hookimpl
def gateway_register_routes(gateway: Gateway) -> list[Any]:
    """``GET /guardrails/list`` (LiteLLM's route): the configured guardrails, for any caller with a key."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from gateway._errors import GatewayError
    from gateway.http import authenticate_request, error_response, json_response

    found = guardrail_set(gateway)
    listing = [] if found is None else [describe(g) for g in found.guardrails.values()]

    async def list_guardrails(request: Request) -> Response:
        try:
            await authenticate_request(request, gateway)
        except GatewayError as exc:
            return error_response(exc)
        return json_response({"guardrails": listing})

    return [Route("/guardrails/list", list_guardrails, methods=["GET"])]


def describe(guard: Guardrail) -> dict[str, Any]:
    """What ``/guardrails/list`` shows of a guardrail: never keys, URLs or provider params."""
    settings = guard.settings
    return {
        "guardrail_name": guard.name,
        "litellm_params": {"guardrail": guard.spec.type, "mode": settings.mode, "default_on": settings.default_on},
        "guardrail_info": guard.spec.info,
    }


@hookimpl(trylast=True)
async def gateway_pre_call(ctx: RequestContext, gateway: Gateway) -> None:
    found = gateway.state.get(NAME)
    if found is None:
        return
    selected = select(ctx, found.guardrails)
    if not selected:
        return
    guards = RequestGuards(selected)
    ctx.state[NAME] = guards
    if guards.logging_only:
        # tells sinks that do not call logged_view() that this request's content must be redacted
        ctx.annotations[LOGGING_ONLY_ANNOTATION] = [g.name for g in guards.logging_only]
    await guards.pre_call(ctx)


@hookimpl(trylast=True)
async def gateway_post_call(ctx: RequestContext, response: ResponseBody) -> None:
    guards = ctx.state.get(NAME)
    if guards is not None:
        await guards.post_call(ctx, response)
