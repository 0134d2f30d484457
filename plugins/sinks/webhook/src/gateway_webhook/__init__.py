"""gateway-webhook: log events to any HTTP endpoint, and alerts to Slack or webhooks.

* ``generic_api`` / ``webhook`` sinks (``litellm_settings.success_callback`` / ``failure_callback``
  / ``callbacks``) POST batches of log payloads as JSON arrays to ``plugins.webhook.url``
  (``GENERIC_LOGGER_ENDPOINT``).
* ``slack`` sink: failed requests as Slack messages to ``SLACK_WEBHOOK_URL``.
* ``gateway_alert``: deployment cooldowns, soft-budget crossings, dropping sinks ... to Slack
  (``general_settings.alerting: ["slack"]``) and/or webhooks, within seconds.  See README.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gateway import ConfigError, Gateway, hookimpl

from .alerts import send_alert, targets_for
from .config import WebhookConfig, log_headers, log_url
from .sink import GenericApiSink, SlackSink, slack_url

PLUGIN = "webhook"
gateway_plugin_name = PLUGIN


@hookimpl
def gateway_register_config(register: Callable[..., None]) -> None:
    register(PLUGIN, WebhookConfig)


def _config(gateway: Gateway) -> WebhookConfig:
    return gateway.plugin_config(PLUGIN) or WebhookConfig()


def _generic(gateway: Gateway) -> GenericApiSink:
    config = _config(gateway)
    url = log_url(config)
    if not url or not url.startswith(("http://", "https://")):
        raise ConfigError(
            "set plugins.webhook.url (or GENERIC_LOGGER_ENDPOINT) to the http(s) URL that receives log events"
        )
    return GenericApiSink(url, log_headers(config))


def _slack(gateway: Gateway) -> Any:
    url = slack_url()
    if not url:
        raise ConfigError("SLACK_WEBHOOK_URL is not set; export it with your Slack incoming-webhook URL")
    return SlackSink(url)


@hookimpl
def gateway_register_sinks(register: Callable[..., None]) -> None:
    register("generic_api", _generic)
    register("webhook", _generic)
    register("slack", _slack)


@hookimpl
def gateway_configure(gateway: Gateway) -> None:
    config = _config(gateway)
    general = gateway.config.general_settings
    if "slack" in (general.alerting or []) and not slack_url():
        raise ConfigError("general_settings.alerting lists 'slack' but SLACK_WEBHOOK_URL is not set; export it")
    gateway.state[PLUGIN] = {"config": config, "targets": targets_for(gateway, config), "session": None}


@hookimpl
def gateway_lifespan(gateway: Gateway) -> Any:
    state = gateway.state[PLUGIN]
    if not state["targets"]:
        return None

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        import aiohttp

        state["session"] = aiohttp.ClientSession()
        try:
            yield
        finally:
            await state["session"].close()
            state["session"] = None

    return running()


@hookimpl
async def gateway_alert(alert: Any, gateway: Gateway) -> None:
    state = gateway.state.get(PLUGIN)
    if not state or not state["targets"] or state["session"] is None:
        return
    await send_alert(state["session"], state["targets"], alert, state["config"])


@hookimpl
def gateway_config_keys() -> list[str]:
    """The LiteLLM config keys this plugin implements (alert routing per alert type)."""
    return [
        "general_settings.alert_to_webhook_url",
    ]
