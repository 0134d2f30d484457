"""Building the versioned log payload (``LogEvent.to_dict``) and keeping it safe to export.

The payload is documented field by field in ``docs/log-event.md``.  This module also enforces
what every sink may rely on: strings are valid UTF-8 (lone surrogates replaced), no string is
longer than ``max_string_chars``, the message/response content stays under ``max_content_chars``
in total, and no credential is ever part of it (the key itself is never on the context's
principal; request metadata keys that look like secrets are removed).

It belongs to core's bottom layer with ``types`` and ``chat``: it imports nothing above them, so
``LogEvent.to_dict`` works without the sink framework (which re-exports the options and helpers
for sink plugins: ``gateway.sinks.PayloadOptions``, ``safe_json``, ...).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway._tracecontext import parse_traceparent
from gateway.chat import as_openai_body

if TYPE_CHECKING:
    from gateway._types import LogEvent, RequestContext

SCHEMA_VERSION = 1
REDACTED = "redacted-by-gateway"

#: request fields that are model parameters (exported as ``request.params``)
MODEL_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "logit_bias",
    "response_format",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "top_k",
    "logprobs",
    "top_logprobs",
    "stream",
    "dimensions",
    "encoding_format",
    "user",
)
#: metadata keys that look like credentials never leave the gateway (per-request sink keys ...)
SECRET_METADATA = re.compile(r"(secret|password|api_key|apikey|token|authorization|credential|private)", re.I)


@dataclass(frozen=True, slots=True)
class PayloadOptions:
    """What the payload keeps; from ``litellm_settings`` and ``plugins.sinks``."""

    #: ``litellm_settings.turn_off_message_logging``: no messages, no response content
    include_content: bool = True
    #: ``litellm_settings.redact_user_api_key_info``: no key hash/alias, user or team ids
    redact_principal: bool = False
    #: any longer string is cut (with a marker saying how much was left out)
    max_string_chars: int = 32_768
    #: total characters of message and response content per payload
    max_content_chars: int = 262_144


DEFAULT_OPTIONS = PayloadOptions()


class _Budget:
    """Characters left for content in one payload."""

    __slots__ = ("left", "truncated")

    def __init__(self, chars: int) -> None:
        self.left = chars
        self.truncated = False


def safe_text(value: str, limit: int, budget: _Budget | None = None) -> str:
    """``value`` as valid UTF-8 text of at most ``limit`` characters (and within ``budget``)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: keep valid pairs, replace the rest
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    cap = limit if budget is None else min(limit, max(budget.left, 0))
    if len(value) > cap:
        if budget is not None:
            budget.truncated = True
        value = f"{value[:cap]}...[truncated {len(value) - cap} chars]"
    if budget is not None:
        budget.left -= min(len(value), cap)
    return value


def safe_json(value: Any, limit: int, budget: _Budget | None = None, depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` with every string made safe (see :func:`safe_text`)."""
    if isinstance(value, str):
        return safe_text(value, limit, budget)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth > 32:
        return "[nested too deep]"
    if isinstance(value, dict):
        return _safe_object(value, limit, budget, depth)
    if isinstance(value, (list, tuple)):
        return [safe_json(v, limit, budget, depth + 1) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return safe_text(value.decode("utf-8", "replace"), limit, budget)
    to_log = getattr(value, "to_log", None)
    if callable(to_log):  # an annotation rendered only when an event is exported (see docs/log-event.md)
        return safe_json(to_log(), limit, budget, depth + 1)
    return safe_text(str(value), limit, budget)


def _safe_object(value: dict[Any, Any], limit: int, budget: _Budget | None = None, depth: int = 0) -> dict[str, Any]:
    """:func:`safe_json` of an object (an object again, with string keys)."""
    return {safe_text(str(k), 256): safe_json(v, limit, budget, depth + 1) for k, v in value.items()}


def build_payload(event: LogEvent, options: PayloadOptions = DEFAULT_OPTIONS, view: Any = None) -> dict[str, Any]:
    """The documented, versioned payload for one finished request.

    ``view`` is the guardrail framework's logged view (``gateway.guardrails.logged_view``): when a
    ``logging_only`` guardrail masked something, its redacted request and answer are exported
    instead of the originals.
    """
    ctx = event.ctx
    deployment = ctx.deployment
    limit = options.max_string_chars
    sink_state = ctx.state.get("sinks") or {}
    end = ctx.finished or time.perf_counter()
    total_ms = (end - ctx.started) * 1000
    captured = sink_state.get("stream")
    upstream_done = sink_state.get("upstream_done") or (captured.last_chunk_at if captured is not None else None)
    upstream_ms = (upstream_done - ctx.upstream_started) * 1000 if upstream_done and ctx.upstream_started else None
    ttft_ms = (ctx.first_token_at - ctx.started) * 1000 if ctx.first_token_at else None
    request = ctx.request
    metadata = request.metadata() if request is not None else {}
    error = ctx.error
    budget = _Budget(options.max_content_chars)
    content = options.include_content
    payload: dict[str, Any] = {
        "schema_version": event.schema_version,
        "request_id": ctx.request_id,
        "client_request_id": ctx.client_request_id,
        "endpoint": ctx.endpoint,
        "stream": ctx.stream,
        "start_time": ctx.start_time,
        "end_time": ctx.start_time + (end - ctx.started),
        "completion_start_time": _completion_start(ctx, upstream_done),
        "latency_ms": round(total_ms, 3),
        "time_to_first_token_ms": None if ttft_ms is None else round(ttft_ms, 3),
        "timings": {
            "total_ms": round(total_ms, 3),
            "upstream_ms": None if upstream_ms is None else round(upstream_ms, 3),
            "overhead_ms": None if upstream_ms is None else round(max(total_ms - upstream_ms, 0.0), 3),
            "time_to_first_token_ms": None if ttft_ms is None else round(ttft_ms, 3),
        },
        "requested_model": safe_text(ctx.requested_model, 256),
        "model_group": ctx.model_group,
        "deployment_id": deployment.id if deployment else None,
        "provider": deployment.provider if deployment else None,
        "model": deployment.model if deployment else None,
        "api_base": public_base(deployment.api_base) if deployment else None,
        "principal": _principal(ctx, options.redact_principal),
        "end_user": safe_text(request.user, 256) if request is not None and isinstance(request.user, str) else None,
        "usage": _usage(ctx),
        "cost": None if ctx.cost is None else str(ctx.cost),
        "cost_usd": _float_or_none(ctx.cost),
        "status": ctx.status,
        "error_class": type(error).__name__ if error else None,
        "error_type": getattr(error, "type", None) if error else None,
        "error_message": safe_text(str(getattr(error, "message", error)), 4096) if error else None,
        "attempts": [
            {
                "deployment_id": a.deployment_id,
                "model_group": a.model_group,
                "error": None if a.error is None else safe_text(a.error, 2048),
                "status": a.status,
            }
            for a in ctx.attempts
        ],
        "retries": len(ctx.attempts),
        "fallbacks": ctx.fallbacks_used,
        "route": safe_json(_first(ctx.annotations, ("route", "router", "complexity_router")), limit),
        "guardrails": guardrail_outcomes(ctx.annotations.get("guardrails")),
        "annotations": safe_json(ctx.annotations, limit),
        "metadata": safe_json({k: v for k, v in metadata.items() if not SECRET_METADATA.search(str(k))}, limit),
        "tags": _tags(ctx, metadata),
        "traceparent": _traceparent(ctx),
        "upstream_rate_limit": _rate_limit_headers(ctx),
        "request": _request(ctx, limit, budget, view) if content else None,
        "response": _response(ctx, sink_state, limit, budget, view) if content else None,
        "redacted": not content or bool(getattr(view, "redacted", False)),
        "truncated": False,
    }
    payload["truncated"] = budget.truncated
    return payload


def _completion_start(ctx: RequestContext, upstream_done: float | None) -> float | None:
    """Epoch seconds of the first token (streams) or of the complete answer (non-streaming)."""
    moment = ctx.first_token_at or upstream_done
    return None if moment is None else ctx.start_time + (moment - ctx.started)


def public_base(api_base: str | None) -> str | None:
    """The upstream base URL without credentials or query (it may carry a key)."""
    if not api_base:
        return None
    try:
        parts = urlsplit(api_base)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL (a port that is not a number ...): nothing to show
        return None
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else None


def _principal(ctx: RequestContext, redact: bool) -> dict[str, Any] | None:
    p = ctx.principal
    if p is None:
        return None
    if redact:
        return {
            "id": None,
            "kind": p.kind,
            "key_hash": None,
            "key_alias": None,
            "user_id": None,
            "team_id": None,
            "team_alias": None,
        }
    return {
        "id": p.id,
        "kind": p.kind,
        "key_hash": p.key_hash,
        "key_alias": p.key_alias,
        "user_id": p.user_id,
        "team_id": p.team_id,
        "team_alias": p.team_alias,
    }


def _usage(ctx: RequestContext) -> dict[str, Any] | None:
    u = ctx.usage
    if u is None:
        return None
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "cached_tokens": u.cached_tokens,
        "cache_creation_tokens": u.cache_creation_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "estimated": u.estimated,
    }


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _first(annotations: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in annotations:
            return annotations[name]
    return None


def guardrail_outcomes(raw: Any) -> list[dict[str, Any]]:
    """``annotations["guardrails"]`` as a list of ``{name, mode, outcome, latency_ms}``.

    Accepts a list of dicts or a mapping ``name -> dict | outcome string``, so the guardrail
    framework's exact shape does not break exporters.
    """
    items: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = [
            (str(v.get("name") or v.get("guardrail") or v.get("guardrail_name") or "?"), v)
            for v in raw
            if isinstance(v, dict)
        ]
    out = []
    for name, value in items[:64]:
        info = value if isinstance(value, dict) else {"outcome": value}
        latency = info.get("latency_ms")
        out.append(
            {
                "name": safe_text(name, 128),
                "mode": safe_text(str(info.get("mode") or ""), 64) or None,
                "outcome": safe_text(
                    str(info.get("outcome") or info.get("status") or info.get("result") or "unknown"), 64
                ),
                "latency_ms": float(latency) if isinstance(latency, (int, float)) else None,
                "error": bool(info.get("error")),
            }
        )
    return out


def _tags(ctx: RequestContext, metadata: dict[str, Any]) -> list[str]:
    raw = metadata.get("tags") or (ctx.request.gateway.get("tags") if ctx.request is not None else None) or []
    return [safe_text(t, 256) for t in raw[:64] if isinstance(t, str)] if isinstance(raw, list) else []


def _traceparent(ctx: RequestContext) -> str | None:
    parsed = parse_traceparent(ctx.headers.get("traceparent"))
    return parsed.header() if parsed is not None else None


def _rate_limit_headers(ctx: RequestContext) -> dict[str, int] | None:
    response = ctx.response
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    out = {}
    for field in ("remaining-requests", "remaining-tokens", "limit-requests", "limit-tokens"):
        value = headers.get(f"llm_provider-x-ratelimit-{field}") or headers.get(f"x-ratelimit-{field}")
        if value is not None:
            try:
                out[field.replace("-", "_")] = int(float(value))
            except ValueError:
                continue
    return out or None


def _request(ctx: RequestContext, limit: int, budget: _Budget, view: Any) -> dict[str, Any]:
    if getattr(view, "redacted", False) and isinstance(view.request, dict):
        body = view.request
    else:  # the request as it was forwarded (after guardrails' masks), in OpenAI's shape
        body = as_openai_body(ctx.request) if ctx.request is not None else ctx.body
    request: dict[str, Any] = {"params": safe_json({k: body[k] for k in MODEL_PARAMS if k in body}, limit)}
    for field in ("messages", "prompt", "input", "tools"):
        if field in body:
            request[field] = safe_json(body[field], limit, budget)
    return request


def _response(
    ctx: RequestContext, sink_state: dict[str, Any], limit: int, budget: _Budget, view: Any
) -> dict[str, Any] | None:
    masked = bool(getattr(view, "redacted", False))
    captured = sink_state.get("stream")
    if captured is not None:
        answer = captured.as_response()
        if masked:  # what the logging_only guardrails left of each choice's text
            for choice in answer["choices"]:
                choice["message"]["content"] = view.response_texts.get(choice["index"], "")
        return _safe_object(answer, limit, budget)
    response = ctx.response
    data = getattr(response, "data", None) if response is not None and hasattr(response, "raw") else None
    if masked:
        data = view.response
    if not isinstance(data, dict) or ctx.status >= 400:
        return None
    if ctx.endpoint == "embeddings":  # vectors are huge and say nothing to a human
        return {"model": data.get("model"), "object": data.get("object"), "data_count": len(data.get("data") or [])}
    keep = {k: data[k] for k in ("id", "object", "created", "model", "choices", "system_fingerprint") if k in data}
    return _safe_object(keep, limit, budget)
