"""One request's payload as Langfuse OTLP spans: a trace root span and a generation.

Attribute names follow Langfuse's OpenTelemetry property mapping (the ``langfuse.*`` namespace the
Langfuse SDK itself sends; langfuse.com/integrations/native/opentelemetry#property-mapping).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from gateway_otel.otlp import KIND_SERVER, STATUS_ERROR, STATUS_OK, Span, seconds_to_ns

from gateway.sinks import parse_traceparent

#: LiteLLM's trace names, so existing Langfuse dashboards and filters keep working
TRACE_NAMES = {
    "chat": "litellm-acompletion",
    "completions": "litellm-atext_completion",
    "embeddings": "litellm-aembedding",
    "messages": "litellm-anthropic_messages",
}
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def trace_id_for(payload: dict[str, Any]) -> str:
    """``metadata.trace_id`` / ``existing_trace_id`` when usable, else the client's W3C trace, else one
    derived from the request id (so a retried export never creates a second trace)."""
    metadata = payload["metadata"]
    for key in ("trace_id", "existing_trace_id"):
        value = metadata.get(key)
        if isinstance(value, str):
            compact = value.replace("-", "").lower()
            return compact if _HEX32.match(compact) else hashlib.sha256(value.encode()).hexdigest()[:32]
    parent = parse_traceparent(payload.get("traceparent"))
    if parent is not None:
        return parent.trace_id
    return hashlib.sha256(payload["request_id"].encode()).hexdigest()[:32]


def _span_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def usage_details(usage: dict[str, Any] | None) -> dict[str, int] | None:
    if not usage:
        return None
    details = {"input": usage["prompt_tokens"], "output": usage["completion_tokens"], "total": usage["total_tokens"]}
    for source, target in (
        ("cached_tokens", "input_cached_tokens"),
        ("cache_creation_tokens", "input_cache_creation"),
        ("reasoning_tokens", "output_reasoning_tokens"),
    ):
        if usage.get(source):
            details[target] = usage[source]
    return details


def _output(payload: dict[str, Any]) -> Any:
    response = payload.get("response")
    if not response:
        return None
    choices = response.get("choices")
    if isinstance(choices, list) and choices:
        first = choices[0]
        return first.get("message") or first.get("text")
    return response


def _input(payload: dict[str, Any]) -> Any:
    request = payload.get("request")
    if not request:
        return None
    for field in ("messages", "prompt", "input"):
        if field in request:
            return request[field]
    return None


def _observation_metadata(payload: dict[str, Any]) -> dict[str, Any]:
    principal = payload.get("principal") or {}
    return {
        k: v
        for k, v in {
            "request_id": payload["request_id"],
            "model_group": payload["model_group"],
            "deployment_id": payload["deployment_id"],
            "provider": payload["provider"],
            "api_base": payload["api_base"],
            "user_api_key_alias": principal.get("key_alias"),
            "user_api_key_hash": principal.get("key_hash"),
            "user_api_key_team_id": principal.get("team_id"),
            "user_api_key_team_alias": principal.get("team_alias"),
            "user_api_key_user_id": principal.get("user_id"),
            "status": payload["status"],
            "retries": payload["retries"] or None,
            "fallbacks": payload["fallbacks"] or None,
            "timings": payload["timings"],
            "guardrails": payload["guardrails"] or None,
            "route": payload["route"],
        }.items()
        if v is not None
    }


def request_spans(
    payload: dict[str, Any], *, tags: list[str], environment: str | None, release: str | None
) -> list[Span]:
    """The trace root span and the generation span for one request."""
    metadata = payload["metadata"]
    trace_id = trace_id_for(payload)
    parent = parse_traceparent(payload.get("traceparent"))
    root_id = _span_id("root:" + payload["request_id"])
    generation_id = _span_id("generation:" + payload["request_id"])
    start_ns = seconds_to_ns(payload["start_time"])
    end_ns = seconds_to_ns(payload["end_time"])
    failed = payload["status"] >= 400
    user_id = (
        metadata.get("trace_user_id") or payload.get("end_user") or (payload.get("principal") or {}).get("user_id")
    )
    trace_tags = list(dict.fromkeys([*tags, *payload["tags"]]))
    trace_input, output = _input(payload), _output(payload)

    root_attributes: dict[str, Any] = {
        "langfuse.observation.type": "span",
        "langfuse.trace.name": metadata.get("trace_name") or TRACE_NAMES.get(payload["endpoint"], "gateway-request"),
        "user.id": user_id,
        "session.id": metadata.get("session_id") or metadata.get("trace_session_id"),
        "langfuse.trace.tags": trace_tags or None,
        "langfuse.trace.input": None if trace_input is None else _json(trace_input),
        "langfuse.trace.output": None if output is None else _json(output),
        "langfuse.version": metadata.get("trace_version") or metadata.get("version"),
        "langfuse.release": metadata.get("trace_release") or release,
        "langfuse.environment": environment,
    }
    for key, value in metadata.items():
        if key not in ("tags", "trace_id", "existing_trace_id", "session_id", "trace_name", "generation_name"):
            root_attributes[f"langfuse.trace.metadata.{key}"] = (
                value if isinstance(value, (str, int, float, bool)) else _json(value)
            )

    params = (payload.get("request") or {}).get("params") or {}
    generation_attributes: dict[str, Any] = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": payload["model"] or payload["requested_model"],
        "langfuse.observation.model.parameters": _json({k: v for k, v in params.items() if k != "stream"})
        if params
        else None,
        "langfuse.observation.input": None if trace_input is None else _json(trace_input),
        "langfuse.observation.output": None if output is None else _json(output),
        "langfuse.observation.usage_details": _json(usage_details(payload["usage"])) if payload["usage"] else None,
        "langfuse.observation.cost_details": _json({"total": payload["cost_usd"]})
        if payload["cost_usd"] is not None
        else None,
        "langfuse.observation.completion_start_time": (
            _iso(payload["completion_start_time"]) if payload["completion_start_time"] else None
        ),
        "langfuse.observation.level": "ERROR" if failed else "DEFAULT",
        "langfuse.observation.status_message": payload["error_message"] if failed else None,
        "langfuse.observation.metadata": _json(_observation_metadata(payload)),
        "langfuse.environment": environment,
    }
    status = STATUS_ERROR if failed else STATUS_OK
    message = (payload["error_message"] or "")[:1024] if failed else ""
    root = Span(
        name=root_attributes["langfuse.trace.name"],
        trace_id=trace_id,
        span_id=root_id,
        parent_span_id=parent.span_id if parent is not None and parent.trace_id == trace_id else None,
        kind=KIND_SERVER,
        start_ns=start_ns,
        end_ns=end_ns,
        attributes=root_attributes,
        status=status,
        status_message=message,
    )
    generation = Span(
        name=metadata.get("generation_name") or payload["model"] or payload["requested_model"] or "generation",
        trace_id=trace_id,
        span_id=generation_id,
        parent_span_id=root_id,
        start_ns=start_ns,
        end_ns=end_ns,
        attributes=generation_attributes,
        status=status,
        status_message=message,
    )
    return [root, generation]
