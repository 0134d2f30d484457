"""gateway-otel against local OTLP receivers (HTTP and gRPC) that decode what the sink sends.

Wire formats: OTLP/HTTP protobuf POST ``/v1/traces`` and OTLP/gRPC
``opentelemetry.proto.collector.trace.v1.TraceService/Export``
(https://opentelemetry.io/docs/specs/otlp/); span attributes per the GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/); W3C trace context
(https://www.w3.org/TR/trace-context/).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import gateway_openai
import gateway_otel
import grpc
import openai
import pytest
from gateway_otel.otlp import KIND_CLIENT, KIND_SERVER, STATUS_ERROR, decode_spans

from gateway.testing import FakeUpstream, Reply, free_port

MASTER = "sk-master-otel-test"
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def collector() -> Any:
    server = FakeUpstream().start()
    server.default = Reply(status=200, body=b"", headers={"content-type": "application/x-protobuf"})
    yield server
    server.stop()


class GrpcCollector:
    """A real gRPC server implementing TraceService/Export with raw bytes in and out."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.metadata: list[dict[str, str]] = []
        self.port = free_port()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {
                "Export": grpc.unary_unary_rpc_method_handler(
                    self._export, request_deserializer=None, response_serializer=None
                ),
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        self.server.start()

    def _export(self, request: bytes, context: Any) -> bytes:
        self.bodies.append(request)
        self.metadata.append(dict(context.invocation_metadata()))
        return b""  # an empty ExportTraceServiceResponse

    def stop(self) -> None:
        self.server.stop(grace=None)


def config_for(upstream: FakeUpstream, **otel: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": {"callbacks": ["otel"]},
        "router_settings": {"num_retries": 0},
        "plugins": {"otel": otel, "sinks": {"delivery_defaults": {"flush_interval": 0.05}}},
    }


def spans_from(bodies: Callable[[], list[bytes]], count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """Decoded spans once ``count`` arrived (export is asynchronous), or what arrived by ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        spans = [span for body in bodies() for span in decode_spans(body)]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


def http_bodies(collector: FakeUpstream) -> list[bytes]:
    return [r.body for r in list(collector.requests) if r.path == "/v1/traces"]


def test_http_export_continues_the_client_trace_and_propagates_upstream(
    collector: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "edge-gateway")
    gw = gateway_factory(config_for(fake_upstream), plugins=[gateway_otel, gateway_openai], load_entrypoints=False)
    reply = gw.openai().chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        temperature=0.3,
        max_tokens=50,
        extra_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"},
    )
    spans = spans_from(lambda: http_bodies(collector), 2)
    request = next(r for r in collector.requests if r.path == "/v1/traces")
    assert request.headers["content-type"] == "application/x-protobuf" and request.headers["x-tenant"] == "acme"
    server = next(s for s in spans if s["kind"] == KIND_SERVER)
    client = next(s for s in spans if s["kind"] == KIND_CLIENT)
    assert server["trace_id"] == client["trace_id"] == CLIENT_TRACE
    assert server["parent_span_id"] == CLIENT_SPAN and client["parent_span_id"] == server["span_id"]
    assert server["name"] == "POST /v1/chat/completions"
    assert server["attributes"]["http.response.status_code"] == 200
    assert server["resource"]["service.name"] == "edge-gateway"
    attrs = client["attributes"]
    assert client["name"] == "chat gpt-4o"
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o" and attrs["gen_ai.response.model"] == reply.model
    assert attrs["gen_ai.response.id"] == reply.id
    assert attrs["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens
    assert attrs["gen_ai.request.temperature"] == 0.3 and attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["server.address"] == "127.0.0.1"
    assert "gen_ai.input.messages" not in attrs  # content capture is opt-in
    upstream_header = fake_upstream.requests[-1].headers["traceparent"]
    assert upstream_header == f"00-{CLIENT_TRACE}-{client['span_id']}-01"


def test_without_client_context_a_new_trace_still_links_upstream(
    collector: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = config_for(fake_upstream, endpoint=collector.url + "/v1/traces", capture_message_content=True)
    gw = gateway_factory(config, plugins=[gateway_otel, gateway_openai], load_entrypoints=False)
    gw.openai().chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"},
    )
    spans = spans_from(lambda: http_bodies(collector), 2)
    client = next(s for s in spans if s["kind"] == KIND_CLIENT)
    assert client["trace_id"] != "0" * 32
    assert fake_upstream.requests[-1].headers["traceparent"] == f"00-{client['trace_id']}-{client['span_id']}-01"
    assert "hi" in client["attributes"]["gen_ai.input.messages"]
    assert fake_upstream.content in client["attributes"]["gen_ai.output.messages"]


def test_grpc_export_marks_failed_calls_as_errors(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    receiver = GrpcCollector()
    try:
        config = config_for(
            fake_upstream,
            exporter="otlp_grpc",
            endpoint=f"127.0.0.1:{receiver.port}",
            headers={"x-api-key": "otel-secret"},
        )
        gw = gateway_factory(config, plugins=[gateway_otel, gateway_openai], load_entrypoints=False)
        fake_upstream.enqueue(Reply(status=503, json={"error": {"message": "overloaded"}}))
        with pytest.raises(openai.APIStatusError):
            gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        spans = spans_from(lambda: list(receiver.bodies), 2)
        client = next(s for s in spans if s["kind"] == KIND_CLIENT)
        server = next(s for s in spans if s["kind"] == KIND_SERVER)
        assert client["status"] == STATUS_ERROR and "overloaded" in client["status_message"]
        assert client["attributes"]["error.type"] == "upstream_error"
        assert server["attributes"]["http.response.status_code"] == 503 and server["status"] == STATUS_ERROR
        assert receiver.metadata[0]["x-api-key"] == "otel-secret"
    finally:
        receiver.stop()
