"""gateway-helicone: every request logged to Helicone asynchronously, off the request path.

``litellm_settings: {success_callback: ["helicone"]}`` plus ``HELICONE_API_KEY`` (and optionally
``HELICONE_API_BASE``).  Each request becomes one POST to Helicone's logging API
(``/oai/v1/log``: the gateway's bodies are OpenAI-format) with ``providerRequest``,
``providerResponse`` and ``timing`` as documented at
docs.helicone.ai/getting-started/integration-method/manual-logger-curl.  See README.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from gateway import ConfigError, Gateway, hookimpl

from .sink import DEFAULT_BASE, HeliconeSink

PLUGIN = "helicone"
gateway_plugin_name = PLUGIN


class HeliconeConfig(BaseModel):
    """``plugins.helicone`` (optional: the environment variables are enough)."""

    model_config = ConfigDict(extra="forbid")

    #: ``HELICONE_API_KEY``
    api_key: str | None = None
    #: ``HELICONE_API_BASE`` (default the US worker endpoint)
    api_base: str | None = None
    #: sent as ``Helicone-Property-<name>`` on every log
    properties: dict[str, str] = Field(default_factory=dict)
    #: POSTs in flight at once per batch
    concurrency: int = Field(default=8, ge=1, le=64)


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, HeliconeConfig)


def build_sink(gateway: Gateway) -> HeliconeSink:
    config: HeliconeConfig = gateway.plugin_config(PLUGIN) or HeliconeConfig()
    key = config.api_key or os.environ.get("HELICONE_API_KEY")
    if not key:
        raise ConfigError("HELICONE_API_KEY is not set; export it (or set plugins.helicone.api_key)")
    base = (config.api_base or os.environ.get("HELICONE_API_BASE") or DEFAULT_BASE).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError("HELICONE_API_BASE must be an http(s) URL such as https://api.worker.helicone.ai")
    return HeliconeSink(key, base, config.properties, config.concurrency)


@hookimpl
def gateway_register_sinks(register: Callable[..., None]) -> None:
    register(PLUGIN, build_sink)
