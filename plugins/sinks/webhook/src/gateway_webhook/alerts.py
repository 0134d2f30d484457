"""Alerts (``gateway_alert``) to Slack and generic webhooks, within seconds of the event.

Targets, each receiving every alert kind it is configured for:

* ``general_settings.alerting: ["slack"]`` -> ``SLACK_WEBHOOK_URL`` (Slack incoming-webhook body);
* ``general_settings.alert_to_webhook_url: {<kind>: url | [urls]}`` -> that kind only (LiteLLM);
* ``plugins.webhook.alert_url`` or ``WEBHOOK_URL`` (``alerting: ["webhook"]``) -> a JSON body with
  the alert's fields and a Slack-compatible ``text``.

Delivery runs in core's alert queue (off the request path); each POST is bounded by
``alert_timeout`` and retried up to ``alert_attempts`` times in total, redirects are not followed.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from gateway import get_logger

if TYPE_CHECKING:
    import aiohttp

    from gateway import Gateway

    from .config import WebhookConfig

log = get_logger("gateway.webhook")

#: LiteLLM's names for the kinds gateway emits, so ``alert_to_webhook_url`` keys keep working
LITELLM_KINDS = {
    "deployment_cooldown": "cooldown_deployment",
    "soft_budget_crossed": "soft_budget_crossed",
    "budget_exceeded": "budget_alerts",
    "sink_dropping": "outage_alerts",
}


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    slack: bool
    headers: tuple[tuple[str, str], ...] = ()
    #: alert kinds this target receives (None: all)
    kinds: frozenset[str] | None = None


def targets_for(gateway: Gateway, config: WebhookConfig) -> list[Target]:
    general = gateway.config.general_settings
    alerting = [str(a) for a in general.alerting or []]
    kinds = frozenset(config.alert_types) if config.alert_types else None
    out: list[Target] = []
    slack_url = os.environ.get("SLACK_WEBHOOK_URL")
    if "slack" in alerting and slack_url:
        out.append(Target(slack_url, True, kinds=kinds))
    url = config.alert_url or (os.environ.get("WEBHOOK_URL") if "webhook" in alerting else None)
    if url:
        out.append(Target(url, False, tuple(config.alert_headers.items()), kinds))
    for kind, value in (general.alert_to_webhook_url or {}).items():
        for each in value if isinstance(value, list) else [value]:
            if isinstance(each, str) and each:
                out.append(Target(each, "hooks.slack.com" in each, kinds=frozenset({kind})))
    return out


def _text(alert: Any, environment: str | None) -> str:
    where = f" ({environment})" if environment else ""
    details = ", ".join(f"{k}={v}" for k, v in alert.details.items() if v is not None)
    return f":rotating_light: *{alert.kind}*{where}: {alert.message}" + (f"\n{details}" if details else "")


def body_for(target: Target, alert: Any, environment: str | None) -> bytes:
    text = _text(alert, environment)
    if target.slack:
        return orjson.dumps({"text": text})
    stamp = datetime.fromtimestamp(alert.time, tz=UTC).isoformat()
    return orjson.dumps(
        {
            "text": text,
            "kind": alert.kind,
            "alert_type": LITELLM_KINDS.get(alert.kind, alert.kind),
            "message": alert.message,
            "details": alert.details,
            "time": stamp,
            "environment": environment,
        },
        default=str,
    )


def wants(target: Target, kind: str) -> bool:
    return target.kinds is None or kind in target.kinds or LITELLM_KINDS.get(kind) in target.kinds


async def send_alert(session: aiohttp.ClientSession, targets: list[Target], alert: Any, config: WebhookConfig) -> None:
    """POST ``alert`` to every target that wants it; failures are logged, never raised."""
    import aiohttp

    for target in targets:
        if not wants(target, alert.kind):
            continue
        body = body_for(target, alert, config.environment)
        headers = {"content-type": "application/json", **dict(target.headers)}
        for attempt in range(config.alert_attempts):
            retryable = True
            try:
                async with session.post(
                    target.url,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=config.alert_timeout),
                ) as resp:
                    if resp.status < 300:
                        break
                    error = f"HTTP {resp.status}"
                    retryable = resp.status >= 500 or resp.status in (408, 429)  # a 3xx/4xx will not get better
            except (TimeoutError, aiohttp.ClientError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if not retryable or attempt + 1 >= config.alert_attempts:
                log.warning("alert_not_delivered", kind=alert.kind, target=_host(target.url), error=error)
                break
            await asyncio.sleep(0.2 * 2**attempt)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "?"
