"""W3C trace context: accepted from clients in ``pre_call``, propagated upstream on every attempt.

``pre_call`` decides the request's ids (continuing the client's trace when its ``traceparent`` is
valid) and stores them in ``ctx.state["otel"]``; the upstream ``traceparent`` names the GenAI client
span as parent.  The header is added by an aiohttp trace hook on the gateway's shared upstream
session, reading a context variable that ``pre_call`` set in the request's task (each request runs
in its own task, so values never leak between requests).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from gateway.sinks import parse_traceparent

from .otlp import new_span_id, new_trace_id

UPSTREAM_HEADERS: ContextVar[tuple[tuple[str, str], ...] | None] = ContextVar("gateway_otel_upstream", default=None)


def start_request(ctx: Any, propagate: bool) -> dict[str, Any]:
    parent = parse_traceparent(ctx.headers.get("traceparent")) if propagate else None
    ids = {
        "trace_id": parent.trace_id if parent else new_trace_id(),
        "parent_span_id": parent.span_id if parent else None,
        "server_span_id": new_span_id(),
        "client_span_id": new_span_id(),
        "sampled": parent.sampled if parent else True,
    }
    if propagate:
        headers = [("traceparent", f"00-{ids['trace_id']}-{ids['client_span_id']}-{'01' if ids['sampled'] else '00'}")]
        state = ctx.headers.get("tracestate")
        if state and len(state) <= 512:
            headers.append(("tracestate", state))
        UPSTREAM_HEADERS.set(tuple(headers))
    return ids


def ids_for(event: Any) -> dict[str, Any]:
    """The ids ``pre_call`` chose, or fresh ones for a request that failed before it."""
    found = event.ctx.state.get("otel")
    if isinstance(found, dict):
        return found
    return {
        "trace_id": new_trace_id(),
        "parent_span_id": None,
        "server_span_id": new_span_id(),
        "client_span_id": new_span_id(),
        "sampled": True,
    }


def upstream_trace_config() -> Any:
    import aiohttp

    async def on_request_start(session: Any, context: Any, params: Any) -> None:
        headers = UPSTREAM_HEADERS.get()
        if headers:
            for name, value in headers:
                params.headers[name] = value

    config = aiohttp.TraceConfig()
    config.on_request_start.append(on_request_start)
    config.freeze()
    return config
