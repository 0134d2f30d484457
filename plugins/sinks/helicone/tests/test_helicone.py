"""gateway-helicone against a local server speaking Helicone's async logging API.

Shape: POST ``/oai/v1/log`` with ``Authorization: Bearer <HELICONE_API_KEY>`` and
``{"providerRequest": {"url", "json", "meta"}, "providerResponse": {"json", "status", "headers"},
"timing": {"startTime": {"seconds", "milliseconds"}, "endTime": {...}, "timeToFirstToken"?}}``
(docs.helicone.ai/getting-started/integration-method/manual-logger-curl).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import gateway_helicone
import gateway_openai
import openai
import pytest

from gateway.testing import FakeUpstream, Reply

MASTER = "sk-master-helicone-test"


@pytest.fixture
def helicone(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = FakeUpstream().start()
    server.default = Reply(status=200, json={"ok": True})
    monkeypatch.setenv("HELICONE_API_KEY", "sk-helicone-test")
    monkeypatch.setenv("HELICONE_API_BASE", server.url)
    yield server
    server.stop()


def logs(server: FakeUpstream, count: int, timeout: float = 10) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in list(server.requests) if r.path == "/oai/v1/log"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def config_for(upstream: FakeUpstream) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": {"success_callback": ["helicone"], "failure_callback": ["helicone"]},
        "router_settings": {"num_retries": 0},
        "plugins": {
            "sinks": {"delivery_defaults": {"flush_interval": 0.05, "retry_backoff": 0.05}},
            "helicone": {"properties": {"App": "checkout"}},
        },
    }


def test_success_and_failure_are_logged_in_helicones_format(
    helicone: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(config_for(fake_upstream), plugins=[gateway_helicone, gateway_openai], load_entrypoints=False)
    client = gw.openai()
    reply = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        user="u-1",
        temperature=0.5,
        extra_body={"metadata": {"session_id": "s-9"}},
    )
    fake_upstream.enqueue(Reply(status=500, json={"error": {"message": "upstream broke"}}))
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "again"}])
    first, second = logs(helicone, 2)
    assert first.headers["authorization"] == "Bearer sk-helicone-test"
    ok = first.json
    assert ok["providerRequest"]["url"] == fake_upstream.base_url + "/chat/completions"
    assert ok["providerRequest"]["json"]["messages"] == [{"role": "user", "content": "hi"}]
    assert ok["providerRequest"]["json"]["temperature"] == 0.5
    meta = ok["providerRequest"]["meta"]
    assert meta["Helicone-User-Id"] == "u-1" and meta["Helicone-Session-Id"] == "s-9"
    assert meta["Helicone-Property-App"] == "checkout" and meta["Helicone-Property-Model-Group"] == "gpt-4o"
    uuid.UUID(meta["Helicone-Request-Id"])
    assert ok["providerResponse"]["status"] == 200
    assert ok["providerResponse"]["json"]["choices"][0]["message"]["content"] == fake_upstream.content
    assert ok["providerResponse"]["json"]["usage"]["total_tokens"] == reply.usage.total_tokens
    timing = ok["timing"]
    start = timing["startTime"]["seconds"] * 1000 + timing["startTime"]["milliseconds"]
    end = timing["endTime"]["seconds"] * 1000 + timing["endTime"]["milliseconds"]
    assert 0 <= end - start < 60_000
    failed = second.json
    assert failed["providerResponse"]["status"] == 500
    assert "upstream broke" in failed["providerResponse"]["json"]["error"]["message"]
    assert MASTER not in repr(first.body) + repr(second.body)


def test_streams_report_time_to_first_token(
    helicone: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(config_for(fake_upstream), plugins=[gateway_helicone, gateway_openai], load_entrypoints=False)
    for _ in gw.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    ):
        pass
    [log] = logs(helicone, 1)
    assert log.json["timing"]["timeToFirstToken"] >= 0
    assert log.json["providerResponse"]["json"]["choices"][0]["message"]["content"] == fake_upstream.content


def test_a_retried_batch_does_not_send_twice(
    helicone: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = config_for(fake_upstream)
    config["plugins"]["sinks"]["delivery"] = {"helicone": {"flush_interval": 0.5, "batch_size": 2}}
    gw = gateway_factory(config, plugins=[gateway_helicone, gateway_openai], load_entrypoints=False)
    helicone.enqueue(Reply(status=200, json={}), Reply(status=502, body=b"<html>bad gateway</html>"))
    for _ in range(2):
        gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    found = logs(helicone, 3)
    ids = [r.json["providerRequest"]["meta"]["Helicone-Request-Id"] for r in found]
    assert len(found) == 3 and len(set(ids)) == 2  # the refused one went again, the accepted one did not
