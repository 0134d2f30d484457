"""gateway-langfuse against a local server that receives what the sink sends and decodes it.

The wire format is Langfuse's OTLP endpoint as the official SDK uses it (POST
``/api/public/otel/v1/traces``, ``application/x-protobuf``, gzip, Basic auth public:secret,
``x-langfuse-ingestion-version: 4``): https://langfuse.com/integrations/native/opentelemetry and
the property mapping on that page (``langfuse.observation.*``, ``langfuse.trace.*``).  No Langfuse
server can run offline (shared/reference/real-components.md §2), so the capture server decodes the
protobuf body with ``opentelemetry-proto`` and the tests assert on exactly what was sent.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from decimal import Decimal
from typing import Any

import gateway_langfuse
import gateway_openai
import openai
import pytest
from gateway_otel.otlp import decode_spans

from gateway import ConfigError, Gateway, hookimpl
from gateway.sinks import sink_stats
from gateway.testing import FakeUpstream, Reply

MASTER = "sk-master-langfuse-test"


class FixedCost:
    """Prices every successful call at a fixed amount (a stand-in for the spend plugin)."""

    gateway_plugin_name = "fixed_cost"

    @hookimpl
    def gateway_post_call(self, ctx: Any) -> None:
        ctx.cost = Decimal("0.000123")


@pytest.fixture
def langfuse_server() -> Any:
    server = FakeUpstream().start()
    server.default = Reply(status=200, body=b"", headers={"content-type": "application/x-protobuf"})
    yield server
    server.stop()


@pytest.fixture
def langfuse_env(monkeypatch: pytest.MonkeyPatch, langfuse_server: FakeUpstream) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.setenv("LANGFUSE_HOST", langfuse_server.url)


def config_for(upstream: FakeUpstream, **litellm: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o-2024", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": litellm or {"success_callback": ["langfuse"]},
        "plugins": {"sinks": {"delivery_defaults": {"flush_interval": 0.05, "retry_backoff": 0.05}}},
    }


def received_spans(server: FakeUpstream, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        spans = []
        for request in list(server.requests):
            if request.path == "/api/public/otel/v1/traces":
                spans += decode_spans(gzip.decompress(request.body))
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


def by_type(spans: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["attributes"].get("langfuse.observation.type") == kind]


def test_seed_switch_delivers_trace_and_generation(
    langfuse_env: None, langfuse_server: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(
        config_for(fake_upstream), plugins=[gateway_langfuse, gateway_openai, FixedCost()], load_entrypoints=False
    )
    client = gw.openai()
    reply = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        temperature=0.2,
        user="end-user-42",
        extra_body={"metadata": {"session_id": "sess-1", "tags": ["checkout"], "generation_name": "answer"}},
    )
    spans = received_spans(langfuse_server, 2)
    request = next(r for r in langfuse_server.requests if r.path == "/api/public/otel/v1/traces")
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"pk-lf-test:sk-lf-test").decode()
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["x-langfuse-ingestion-version"] == "4"

    [root], [generation] = by_type(spans, "span"), by_type(spans, "generation")
    assert generation["trace_id"] == root["trace_id"] and generation["parent_span_id"] == root["span_id"]
    trace = root["attributes"]
    assert trace["langfuse.trace.name"] == "litellm-acompletion"
    assert trace["user.id"] == "end-user-42" and trace["session.id"] == "sess-1"
    assert trace["langfuse.trace.tags"] == ["checkout"]
    attrs = generation["attributes"]
    assert generation["name"] == "answer"
    assert attrs["langfuse.observation.model.name"] == "gpt-4o-2024"
    assert json.loads(attrs["langfuse.observation.model.parameters"]) == {"temperature": 0.2, "user": "end-user-42"}
    assert json.loads(attrs["langfuse.observation.usage_details"]) == {
        "input": reply.usage.prompt_tokens,
        "output": reply.usage.completion_tokens,
        "total": reply.usage.total_tokens,
    }
    assert json.loads(attrs["langfuse.observation.cost_details"]) == {"total": 0.000123}
    assert json.loads(attrs["langfuse.observation.input"]) == [{"role": "user", "content": "hi"}]
    assert json.loads(attrs["langfuse.observation.output"])["content"] == fake_upstream.content
    assert attrs["langfuse.observation.level"] == "DEFAULT"
    metadata = json.loads(attrs["langfuse.observation.metadata"])
    assert metadata["model_group"] == "gpt-4o" and metadata["provider"] == "openai"
    assert generation["start_ns"] < generation["end_ns"]
    assert attrs["langfuse.observation.completion_start_time"].endswith("Z")
    assert MASTER not in repr(spans) and "sk-up" not in repr(spans)


def test_failed_call_is_an_error_level_generation(
    langfuse_env: None, langfuse_server: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = config_for(fake_upstream, success_callback=["langfuse"], failure_callback=["langfuse"])
    gw = gateway_factory(config, plugins=[gateway_langfuse, gateway_openai], load_entrypoints=False)
    fake_upstream.enqueue(Reply(status=400, json={"error": {"message": "context too long"}}))
    with pytest.raises(openai.APIStatusError):
        gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    [generation] = by_type(received_spans(langfuse_server, 2), "generation")
    assert generation["attributes"]["langfuse.observation.level"] == "ERROR"
    assert "context too long" in generation["attributes"]["langfuse.observation.status_message"]
    assert generation["status"] == 2


def test_streamed_call_has_completion_start_time_and_output(
    langfuse_env: None, langfuse_server: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(config_for(fake_upstream), plugins=[gateway_langfuse, gateway_openai], load_entrypoints=False)
    stream = gw.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    for _ in stream:
        pass
    [generation] = by_type(received_spans(langfuse_server, 2), "generation")
    attrs = generation["attributes"]
    assert json.loads(attrs["langfuse.observation.output"])["content"] == fake_upstream.content
    assert attrs["langfuse.observation.completion_start_time"]


def test_per_request_keys_send_to_that_project_and_never_leak(
    langfuse_env: None, langfuse_server: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(config_for(fake_upstream), plugins=[gateway_langfuse, gateway_openai], load_entrypoints=False)
    gw.openai().chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"metadata": {"langfuse_public_key": "pk-lf-team", "langfuse_secret_key": "sk-lf-team-secret"}},
    )
    spans = received_spans(langfuse_server, 2)
    request = next(r for r in langfuse_server.requests if r.path.endswith("/traces"))
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"pk-lf-team:sk-lf-team-secret").decode()
    assert "sk-lf-team-secret" not in repr(spans)


def test_server_errors_are_retried_and_redirects_never_followed(
    langfuse_env: None, langfuse_server: FakeUpstream, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(config_for(fake_upstream), plugins=[gateway_langfuse, gateway_openai], load_entrypoints=False)
    langfuse_server.enqueue(
        Reply(status=503, body=b"<html>busy</html>"), Reply(status=200, body=b"not protobuf at all")
    )
    gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    deadline = time.monotonic() + 10
    while sink_stats(gw.gateway)["langfuse"]["delivered"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    stats = sink_stats(gw.gateway)["langfuse"]
    assert stats["delivered"] == 1 and stats["retries"] == 1

    langfuse_server.default = Reply(status=307, headers={"location": "http://127.0.0.1:9/steal"})
    gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    deadline = time.monotonic() + 10
    while sink_stats(gw.gateway)["langfuse"]["dropped"]["send_failed"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    stats = sink_stats(gw.gateway)["langfuse"]
    assert stats["dropped"]["send_failed"] == 1 and stats["retries"] == 1  # a 3xx is not retried
    assert not [r for r in langfuse_server.requests if r.path == "/steal"]


def test_missing_keys_fail_start_up_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch, fake_upstream: FakeUpstream
) -> None:
    monkeypatch.delenv("LANGFUSE_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("LANGFUSE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError) as error:
        Gateway(config_for(fake_upstream), plugins=[gateway_langfuse, gateway_openai], load_entrypoints=False)
    assert "litellm_settings.success_callback[0]" in str(error.value)
    assert "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set" in str(error.value)
