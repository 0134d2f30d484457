"""The OTel sink: batches of requests as OTLP ``ExportTraceServiceRequest`` over HTTP (protobuf) or gRPC."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from gateway import __version__
from gateway.sinks import Sink, SinkError

from .config import OtelConfig
from .context import ids_for
from .otlp import encode_in_slices, encode_spans
from .spans import request_spans

GRPC_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#: gRPC status codes worth retrying (OTLP spec: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED ...)
RETRYABLE_GRPC = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "OUT_OF_RANGE", "CANCELLED"}


class OtelSink(Sink):
    """Exports each request's SERVER and GenAI CLIENT spans."""

    def __init__(self, config: OtelConfig) -> None:
        self.config = config
        self.resource = {
            "service.name": config.service_name,
            "telemetry.sdk.name": "gateway",
            "telemetry.sdk.language": "python",
            "telemetry.sdk.version": __version__,
            "deployment.environment.name": config.environment,
        }
        self.wants_content = bool(config.capture_message_content)  # type: ignore[misc]
        self._channel: Any = None
        self._export: Any = None

    def prepare(self, payload: dict[str, Any], event: Any) -> Any:
        ids = ids_for(event)
        if not ids.get("sampled", True):
            return None
        return request_spans(payload, ids, bool(self.config.capture_message_content))

    def _body(self, items: list[Any]) -> bytes:
        spans = [span for spans in items for span in spans]
        return encode_spans(spans, resource=self.resource, scope_name="gateway-otel", scope_version=__version__)

    async def start(self) -> None:
        if self.config.exporter != "otlp_grpc":
            return
        import grpc

        target, secure = _grpc_target(self.config)
        self._channel = (
            grpc.aio.secure_channel(target, grpc.ssl_channel_credentials())
            if secure
            else grpc.aio.insecure_channel(target)
        )
        # bytes in, bytes out: the request is already serialized; the (empty) answer is not needed
        self._export = self._channel.unary_unary(GRPC_METHOD, request_serializer=None, response_deserializer=None)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def send_batch(self, items: list[Any]) -> None:
        body = await encode_in_slices(items, self._body)
        if self._export is not None:
            await self._send_grpc(body)
        else:
            await self._send_http(body)

    async def _send_http(self, body: bytes) -> None:
        headers = {"content-type": "application/x-protobuf", **self.config.headers}
        async with self.session.post(
            self.config.endpoint or "", data=body, headers=headers, allow_redirects=False
        ) as resp:
            if resp.status < 300:
                return
            text = (await resp.content.read(300)).decode("utf-8", "replace")
            raise SinkError(
                f"OTLP endpoint answered HTTP {resp.status}: {text}", retryable=resp.status in (408, 429, 502, 503, 504)
            )

    async def _send_grpc(self, body: bytes) -> None:
        import grpc

        try:
            await self._export(body, metadata=tuple(self.config.headers.items()) or None, timeout=10)
        except grpc.aio.AioRpcError as exc:
            code = exc.code().name
            raise SinkError(
                f"OTLP gRPC export failed: {code} {exc.details() or ''}", retryable=code in RETRYABLE_GRPC
            ) from None


def _grpc_target(config: OtelConfig) -> tuple[str, bool]:
    """``host:port`` and whether to use TLS (http:// and loopback endpoints are plaintext by default)."""
    endpoint = config.endpoint or "127.0.0.1:4317"
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 4317
    if config.insecure is not None:
        return f"{host}:{port}", not config.insecure
    if parts.scheme == "http":
        return f"{host}:{port}", False
    if parts.scheme == "https":
        return f"{host}:{port}", True
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return f"{host}:{port}", not loopback
