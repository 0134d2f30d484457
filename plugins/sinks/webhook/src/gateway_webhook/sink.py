"""Log events to any HTTP endpoint (``generic_api`` / ``webhook``) and failures to Slack (``slack``)."""

from __future__ import annotations

import os
from typing import Any

import orjson

from gateway.sinks import Sink, SinkError


async def post_json(sink: Sink, url: str, body: bytes, headers: dict[str, str], what: str) -> None:
    """POST ``body``; 2xx is success, 5xx/408/429 retryable, anything else (redirects too) is not."""
    async with sink.session.post(
        url, data=body, headers={"content-type": "application/json", **headers}, allow_redirects=False
    ) as resp:
        if resp.status < 300:
            return
        text = (await resp.content.read(200)).decode("utf-8", "replace")
        raise SinkError(
            f"{what} answered HTTP {resp.status}: {text}", retryable=resp.status >= 500 or resp.status in (408, 429)
        )


class GenericApiSink(Sink):
    """POSTs each batch as a JSON array of log payloads (docs/log-event.md), like LiteLLM's generic_api."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers

    async def send_batch(self, items: list[Any]) -> None:
        await post_json(self, self.url, orjson.dumps(items), self.headers, "the webhook endpoint")


class SlackSink(Sink):
    """One Slack message per failed request (status, model, error), to ``SLACK_WEBHOOK_URL``."""

    wants_content = False
    default_delivery = {"batch_size": 20, "flush_interval": 2.0}

    def __init__(self, url: str) -> None:
        self.url = url

    def prepare(self, payload: dict[str, Any], event: Any) -> Any:
        if payload["status"] < 400:
            return None
        principal = payload.get("principal") or {}
        who = principal.get("key_alias") or principal.get("team_alias") or principal.get("id") or "?"
        return (
            f"*{payload['status']}* `{payload['model_group'] or payload['requested_model']}` "
            f"({payload['error_class']}): {(payload['error_message'] or '')[:300]} "
            f"- request {payload['request_id']}, caller {who}"
        )

    async def send_batch(self, items: list[Any]) -> None:
        text = ":x: gateway request failures:\n" + "\n".join(items)
        await post_json(self, self.url, orjson.dumps({"text": text}), {}, "Slack")


def slack_url() -> str | None:
    return os.environ.get("SLACK_WEBHOOK_URL") or None
