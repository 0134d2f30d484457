"""gateway-responses: OpenAI's Responses API (``POST /v1/responses``) on every configured model.

* the surface (:mod:`.surface`): requests decode into the typed chat request, so every provider
  serves them through the one lifecycle; answers become Response objects or the Responses event
  stream;
* ``store`` / ``previous_response_id``: finished responses are kept in the gateway's database
  (:mod:`.store`), scoped to the key that created them, and continued from there;
* ``GET`` / ``DELETE /v1/responses/{id}`` and ``GET /v1/responses/{id}/input_items`` (:mod:`.routes`).

The hooks here are thin: they only act on requests that came in on this surface.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import orjson

from gateway import (
    BadRequestError,
    Deployment,
    JSONResponseBody,
    NotFoundError,
    RequestContext,
    ResponseBody,
    get_logger,
    hookimpl,
)
from gateway.chat import JSON, OpaqueTool, drop_or_refuse

from .answer import from_completion, new_id
from .decode import FORMAT, ResponsesRequest, decode_items, item_kind
from .native import native_call, speaks_responses
from .routes import plausible_id, response_routes
from .store import ResponseStore
from .surface import ANSWER, NAME, ResponsesSurface

PLUGIN = "responses"
log = get_logger(__name__)

__all__ = ["ResponsesSurface", "ResponseStore"]


def _store(gateway: Any) -> ResponseStore:
    store: ResponseStore | None = gateway.state.get(PLUGIN)
    if store is None:
        raise RuntimeError("gateway-responses: the response store is used before the gateway's lifespan opened it")
    return store


def _owner(ctx: RequestContext) -> str:
    return ctx.principal.id if ctx.principal is not None else "anonymous"


@hookimpl
def gateway_register_surfaces(register: Any, gateway: Any) -> None:
    async def save(ctx: RequestContext, response: JSON) -> None:
        request = ctx.request
        if isinstance(request, ResponsesRequest) and request.store and response.get("status") != "failed":
            inputs = stored_items(request.input_items)
            context = request.history + inputs + response["output"]
            await _store(gateway).save(response, _owner(ctx), inputs, context)

    gateway.state[f"{PLUGIN}.save"] = save
    register(ResponsesSurface(save))


@hookimpl
def gateway_register_migrations(register: Any) -> None:
    register(PLUGIN, "gateway_responses:migrations")


@hookimpl
def gateway_register_routes(gateway: Any) -> list[Any]:
    return response_routes(gateway, lambda: _store(gateway))


@hookimpl
def gateway_lifespan(gateway: Any) -> Any:
    return _lifespan(gateway)


@asynccontextmanager
async def _lifespan(gateway: Any) -> AsyncIterator[None]:
    from gateway.storage import get_engine, open_storage

    async with open_storage(gateway):
        store = gateway.state[PLUGIN] = ResponseStore(get_engine(gateway))
        purging = asyncio.create_task(_purge_expired(store))
        try:
            yield
        finally:
            purging.cancel()
            gateway.state.pop(PLUGIN, None)


#: how often each worker deletes expired responses (any worker may: the delete is idempotent)
PURGE_INTERVAL = 3600.0


async def _purge_expired(store: ResponseStore) -> None:
    """Expired responses are unreadable at once (every read checks the time); this keeps the table small."""
    while True:
        try:
            deleted = await store.purge_expired()
            if deleted:
                log.info("responses_purged", deleted=deleted)
        except Exception as exc:  # the database is away: try again next time, the reads stay correct
            log.warning("responses_purge_failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(PURGE_INTERVAL)


# The request hooks are synchronous and hand the kernel a coroutine only for this surface's requests:
# every other request pays one function call, no coroutine.


@hookimpl(tryfirst=True)
def gateway_pre_call(ctx: RequestContext, gateway: Any) -> Awaitable[None] | None:
    request = ctx.request
    if ctx.surface != NAME or not isinstance(request, ResponsesRequest):
        return None
    if not request.dropped and request.previous_response_id is None:
        return None
    return _pre_call(ctx, request, gateway)


async def _pre_call(ctx: RequestContext, request: ResponsesRequest, gateway: Any) -> None:
    """Before budgets and guardrails see the request: the earlier turns of ``previous_response_id``
    join it, and what the surface did not forward is named."""
    if request.dropped:
        drop_or_refuse(request.dropped, provider="the Responses bridge", drop=True,
                       response_headers=ctx.response_headers)  # fmt: skip
    if request.previous_response_id is None:
        return
    previous = request.previous_response_id
    row = await _store(gateway).load(previous, _owner(ctx)) if plausible_id(previous) else None
    if row is None:
        raise NotFoundError(
            f"Previous response with id '{request.previous_response_id}' not found: it never existed, it expired "
            "(responses are kept 30 days), it was stored with store: false or deleted, or another key created it",
            type="invalid_request_error",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    request.history = list(row["context"])
    earlier = decode_items(request.history, "previous_response_id")
    # instructions are not carried over (as OpenAI does): this request's own come first
    at = 1 if request.echo.get("instructions") is not None else 0
    request.messages[at:at] = earlier


@hookimpl  # after gateway-spend's per-attempt limits (tryfirst), before the provider's own call (trylast)
def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Any) -> Awaitable[ResponseBody] | None:
    """A deployment that serves the Responses API gets the request there (:mod:`.native`); for the
    others, a built-in tool of the Responses API has no form on a chat upstream: a 400 naming the
    tool and the deployment, never a tool silently left out."""
    request = ctx.request
    if ctx.surface != NAME or not isinstance(request, ResponsesRequest):
        return None
    if speaks_responses(deployment):
        return native_call(ctx, request, deployment, gateway)
    for i, tool in enumerate(request.tools or ()):
        if isinstance(tool, OpaqueTool):
            raise BadRequestError(
                f"tools.{i}: the built-in tool {tool.type!r} cannot run on the model {deployment.model_group!r} "
                f"(deployment {deployment.provider}/{deployment.model}): it is reached through chat completions, "
                "which have no built-in tools. Remove the tool, or declare it as a function tool your client runs"
                + (
                    ' (the Codex CLI: web_search = "disabled" in config.toml)'
                    if tool.type.startswith("web_search")
                    else ""
                ),
                param=f"tools.{i}",
                code="unsupported_tool",
            )
    return None


@hookimpl(trylast=True)
def gateway_post_call(ctx: RequestContext, response: Any, gateway: Any) -> Awaitable[None] | None:
    request = ctx.request
    if ctx.surface != NAME or not isinstance(request, ResponsesRequest):
        return None
    if not isinstance(response, JSONResponseBody) or response.status != 200:
        return None  # a stream is stored by the surface, after its last event
    return _post_call(ctx, request, response, gateway)


async def _post_call(ctx: RequestContext, request: ResponsesRequest, response: JSONResponseBody, gateway: Any) -> None:
    """After every other hook changed the answer: the Response object, stored when asked."""
    native = response.native(FORMAT)
    if native is not None:  # the upstream's own Response object, which the client gets as it came
        answer = orjson.loads(native)
    else:
        answer = from_completion(request, request.response_id, response.data, request.created_at)
    ctx.state[ANSWER] = answer
    await gateway.state[f"{PLUGIN}.save"](ctx, answer)


_ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def stored_items(items: list[JSON]) -> list[JSON]:
    """Input items as ``input_items`` lists them: each with an id and a type, content as parts."""
    out: list[JSON] = []
    for item in items:
        kind = item_kind(item)
        stored = {"type": kind, **item} if "type" not in item else dict(item)
        stored.setdefault("id", new_id(_ID_PREFIX.get(kind, "item")))
        if kind == "message" and isinstance(stored.get("content"), str):
            part = "output_text" if stored.get("role") == "assistant" else "input_text"
            stored["content"] = [{"type": part, "text": stored["content"]}]
        out.append(stored)
    return out
