"""Several models in one chat request: LiteLLM's batch completions (``"model": "a,b"``).

LiteLLM's proxy sends one request to every model group of a comma-separated ``model`` and answers
with the list of their answers, in the order the names were given ("Batch Completions - pass model
as list").  Here each name is a request of its own: a context with its own request id, checked
against the key's models, through ``gateway_pre_call`` (budgets, rate limits, guardrails), routing,
retries and fallbacks, and recorded once (its own log event and ledger row).  They run
concurrently.  A name that fails takes its place in the list as its error object (OpenAI's
envelope), so a partial answer never hides a failure; when every name fails, the first error is
the answer.

With ``fastest_response: true`` (LiteLLM's flag) the answer is the first model's to succeed, as
if it had been asked alone, and the other calls are cancelled (each recorded as cancelled).

The envelope request, whose ``model`` is the list, is recorded too, with no deployment and no
usage (its ``batch_request_ids`` annotation names the requests it made).  Streaming several models
into one stream has no documented shape, so ``stream: true`` with a list is a 400; streaming the
fastest model's answer is not served yet (a 400 naming ``stream``).
"""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING

from gateway import _pipeline
from gateway._errors import BadRequestError, ClientDisconnectedError, GatewayError
from gateway._types import JSONResponseBody, RequestContext
from gateway.http._asgi import id_headers
from gateway.http._requests import new_request_id
from gateway.http._responses import AnswerHeaders, internal_error

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway.chat import ModelRequest
    from gateway.surfaces import Surface

#: at most this many models in one request (each is a call upstream)
MAX_MODELS = 10
#: the envelope's annotation listing the request ids of its parts
BATCH_ANNOTATION = "batch_request_ids"


def batch_models(gateway: Gateway, ctx: RequestContext) -> list[str] | None:
    """The model names of a batch request, or None for an ordinary one (a name with a comma that
    is a model group of its own, or an alias, stays one name)."""
    name = ctx.requested_model
    if "," not in name or ctx.endpoint != "chat":
        return None
    if gateway.router.serves(gateway.resolve_model(name, ctx.principal)):
        return None
    names = [part.strip() for part in name.split(",")]
    if not all(names):
        raise BadRequestError(
            f"model {name!r}: a list of models is comma-separated names, none empty (for example 'gpt-4o,claude')",
            param="model",
        )
    if len(names) > MAX_MODELS:
        raise BadRequestError(f"model: at most {MAX_MODELS} models in one request (got {len(names)})", param="model")
    if ctx.stream:
        if wants_fastest(ctx):
            raise BadRequestError(
                "stream: the fastest of several models (fastest_response) is answered without streaming here; "
                "send stream: false",
                param="stream",
            )
        raise BadRequestError(
            "stream: a request to several models (a comma-separated model) answers with the list of their "
            "answers and cannot be streamed; send stream: false, or one model per request",
            param="stream",
        )
    return names


def wants_fastest(ctx: RequestContext) -> bool:
    """LiteLLM's ``fastest_response`` flag (a bool; anything else is a 400 naming it)."""
    value = ctx.request.gateway.get("fastest_response") if ctx.request is not None else None
    if value is None or value is False:
        return False
    if value is True:
        return True
    raise BadRequestError("fastest_response must be true or false", param="fastest_response")


def _part(parent: RequestContext, request: ModelRequest, name: str) -> RequestContext:
    own = copy.copy(request)  # the parts share the client's messages (hooks read them); each has its model
    own.model = name
    return RequestContext(
        new_request_id(),
        parent.endpoint,
        parent.body,
        parent.headers,
        parent.client_ip,
        parent.client_request_id,
        api_key=parent.api_key,
        principal=parent.principal,
        request=own,
        surface=parent.surface,
        requested_model=name,
        stream=False,
    )


async def _serve_part(gateway: Gateway, ctx: RequestContext) -> JSONResponseBody | GatewayError:
    error: BaseException | None = None
    try:
        response = await _pipeline.run(gateway, ctx)
        assert isinstance(response, JSONResponseBody), "a part of a batch is never streamed"
        ctx.status = response.status
        return response
    except GatewayError as exc:
        error = exc
        return exc
    except asyncio.CancelledError:
        error = ClientDisconnectedError("the request was cancelled before its answer was complete")
        raise
    except Exception as exc:
        error = internal_error(exc, ctx.request_id)
        return error
    finally:
        _pipeline.finish(gateway, ctx, error)


async def serve_batch(
    gateway: Gateway, surface: Surface, ctx: RequestContext, names: list[str], answer_headers: AnswerHeaders
) -> tuple[int, bytes, dict[str, str]]:
    """Run one request per name; the status, the body and the headers of the answer: the list of
    their answers, or with ``fastest_response`` the first successful one."""
    assert ctx.request is not None
    parts = [_part(ctx, ctx.request, name) for name in names]
    ctx.annotations[BATCH_ANNOTATION] = [part.request_id for part in parts]
    if wants_fastest(ctx):
        part, response = await _fastest(gateway, parts)
        headers = {**response.headers, **answer_headers.of(part.deployment)} if part.deployment else {}
        headers.update(part.response_headers)
        headers.update(id_headers(part))
        return response.status, surface.encode_answer(part, response), headers
    results = await asyncio.gather(*(_serve_part(gateway, part) for part in parts))
    errors = [result for result in results if isinstance(result, GatewayError)]
    if len(errors) == len(results):
        raise errors[0]
    bodies: list[bytes] = []
    for part, result in zip(parts, results, strict=True):
        if isinstance(result, GatewayError):
            bodies.append(surface.encode_error(result))
        else:
            bodies.append(surface.encode_answer(part, result))
    return 200, b"[" + b",".join(bodies) + b"]", id_headers(ctx)


async def _fastest(gateway: Gateway, parts: list[RequestContext]) -> tuple[RequestContext, JSONResponseBody]:
    """The first part to answer successfully; the others are cancelled.  When every part fails, the
    error of the first model named."""
    tasks = {asyncio.create_task(_serve_part(gateway, part)): part for part in parts}
    pending: set[asyncio.Task[JSONResponseBody | GatewayError]] = set(tasks)
    errors: dict[str, GatewayError] = {}
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                result = task.result()
                if isinstance(result, GatewayError):
                    errors[tasks[task].request_id] = result
                else:
                    return tasks[task], result
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    raise next(errors[part.request_id] for part in parts)


__all__ = ["batch_models", "serve_batch", "MAX_MODELS", "BATCH_ANNOTATION"]
