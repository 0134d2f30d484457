"""gateway-langfuse: every request as a Langfuse trace and generation (OTLP endpoint).

Enable it as in LiteLLM: ``litellm_settings: {success_callback: ["langfuse"]}`` plus
``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY`` and ``LANGFUSE_HOST``.  ``langfuse_otel`` is
accepted as the same sink.  See README.md.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway import ConfigError, Gateway, hookimpl

from .config import LangfuseConfig, resolved
from .sink import LangfuseSink

PLUGIN = "langfuse"
gateway_plugin_name = PLUGIN


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, LangfuseConfig)


def build_sink(gateway: Gateway) -> LangfuseSink:
    config = resolved(gateway.plugin_config(PLUGIN) or LangfuseConfig())
    missing = [
        name
        for name, value in (("LANGFUSE_PUBLIC_KEY", config.public_key), ("LANGFUSE_SECRET_KEY", config.secret_key))
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; export them (and LANGFUSE_HOST for a "
            "self-hosted Langfuse) or set plugins.langfuse.public_key / secret_key"
        )
    if not config.host or not config.host.startswith(("http://", "https://")):
        raise ConfigError(f"the Langfuse host must be an http(s) URL such as {'https://cloud.langfuse.com'!r}")
    return LangfuseSink(config, gateway.config.litellm_settings.langfuse_default_tags or [])


@hookimpl
def gateway_register_sinks(register: Callable[..., None]) -> None:
    register("langfuse", build_sink)
    register("langfuse_otel", build_sink)


@hookimpl
def gateway_config_keys() -> list[str]:
    """The LiteLLM config keys this plugin implements (LiteLLM's default trace tags)."""
    return [
        "litellm_settings.langfuse_default_tags",
    ]
