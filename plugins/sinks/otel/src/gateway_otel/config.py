"""``plugins.otel``: exporter, endpoint, headers, service; every field falls back to OTel's variables."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OtelConfig(BaseModel):
    """The ``plugins.otel`` section (all optional: the standard environment variables are enough)."""

    model_config = ConfigDict(extra="forbid")

    #: ``OTEL_EXPORTER`` (LiteLLM) / ``OTEL_EXPORTER_OTLP_PROTOCOL``: otlp_http (default) or otlp_grpc
    exporter: Literal["otlp_http", "otlp_grpc"] | None = None
    #: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (full URL) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_ENDPOINT``
    endpoint: str | None = None
    #: ``OTEL_EXPORTER_OTLP_HEADERS`` / ``OTEL_HEADERS`` ("k=v,k2=v2")
    headers: dict[str, str] = Field(default_factory=dict)
    #: ``OTEL_SERVICE_NAME`` (default "gateway")
    service_name: str | None = None
    #: ``OTEL_ENVIRONMENT_NAME`` -> resource ``deployment.environment.name``
    environment: str | None = None
    #: record prompts and answers on spans (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``); off by default
    capture_message_content: bool | None = None
    #: continue the client's W3C trace and send ``traceparent`` upstream (off: ``OTEL_IGNORE_CONTEXT_PROPAGATION``)
    propagate: bool | None = None
    #: gRPC without TLS (default: TLS unless the endpoint is http:// or a loopback address)
    insecure: bool | None = None


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def parse_headers(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    pairs = (part.split("=", 1) for part in raw.split(",") if "=" in part)
    return {k.strip().lower(): v.strip() for k, v in pairs}


def resolved(config: OtelConfig) -> OtelConfig:
    protocol = _env("OTEL_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    exporter = config.exporter or ("otlp_grpc" if "grpc" in protocol else "otlp_http")
    full = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    endpoint = config.endpoint or full or _env("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_ENDPOINT")
    if endpoint is None:
        endpoint = "http://127.0.0.1:4317" if exporter == "otlp_grpc" else "http://127.0.0.1:4318"
    if exporter == "otlp_http" and not (config.endpoint or full) and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"  # the base endpoint gets the signal path (OTLP spec)
    ignore = _flag(_env("OTEL_IGNORE_CONTEXT_PROPAGATION"))
    return OtelConfig(
        exporter=exporter,  # type: ignore[arg-type]
        endpoint=endpoint,
        headers={
            **parse_headers(_env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_HEADERS")),
            **{k.lower(): v for k, v in config.headers.items()},
        },
        service_name=config.service_name or _env("OTEL_SERVICE_NAME") or "gateway",
        environment=config.environment or _env("OTEL_ENVIRONMENT_NAME"),
        capture_message_content=(
            config.capture_message_content
            if config.capture_message_content is not None
            else bool(_flag(_env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")))
        ),
        propagate=config.propagate if config.propagate is not None else not ignore,
        insecure=config.insecure,
    )
