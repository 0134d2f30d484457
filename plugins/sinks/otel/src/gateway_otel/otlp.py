"""OTLP trace encoding: spans to an OTLP ``ExportTraceServiceRequest`` (and back, for tests).

Spans are described with the small :class:`Span` dataclass and encoded into an OTLP
``ExportTraceServiceRequest`` (protobuf), ready for OTLP/HTTP (``application/x-protobuf``) or
OTLP/gRPC.  ``gateway-langfuse`` sends its traces over Langfuse's OTLP endpoint with this module
too: it depends on ``gateway-otel`` for it (the one plugin another plugin imports).  The protobuf
classes come from ``opentelemetry-proto``, imported lazily so start-up stays fast.  Reading a
client's ``traceparent`` is core's (``gateway.sinks.parse_traceparent``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

#: span kinds (``opentelemetry.proto.trace.v1.Span.SpanKind``)
KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
#: status codes (``Status.StatusCode``)
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


@dataclass(slots=True)
class Span:
    """One finished span, in the terms OTLP needs."""

    name: str
    trace_id: str
    span_id: str
    start_ns: int
    end_ns: int
    parent_span_id: str | None = None
    kind: int = KIND_INTERNAL
    attributes: dict[str, Any] = field(default_factory=dict)
    status: int = STATUS_UNSET
    status_message: str = ""


def seconds_to_ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _any_value(pb: Any, value: Any) -> Any:
    out = pb.AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float)) for v in value):
        out.array_value.values.extend(_any_value(pb, v) for v in value)
    else:  # mappings and mixed lists: one JSON string, as OTel SDKs do for complex values
        out.string_value = orjson.dumps(value, default=str).decode()
    return out


def _key_values(pb: Any, attributes: dict[str, Any]) -> list[Any]:
    return [pb.KeyValue(key=k, value=_any_value(pb, v)) for k, v in attributes.items() if v is not None]


#: payloads serialized between two turns of the event loop
ENCODE_SLICE = 10


async def encode_in_slices(
    items: list[Any], encode: Callable[[list[Any]], bytes], slice_size: int = ENCODE_SLICE
) -> bytes:
    """Serialize ``items`` a slice at a time, giving the event loop back between slices.

    A batch of a hundred requests is milliseconds of protobuf building; done in one go it delays
    every in-flight request by that much.  An OTLP export request's top-level field is repeated,
    so serialized slices concatenated are one valid request (protobuf merges them).
    """
    parts = []
    for start in range(0, len(items), slice_size):
        if start:
            await asyncio.sleep(0)
        parts.append(encode(items[start : start + slice_size]))
    return b"".join(parts)


def encode_spans(
    spans: list[Span],
    *,
    resource: dict[str, Any],
    scope_name: str,
    scope_version: str = "",
    scope_attributes: dict[str, Any] | None = None,
) -> bytes:
    """An OTLP ``ExportTraceServiceRequest`` holding ``spans``, serialized (protobuf)."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    proto_spans = []
    for span in spans:
        proto_spans.append(
            trace_pb2.Span(
                trace_id=bytes.fromhex(span.trace_id),
                span_id=bytes.fromhex(span.span_id),
                parent_span_id=bytes.fromhex(span.parent_span_id) if span.parent_span_id else b"",
                name=span.name,
                kind=span.kind,
                start_time_unix_nano=span.start_ns,
                end_time_unix_nano=max(span.end_ns, span.start_ns),
                attributes=_key_values(common_pb2, span.attributes),
                status=trace_pb2.Status(code=span.status, message=span.status_message),
            )
        )
    scope = common_pb2.InstrumentationScope(
        name=scope_name, version=scope_version, attributes=_key_values(common_pb2, scope_attributes or {})
    )
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(attributes=_key_values(common_pb2, resource)),
                scope_spans=[trace_pb2.ScopeSpans(scope=scope, spans=proto_spans)],
            )
        ]
    )
    return request.SerializeToString()


def decode_spans(body: bytes) -> list[dict[str, Any]]:
    """Spans of a serialized ``ExportTraceServiceRequest`` as plain dicts (tests, debugging).

    Each dict has ``name``, ``trace_id``, ``span_id``, ``parent_span_id`` (hex), ``kind``,
    ``start_ns``, ``end_ns``, ``status``, ``status_message``, ``attributes`` (decoded values),
    ``resource`` and ``scope`` (name, version, attributes).
    """
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(body)
    out = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _plain(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            scope = {
                "name": scope_spans.scope.name,
                "version": scope_spans.scope.version,
                "attributes": {kv.key: _plain(kv.value) for kv in scope_spans.scope.attributes},
            }
            for span in scope_spans.spans:
                out.append(
                    {
                        "name": span.name,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "kind": span.kind,
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "status": span.status.code,
                        "status_message": span.status.message,
                        "attributes": {kv.key: _plain(kv.value) for kv in span.attributes},
                        "resource": resource,
                        "scope": scope,
                    }
                )
    return out


def _plain(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None
