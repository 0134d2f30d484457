"""gateway-webhook: log events to a generic endpoint, alerts to webhooks and Slack.

The receivers are local servers (``FakeUpstream``) that record what they get.  Slack's
incoming-webhook body is ``{"text": ...}`` (https://api.slack.com/messaging/webhooks); LiteLLM's
``generic_api`` logger POSTs a JSON array of log payloads.
"""

from __future__ import annotations

import time
from typing import Any

import gateway_openai
import gateway_webhook
import openai
import orjson
import pytest

from gateway import ConfigError, Gateway, hookimpl
from gateway.testing import FakeUpstream, RecordedRequest, Reply

MASTER = "sk-master-webhook-test"


@pytest.fixture
def receiver() -> Any:
    server = FakeUpstream().start()
    server.default = Reply(status=200, json={"ok": True})
    yield server
    server.stop()


def wait_for(server: FakeUpstream, predicate: Any, timeout: float = 60) -> list[RecordedRequest]:
    """Requests matching ``predicate``; waits up to ``timeout`` s (the issue's alerting bound)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in list(server.requests) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def base_config(*urls: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": url, "api_key": "sk-up"},
                "model_info": {"id": f"deployment-{i}"},
            }
            for i, url in enumerate(urls)
        ],
        "general_settings": {"master_key": MASTER},
        "plugins": {"sinks": {"delivery_defaults": {"flush_interval": 0.05}}},
    }
    for key, value in extra.items():
        config.setdefault(key, {}).update(value)
    return config


def test_failures_are_posted_as_json_payloads(
    receiver: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = base_config(
        fake_upstream.base_url,
        litellm_settings={"failure_callback": ["generic_api"]},
        router_settings={"num_retries": 0},
    )
    config["plugins"]["webhook"] = {"url": receiver.url + "/ingest", "headers": {"x-token": "t1"}}
    gw = gateway_factory(config, plugins=[gateway_webhook, gateway_openai], load_entrypoints=False)
    gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "ok"}])
    fake_upstream.enqueue(Reply(status=500, json={"error": {"message": "upstream exploded"}}))
    with pytest.raises(openai.APIStatusError):
        gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "boom"}])
    [request] = wait_for(receiver, lambda r: r.path == "/ingest", timeout=10)
    assert request.headers["x-token"] == "t1"
    [event] = request.json  # only the failure: success_callback does not name the sink
    assert event["status"] == 500 and event["error_class"] == "UpstreamError"
    assert "upstream exploded" in event["error_message"]
    assert event["request"]["messages"][0]["content"] == "boom"


def test_deployment_cooldown_alert_reaches_webhook_and_slack(
    receiver: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = FakeUpstream().start()
    failing.default = Reply(status=500, json={"error": {"message": "down"}})
    try:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.url + "/slack")
        config = base_config(
            failing.base_url,
            fake_upstream.base_url,
            router_settings={"allowed_fails": 0, "cooldown_time": 60, "num_retries": 1},
            general_settings={"alerting": ["slack"]},
        )
        config["plugins"]["webhook"] = {"alert_url": receiver.url + "/alerts", "environment": "test"}
        gw = gateway_factory(config, plugins=[gateway_webhook, gateway_openai], load_entrypoints=False)
        client = gw.openai()
        for _ in range(10):  # the shuffle picks the failing deployment first sooner or later
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            if failing.requests:
                break
        assert failing.requests, "the failing deployment was never tried"
        [alert] = wait_for(receiver, lambda r: r.path == "/alerts")
        body = alert.json
        assert body["kind"] == "deployment_cooldown" and body["alert_type"] == "cooldown_deployment"
        assert body["details"]["deployment_id"] == "deployment-0" and body["environment"] == "test"
        assert "deployment-0" in body["text"]
        [slack] = wait_for(receiver, lambda r: r.path == "/slack")
        assert set(slack.json) == {"text"} and "deployment_cooldown" in slack.json["text"]
    finally:
        failing.stop()


class SoftBudget:
    """Stands in for the budget plugin: reports a soft-budget crossing on every request."""

    gateway_plugin_name = "soft_budget"

    @hookimpl
    def gateway_pre_call(self, ctx: Any, gateway: Any) -> None:
        gateway.emit_alert(
            "soft_budget_crossed",
            "key 'team-a-key' crossed its soft budget of $10.00 (spend $10.42)",
            scope="key",
            key_alias="team-a-key",
            soft_budget="10.00",
            spend="10.42",
        )


def test_soft_budget_alert_is_delivered(
    receiver: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = base_config(fake_upstream.base_url)
    config["plugins"]["webhook"] = {"alert_url": receiver.url + "/alerts", "alert_types": ["soft_budget_crossed"]}
    gw = gateway_factory(config, plugins=[gateway_webhook, gateway_openai, SoftBudget()], load_entrypoints=False)
    gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    [alert] = wait_for(receiver, lambda r: r.path == "/alerts")
    assert alert.json["kind"] == "soft_budget_crossed" and alert.json["details"]["spend"] == "10.42"


def test_hanging_alert_endpoint_is_bounded_and_never_blocks_requests(
    fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any
) -> None:
    hanging = FakeUpstream().start()
    hanging.default = Reply(hang=True)
    try:
        config = base_config(fake_upstream.base_url)
        config["plugins"]["webhook"] = {"alert_url": hanging.url + "/alerts", "alert_timeout": 0.2, "alert_attempts": 2}
        gw = gateway_factory(config, plugins=[gateway_webhook, gateway_openai, SoftBudget()], load_entrypoints=False)
        for _ in range(3):
            gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        deadline = time.monotonic() + 10
        while not [x for x in server_logs if x.get("event") == "alert_not_delivered"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [x for x in server_logs if x.get("event") == "alert_not_delivered"]
    finally:
        hanging.stop()


def test_slack_alerting_without_url_fails_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_URL is not set"):
        Gateway({"general_settings": {"alerting": ["slack"]}}, plugins=[gateway_webhook], load_entrypoints=False)


def test_generic_api_without_url_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENERIC_LOGGER_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match=r"callbacks\[0\].*plugins.webhook.url"):
        Gateway({"litellm_settings": {"callbacks": ["generic_api"]}}, plugins=[gateway_webhook], load_entrypoints=False)


def test_slack_body_is_only_text() -> None:
    from gateway_webhook.alerts import Target, body_for

    from gateway import Alert

    body = orjson.loads(body_for(Target("https://hooks.slack.com/x", True), Alert("k", "m", {"a": 1}), None))
    assert body == {"text": ":rotating_light: *k*: m\na=1"}
