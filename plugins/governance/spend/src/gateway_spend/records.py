"""One ledger record per request, built from the request context (plain JSON types).

The record is what goes into the write-ahead log and, from there, into ``gateway_spend_logs``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import orjson

from gateway import GatewayError, RequestContext
from gateway.routing import request_tags

from .money import to_picos

#: metadata larger than this is replaced by a note (a row must stay small; the WAL reads 1 MB chunks)
MAX_METADATA_BYTES = 16 * 1024
MAX_ERROR_CHARS = 2000


def _metadata(ctx: RequestContext) -> dict[str, Any]:
    # the gateway's own ``metadata`` (OpenAI surface); an Anthropic client's ``metadata`` is its API's
    data: dict[str, Any] = {"requested_metadata": ctx.request.metadata() if ctx.request is not None else {}}
    principal = ctx.principal
    if principal is not None:
        data["user_api_key_alias"] = principal.key_alias
        data["user_api_key_team_alias"] = principal.team_alias
        data["principal_kind"] = principal.kind
    if ctx.attempts:
        data["attempts"] = [
            {"deployment_id": a.deployment_id, "error": a.error, "status": a.status} for a in ctx.attempts
        ]
    if ctx.fallbacks_used:
        data["fallbacks"] = ctx.fallbacks_used
    routing = {k: v for k, v in ctx.annotations.items() if "guardrail" not in k}
    if routing:
        data["annotations"] = routing
    try:
        encoded = orjson.dumps(data, default=str)
    except TypeError:
        return {"note": "metadata could not be encoded"}
    if len(encoded) > MAX_METADATA_BYTES:
        return {"note": f"metadata of {len(encoded)} bytes left out (limit {MAX_METADATA_BYTES})"}
    return orjson.loads(encoded)


def _guardrails(ctx: RequestContext) -> Any:
    found = {k: v for k, v in ctx.annotations.items() if "guardrail" in k}
    if not found:
        return None
    try:
        return orjson.loads(orjson.dumps(found, default=str))
    except TypeError:
        return {"note": "guardrail outcome could not be encoded"}


def _saved_pico(ctx: RequestContext) -> int:
    """What a cache hit saved (``annotations["cache"]["saved_cost"]``, set when it was priced), in picodollars."""
    note = ctx.annotations.get("cache") if ctx.annotations.get("cache_hit") else None
    saved = note.get("saved_cost") if isinstance(note, dict) else None
    if not isinstance(saved, str):
        return 0
    try:
        return max(to_picos(Decimal(saved)), 0)
    except ArithmeticError:
        return 0


def _request_tags(ctx: RequestContext) -> list[str] | None:
    """The request's tags (its key's, its body's, its header's), or None; a request refused for
    malformed tags has none."""
    try:
        return request_tags(ctx) or None
    except GatewayError:
        return None


def build_record(
    ctx: RequestContext,
    cost: Decimal,
    *,
    status: str,
    http_status: int,
    price_source: str | None,
    error: BaseException | None = None,
    response_id: Any = None,
    cost_unknown: bool = False,
) -> dict[str, Any]:
    """The ledger record of a finished request; ``response_id``: the answer's own id, as the client saw it."""
    principal = ctx.principal
    deployment = ctx.deployment
    usage = ctx.usage
    # OpenAI ``user``, Anthropic ``metadata.user_id``; None when the request never got decoded
    end_user = ctx.request.user if ctx.request is not None else None
    elapsed = (ctx.finished or time.perf_counter()) - ctx.started
    return {
        # the gateway's own id: the row's idempotency key (a client may reuse its x-request-id)
        "request_id": ctx.request_id,
        "client_request_id": getattr(ctx, "client_request_id", None),
        "response_id": response_id if isinstance(response_id, str) and response_id else None,
        "call_type": ctx.endpoint,
        "api_key": principal.key_hash if principal else None,
        "key_alias": principal.key_alias if principal else None,
        "user_id": principal.user_id if principal else None,
        "team_id": principal.team_id if principal else None,
        "team_alias": principal.team_alias if principal else None,
        # the organization scope the auth plugin gave the principal (gateway-virtual-keys: the team's)
        "organization_id": next((s.id for s in principal.scopes if s.scope == "org"), None) if principal else None,
        "end_user": end_user if isinstance(end_user, str) and end_user else None,
        "requested_model": ctx.requested_model or None,
        "model_group": ctx.model_group or None,
        "model_id": deployment.id if deployment else None,
        "model": deployment.model if deployment else None,
        "custom_llm_provider": deployment.provider if deployment else None,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "total_tokens": usage.total_tokens if usage else 0,
        "cached_tokens": usage.cached_tokens if usage else 0,
        "cache_creation_tokens": usage.cache_creation_tokens if usage else 0,
        "reasoning_tokens": usage.reasoning_tokens if usage else 0,
        "usage_estimated": bool(usage.estimated) if usage else False,
        "spend": str(cost),
        "spend_pico": to_picos(cost),
        "price_source": price_source,
        "cost_unknown": cost_unknown,
        "status": status,
        "http_status": http_status,
        "start_time": ctx.start_time,
        "end_time": ctx.start_time + elapsed,
        "request_duration_ms": round(elapsed * 1000, 3),
        "cache_hit": bool(ctx.annotations.get("cache_hit")),
        "saved_pico": _saved_pico(ctx),
        "guardrail": _guardrails(ctx),
        "metadata": _metadata(ctx),
        "request_tags": _request_tags(ctx),
        "error": (f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]) if error is not None else None,
    }
