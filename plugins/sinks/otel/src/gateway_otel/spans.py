"""One request as two spans: the gateway's SERVER span and a GenAI CLIENT span for the model call.

Attribute names follow the OpenTelemetry semantic conventions for generative AI
(opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): ``gen_ai.operation.name``,
``gen_ai.provider.name`` (and the older ``gen_ai.system``), ``gen_ai.request.*``,
``gen_ai.response.*``, ``gen_ai.usage.*``, ``error.type``; message content only when enabled.
Gateway-specific facts live under ``gateway.*``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from .otlp import KIND_CLIENT, KIND_SERVER, STATUS_ERROR, STATUS_UNSET, Span, seconds_to_ns

OPERATIONS = {"chat": "chat", "completions": "text_completion", "embeddings": "embeddings", "messages": "chat"}
PATHS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "messages": "/v1/messages",
}
#: gateway provider prefixes -> semconv ``gen_ai.provider.name`` values
PROVIDERS = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "xai": "x_ai",
    "perplexity": "perplexity",
}
REQUEST_PARAMS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "seed": "seed",
    "n": "choice.count",
}


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def genai_attributes(p: dict[str, Any], capture_content: bool) -> dict[str, Any]:
    request = p.get("request") or {}
    params = request.get("params") or {}
    response = p.get("response") or {}
    usage = p.get("usage") or {}
    provider = PROVIDERS.get(p["provider"] or "", p["provider"])
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": OPERATIONS.get(p["endpoint"], p["endpoint"]),
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": p["model"] or p["requested_model"],
        "gen_ai.response.model": response.get("model"),
        "gen_ai.response.id": response.get("id"),
        "gen_ai.usage.input_tokens": usage.get("prompt_tokens"),
        "gen_ai.usage.output_tokens": usage.get("completion_tokens"),
    }
    finish = [
        c.get("finish_reason") for c in response.get("choices") or () if isinstance(c, dict) and c.get("finish_reason")
    ]
    if finish:
        attributes["gen_ai.response.finish_reasons"] = finish
    for source, target in REQUEST_PARAMS.items():
        value = params.get(source)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[f"gen_ai.request.{target}"] = value
    stop = params.get("stop")
    if stop:
        attributes["gen_ai.request.stop_sequences"] = [stop] if isinstance(stop, str) else [str(s) for s in stop]
    if p["api_base"]:
        parts = urlsplit(p["api_base"])
        attributes["server.address"] = parts.hostname
        attributes["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    if p["error_class"]:
        attributes["error.type"] = p["error_type"] or p["error_class"]
    if capture_content and not p["redacted"]:
        messages = request.get("messages") or request.get("prompt") or request.get("input")
        if messages is not None:
            attributes["gen_ai.input.messages"] = _json(messages)
        outputs = [c.get("message") or c.get("text") for c in response.get("choices") or () if isinstance(c, dict)]
        if outputs:
            attributes["gen_ai.output.messages"] = _json(outputs)
    return attributes


def gateway_attributes(p: dict[str, Any]) -> dict[str, Any]:
    principal = p.get("principal") or {}
    return {
        "gateway.request_id": p["request_id"],
        "gateway.model_group": p["model_group"] or None,
        "gateway.deployment_id": p["deployment_id"],
        "gateway.cost_usd": p["cost_usd"],
        "gateway.retries": p["retries"],
        "gateway.fallbacks": p["fallbacks"],
        "gateway.time_to_first_token_ms": p["time_to_first_token_ms"],
        "gateway.upstream_ms": p["timings"]["upstream_ms"],
        "gateway.key_alias": principal.get("key_alias"),
        "gateway.key_hash": principal.get("key_hash"),
        "gateway.team": principal.get("team_alias") or principal.get("team_id"),
        "gateway.user": principal.get("user_id"),
        "gateway.end_user": p.get("end_user"),
        "gateway.tags": p["tags"] or None,
        "gateway.guardrails": _json(p["guardrails"]) if p["guardrails"] else None,
    }


def request_spans(p: dict[str, Any], ids: dict[str, str | None], capture_content: bool) -> list[Span]:
    """The SERVER span (child of the client's span when it sent ``traceparent``) and the GenAI CLIENT span."""
    start, end = seconds_to_ns(p["start_time"]), seconds_to_ns(p["end_time"])
    failed = p["status"] >= 400
    status = STATUS_ERROR if failed else STATUS_UNSET  # semconv: leave OK unset on success
    message = (p["error_message"] or "")[:1024] if failed else ""
    operation = OPERATIONS.get(p["endpoint"], p["endpoint"])
    server = Span(
        name=f"POST {PATHS.get(p['endpoint'], p['endpoint'])}",
        trace_id=ids["trace_id"] or "",
        span_id=ids["server_span_id"] or "",
        parent_span_id=ids.get("parent_span_id"),
        kind=KIND_SERVER,
        start_ns=start,
        end_ns=end,
        status=status if p["status"] >= 500 else STATUS_UNSET,
        status_message=message,
        attributes={
            "http.request.method": "POST",
            "url.path": PATHS.get(p["endpoint"], p["endpoint"]),
            "http.response.status_code": p["status"],
            "http.route": PATHS.get(p["endpoint"]),
            "error.type": (p["error_type"] or p["error_class"]) if p["status"] >= 500 else None,
            **gateway_attributes(p),
        },
    )
    timings = p["timings"]
    client_start = start
    if timings["upstream_ms"] is not None:
        client_start = max(start, end - int(timings["upstream_ms"] * 1_000_000))
    client = Span(
        name=f"{operation} {p['model'] or p['requested_model']}",
        trace_id=server.trace_id,
        span_id=ids["client_span_id"] or "",
        parent_span_id=server.span_id,
        kind=KIND_CLIENT,
        start_ns=client_start,
        end_ns=end,
        status=status,
        status_message=message,
        attributes=genai_attributes(p, capture_content),
    )
    return [server, client] if p["deployment_id"] else [server]
