"""``plugins.webhook``: where log events and alerts are POSTed."""

from __future__ import annotations

import os

import orjson
from pydantic import BaseModel, ConfigDict, Field


class WebhookConfig(BaseModel):
    """The ``plugins.webhook`` section."""

    model_config = ConfigDict(extra="forbid")

    #: log events (``generic_api`` / ``webhook`` sinks) go here; default ``GENERIC_LOGGER_ENDPOINT``
    url: str | None = None
    #: extra headers for ``url`` (an auth header ...); default ``GENERIC_LOGGER_HEADERS`` ("k=v,k2=v2")
    headers: dict[str, str] = Field(default_factory=dict)
    #: alerts go here (JSON with a Slack-compatible ``text``); default ``WEBHOOK_URL``
    alert_url: str | None = None
    alert_headers: dict[str, str] = Field(default_factory=dict)
    #: only these alert kinds are sent (default: all); LiteLLM's ``alert_types``
    alert_types: list[str] | None = None
    #: seconds per alert POST attempt, and attempts per alert
    alert_timeout: float = Field(default=5.0, gt=0, le=30)
    alert_attempts: int = Field(default=3, ge=1, le=5)
    #: a name shown in alerts (several gateways posting to one channel)
    environment: str | None = None


def header_pairs(raw: str | None) -> dict[str, str]:
    """``GENERIC_LOGGER_HEADERS``: ``k=v,k2=v2`` or a JSON object."""
    if not raw:
        return {}
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    pairs = (part.split("=", 1) for part in raw.split(",") if "=" in part)
    return {k.strip(): v.strip() for k, v in pairs}


def log_url(config: WebhookConfig) -> str | None:
    return config.url or os.environ.get("GENERIC_LOGGER_ENDPOINT") or None


def log_headers(config: WebhookConfig) -> dict[str, str]:
    return {**header_pairs(os.environ.get("GENERIC_LOGGER_HEADERS")), **config.headers}
