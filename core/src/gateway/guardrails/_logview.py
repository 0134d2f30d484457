"""What sinks should log: the request and answer as ``logging_only`` guardrails redacted them.

``logging_only`` guardrails never change what the upstream or the client see.  They run here,
off the request path, the first time a sink asks for the logged view of a request, on copies::

    from gateway.guardrails import logged_view

    @hookimpl
    async def gateway_log(event, gateway):
        view = await logged_view(event.ctx)
        send(view.request, view.response_texts)

Without ``logging_only`` guardrails the view is the request body as the upstream got it (after
pre_call masking) and the answer's texts as the client got them.  Their outcomes are appended to
``ctx.annotations["guardrails"]`` with ``mode: logging_only``; ``view.redacted`` says whether
anything was masked.  The view is computed once per request and shared by all sinks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from gateway._types import JSONResponseBody
from gateway.chat import as_openai_body
from gateway.guardrails._base import TextBatch
from gateway.guardrails._content import body_texts, response_texts
from gateway.guardrails._flow import RequestGuards, input_batch
from gateway.guardrails._runner import run_check

if TYPE_CHECKING:
    from gateway._types import RequestContext

STATE_KEY = "guardrails"


@dataclass(slots=True)
class LoggedView:
    #: the request body to log when a logging_only guardrail masked something (a redacted copy);
    #: None: log the request as forwarded
    request: dict[str, Any] | None
    #: the answer's texts by choice index, as the client got them (redacted when masked)
    response_texts: dict[int, str] = field(default_factory=dict)
    #: the answer's JSON body for non-streamed answers (a redacted copy when masked)
    response: dict[str, Any] | None = None
    redacted: bool = False


def _answer(ctx: RequestContext, guards: RequestGuards | None) -> tuple[dict[str, Any] | None, dict[int, str]]:
    response = ctx.response
    if isinstance(response, JSONResponseBody) and response.status < 300:
        data = response.data
        texts: dict[int, str] = {}
        for slot in response_texts(ctx.endpoint, data).slots:
            texts[slot.message_index] = texts.get(slot.message_index, "") + slot.get()
        return data, texts
    if guards is not None and guards.stream_text:
        return None, {i: "".join(parts) for i, parts in guards.stream_text.items()}
    return None, {}


async def _redact(ctx: RequestContext, guards: RequestGuards) -> LoggedView:
    # a copy of the request as forwarded (OpenAI's shape), masked for the log only
    request = orjson.loads(orjson.dumps(as_openai_body(ctx.request) if ctx.request is not None else ctx.body))
    data, texts = _answer(ctx, guards)
    response = orjson.loads(orjson.dumps(data)) if data is not None else None
    redacted = False
    extracted = body_texts("completions" if "prompt" in request else ctx.endpoint, request)
    for guard in guards.logging_only:
        batch, slots = input_batch(guard, ctx, extracted)
        if batch.texts:
            result = await run_check(guard, "logging_only", batch)
            if result.outcome == "masked" and result.texts is not None:
                for slot, text in zip(slots, result.texts, strict=False):
                    slot.set(text)
                redacted = True
        if texts:
            indexes = sorted(texts)
            out = TextBatch(
                [texts[i] for i in indexes], ["assistant"] * len(indexes), "output", ctx, message_index=indexes
            )
            result = await run_check(guard, "logging_only", out)
            if result.outcome == "masked" and result.texts is not None:
                texts = dict(zip(indexes, result.texts, strict=False))
                redacted = True
                if response is not None:
                    _write_back(ctx.endpoint, response, texts)
    return LoggedView(request, texts, response, redacted)


def _write_back(endpoint: str, response: dict[str, Any], texts: dict[int, str]) -> None:
    seen: set[int] = set()
    for slot in response_texts(endpoint, response).slots:
        slot.set("" if slot.message_index in seen else texts.get(slot.message_index, slot.get()))
        seen.add(slot.message_index)


async def logged_view(ctx: RequestContext) -> LoggedView:
    """The request and answer as sinks should record them (see the module docstring)."""
    guards = ctx.state.get(STATE_KEY)
    if not isinstance(guards, RequestGuards) or not guards.logging_only:
        data, texts = _answer(ctx, guards if isinstance(guards, RequestGuards) else None)
        return LoggedView(None, texts, data)
    if guards.logged is None:
        # several sinks may ask at once: they share one computation
        guards.logged = asyncio.ensure_future(_redact(ctx, guards))
    try:
        return await asyncio.shield(guards.logged)
    except Exception:
        # a fail-closed logging_only guardrail that could not decide: log nothing sensitive
        return LoggedView({"redacted": "a logging_only guardrail failed; content withheld"}, {}, None, True)
