"""``plugins.langfuse``: where traces go; every field falls back to LiteLLM's environment variables."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_HOST = "https://cloud.langfuse.com"
OTLP_PATH = "/api/public/otel/v1/traces"


class LangfuseConfig(BaseModel):
    """The ``plugins.langfuse`` section (all optional: the environment variables are enough)."""

    model_config = ConfigDict(extra="forbid")

    #: ``LANGFUSE_PUBLIC_KEY``
    public_key: str | None = None
    #: ``LANGFUSE_SECRET_KEY``
    secret_key: str | None = None
    #: ``LANGFUSE_BASE_URL`` / ``LANGFUSE_HOST`` (default Langfuse Cloud EU)
    host: str | None = None
    #: ``LANGFUSE_OTEL_TRACES_EXPORT_PATH``
    traces_path: str | None = None
    #: ``LANGFUSE_TRACING_ENVIRONMENT``
    environment: str | None = None
    #: ``LANGFUSE_RELEASE``
    release: str | None = None
    #: ``LANGFUSE_SAMPLE_RATE``: share of requests traced (0..1), decided per trace id
    sample_rate: float | None = Field(default=None, ge=0, le=1)
    #: gzip request bodies (``LANGFUSE_OTEL_COMPRESSION=none`` turns it off)
    compression: bool | None = None
    #: tags added to every trace (``litellm_settings.langfuse_default_tags`` is honoured too)
    default_tags: list[str] = Field(default_factory=list)


def env(name: str, *fallbacks: str) -> str | None:
    for key in (name, *fallbacks):
        value = os.environ.get(key)
        if value:
            return value
    return None


def resolved(config: LangfuseConfig) -> LangfuseConfig:
    """``config`` with every unset field taken from the environment (LiteLLM's variable names)."""
    sample = config.sample_rate if config.sample_rate is not None else _float(env("LANGFUSE_SAMPLE_RATE"))
    compression = config.compression
    if compression is None:
        compression = (env("LANGFUSE_OTEL_COMPRESSION") or "gzip").lower() != "none"
    return LangfuseConfig(
        public_key=config.public_key or env("LANGFUSE_PUBLIC_KEY"),
        secret_key=config.secret_key or env("LANGFUSE_SECRET_KEY"),
        host=(config.host or env("LANGFUSE_BASE_URL", "LANGFUSE_HOST") or DEFAULT_HOST).rstrip("/"),
        traces_path=config.traces_path or env("LANGFUSE_OTEL_TRACES_EXPORT_PATH") or OTLP_PATH,
        environment=config.environment or env("LANGFUSE_TRACING_ENVIRONMENT"),
        release=config.release or env("LANGFUSE_RELEASE"),
        sample_rate=1.0 if sample is None else min(max(sample, 0.0), 1.0),
        compression=compression,
        default_tags=list(config.default_tags),
    )


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
