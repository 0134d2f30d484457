"""The OTLP encoding gateway-otel and gateway-langfuse export with (``gateway_otel.otlp``)."""

from __future__ import annotations

import pytest
from gateway_otel.otlp import Span, encode_in_slices, encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


@pytest.mark.anyio
async def test_otlp_batches_encoded_in_slices_are_one_valid_export_request() -> None:
    spans = [
        Span(name=f"s{i}", trace_id=f"{i + 1:032x}", span_id=f"{i + 1:016x}", start_ns=i, end_ns=i + 1)
        for i in range(25)
    ]
    body = await encode_in_slices(
        spans, lambda chunk: encode_spans(chunk, resource={"service.name": "t"}, scope_name="t")
    )
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    names = [span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert names == [f"s{i}" for i in range(25)]
    assert len(request.resource_spans) == 3  # three slices of at most ten, merged by protobuf
