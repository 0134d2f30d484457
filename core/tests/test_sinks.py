"""The sink framework: enabling sinks by LiteLLM names, the versioned payload, delivery guarantees."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway import hookimpl
from gateway._errors import ConfigError
from gateway._gateway import Gateway
from gateway.sinks import Sink, SinkError, safe_text, sink_stats
from gateway.testing import FakeUpstream, LogCollector, Reply

from .conftest import MASTER, openai_config


class RecordingSink(Sink):
    """Keeps every batch it is given; optionally fails or hangs first."""

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.batches: list[list[dict[str, Any]]] = []
        self.calls = 0
        self._arrived = threading.Condition()

    async def send_batch(self, items: list[Any]) -> None:
        self.calls += 1
        if self.behaviour == "fail":
            raise SinkError("HTTP 500 from the test endpoint")
        if self.behaviour == "hang":
            await asyncio.sleep(3600)
        with self._arrived:
            self.batches.append(list(items))
            self._arrived.notify_all()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [item for batch in self.batches for item in batch]

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} events, got {len(self.events)}")
                self._arrived.wait(left)
        return self.events


class SinkPlugin:
    """Registers the given sinks by name (a stand-in for gateway-langfuse and friends)."""

    gateway_plugin_name = "test_sinks"

    def __init__(self, **sinks: Sink) -> None:
        self.sinks = sinks

    @hookimpl
    def gateway_register_sinks(self, register: Any) -> None:
        for name, sink in self.sinks.items():
            register(name, lambda gateway, sink=sink: sink)


def _chat(gw: Any, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], **kwargs)


# --------------------------------------------------------------------------- enabling sinks


def test_unknown_sink_name_fails_start_up_with_line_and_distribution(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('litellm_settings:\n  success_callback:\n    - langfuse\n  callbacks: ["datadog", "mything"]\n')
    with pytest.raises(ConfigError) as error:
        Gateway(config, load_entrypoints=False)
    message = str(error.value)
    assert "config.yaml line 3: litellm_settings.success_callback[0]" in message
    assert "pip install gateway-langfuse" in message
    assert "litellm_settings.callbacks[0]: 'datadog' is a LiteLLM callback that no gateway plugin implements" in message
    assert "callbacks[1]: unknown sink 'mything'" in message


def test_a_plugins_own_name_in_callbacks_is_left_to_that_plugin() -> None:
    gateway = Gateway(
        {"litellm_settings": {"callbacks": ["test_sinks"]}}, plugins=[SinkPlugin()], load_entrypoints=False
    )
    assert gateway.state["sinks"].active == {}


def test_success_and_failure_lists_route_events(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    ok, bad, both = RecordingSink(), RecordingSink(), RecordingSink()
    config = openai_config(
        fake_upstream,
        litellm_settings={"success_callback": ["ok", "both"], "failure_callback": ["bad"], "callbacks": []},
    )
    config["plugins"] = {"sinks": {"delivery_defaults": {"flush_interval": 0}}}
    gw = gateway_factory(config, plugins=[SinkPlugin(ok=ok, bad=bad, both=both)])
    _chat(gw)
    fake_upstream.enqueue(Reply(status=400, json={"error": {"message": "bad things"}}))
    with pytest.raises(openai.APIStatusError):
        _chat(gw)
    assert [e["status"] for e in ok.wait_for(1)] == [200]
    assert [e["status"] for e in bad.wait_for(1)] == [400]
    assert [e["error_class"] for e in bad.events] == ["UpstreamError"]
    assert len(both.wait_for(1)) == 1


# --------------------------------------------------------------------------- the payload


def test_payload_has_ids_timings_usage_principal_and_content(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    sink = RecordingSink()
    config = openai_config(fake_upstream, litellm_settings={"callbacks": ["rec"]})
    gw = gateway_factory(config, plugins=[SinkPlugin(rec=sink)])
    reply = _chat(
        gw,
        temperature=0.2,
        user="end-user-7",
        extra_body={"metadata": {"session_id": "s1", "tags": ["a"], "langfuse_secret_key": "sk-lf-x"}},
    )
    event = sink.wait_for(1)[0]
    assert event["schema_version"] == 1
    assert event["request_id"] and event["model_group"] == "gpt-4o" and event["provider"] == "openai"
    assert event["api_base"] == fake_upstream.base_url
    assert event["usage"]["prompt_tokens"] == reply.usage.prompt_tokens
    assert event["timings"]["upstream_ms"] is not None and event["timings"]["overhead_ms"] >= 0
    assert event["timings"]["total_ms"] >= event["timings"]["upstream_ms"]
    assert event["end_user"] == "end-user-7"
    assert event["principal"]["kind"] == "master"
    assert event["request"]["messages"] == [{"role": "user", "content": "hi"}]
    assert event["request"]["params"]["temperature"] == 0.2
    assert event["response"]["choices"][0]["message"]["content"] == fake_upstream.content
    assert event["metadata"] == {"session_id": "s1", "tags": ["a"]}  # the secret-looking key is gone
    assert event["tags"] == ["a"]
    assert MASTER not in repr(event)


def test_streamed_answer_is_captured_with_time_to_first_token(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    sink = RecordingSink()
    gw = gateway_factory(
        openai_config(fake_upstream, litellm_settings={"callbacks": ["rec"]}), plugins=[SinkPlugin(rec=sink)]
    )
    stream = _chat(gw, stream=True, stream_options={"include_usage": True})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    event = sink.wait_for(1)[0]
    assert event["stream"] is True
    assert event["response"]["choices"][0]["message"]["content"] == text == fake_upstream.content
    assert event["response"]["choices"][0]["finish_reason"] == "stop"
    assert 0 < event["time_to_first_token_ms"] <= event["latency_ms"]
    assert event["completion_start_time"] >= event["start_time"]
    assert event["usage"]["completion_tokens"] > 0


def test_redaction_settings_remove_content_and_principal(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    sink = RecordingSink()
    config = openai_config(
        fake_upstream,
        litellm_settings={"callbacks": ["rec"], "turn_off_message_logging": True, "redact_user_api_key_info": True},
    )
    gw = gateway_factory(config, plugins=[SinkPlugin(rec=sink)])
    _chat(gw)
    event = sink.wait_for(1)[0]
    assert event["request"] is None and event["response"] is None and event["redacted"] is True
    assert event["principal"]["id"] is None and event["principal"]["key_hash"] is None
    assert "hi" not in repr(event["metadata"])


def test_huge_content_is_truncated_per_config(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    sink = RecordingSink()
    config = openai_config(fake_upstream, litellm_settings={"callbacks": ["rec"]})
    config["plugins"] = {"sinks": {"max_string_chars": 1000, "max_content_chars": 1500}}
    gw = gateway_factory(config, plugins=[SinkPlugin(rec=sink)])
    huge = "é" * 300_000
    gw.openai().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": huge}, {"role": "user", "content": huge}]
    )
    event = sink.wait_for(1)[0]
    first, second = (m["content"] for m in event["request"]["messages"])
    assert first.startswith("é" * 1000) and first.endswith("[truncated 299000 chars]")
    # the second one gets what is left of the 1,500-character content budget (roles count too)
    assert 480 <= second.count("é") <= 500 and second.endswith("chars]")
    assert event["truncated"] is True


def test_safe_text_replaces_lone_surrogates_and_keeps_pairs() -> None:
    assert safe_text("a\ud800b", 100) == "a\ufffdb"
    assert safe_text("emoji \U0001f600", 100) == "emoji \U0001f600"
    assert safe_text("x" * 20, 5) == "xxxxx...[truncated 15 chars]"


# --------------------------------------------------------------------------- delivery


class HttpSink(Sink):
    """POSTs batches to a URL with the framework's session; HTTP >= 400 is a (retryable) failure."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def send_batch(self, items: list[Any]) -> None:
        async with self.session.post(self.url, json=items) as resp:
            if resp.status >= 400:
                raise SinkError(f"HTTP {resp.status}")


def test_hanging_and_failing_endpoints_are_bounded_and_counted(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    hanging, failing = FakeUpstream().start(), FakeUpstream().start()
    hanging.default = Reply(hang=True)
    failing.default = Reply(status=500, body=b"<html>oops</html>")
    try:
        good = RecordingSink()
        sinks = SinkPlugin(
            good=good, failing=HttpSink(failing.url + "/ingest"), hanging=HttpSink(hanging.url + "/ingest")
        )
        config = openai_config(fake_upstream, litellm_settings={"callbacks": ["good", "failing", "hanging"]})
        delivery = {
            "queue_size": 5,
            "batch_size": 2,
            "flush_interval": 0,
            "max_retries": 1,
            "retry_backoff": 0.01,
            "send_timeout": 0.3,
        }
        config["plugins"] = {"sinks": {"delivery_defaults": delivery, "flush_timeout": 0.5}}
        gw = gateway_factory(config, plugins=[sinks])
        requests = 40
        for _ in range(requests):
            _chat(gw)
        good.wait_for(requests)

        def settled(stats: dict[str, Any]) -> bool:  # the failing sink has worked through its queue
            return (
                stats["good"]["delivered"] == requests
                and stats["failing"]["queued"] == 0
                and stats["failing"]["sending"] == 0
            )

        deadline = time.monotonic() + 10
        while not settled(sink_stats(gw.gateway)) and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = sink_stats(gw.gateway)
        for name in ("good", "failing", "hanging"):
            s = stats[name]
            assert s["submitted"] == requests, (name, s)
            assert s["submitted"] == s["delivered"] + s["queued"] + s["sending"] + sum(s["dropped"].values()), s
            assert s["queue_high_water"] <= 5  # memory stays bounded: never more than the queue
        assert stats["good"]["delivered"] == requests and sum(stats["good"]["dropped"].values()) == 0
        assert stats["hanging"]["dropped"]["queue_full"] > 0 and stats["hanging"]["delivered"] == 0
        assert stats["failing"]["delivered"] == 0 and stats["failing"]["dropped"]["send_failed"] >= 2
        gw.stop()
        final = sink_stats(gw.gateway)
        for name in ("failing", "hanging"):
            s = final[name]
            assert s["queued"] == s["sending"] == 0
            assert sum(s["dropped"].values()) == requests, s  # every event is accounted for after shutdown
    finally:
        hanging.stop()
        failing.stop()


def test_queued_events_are_flushed_at_shutdown(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    sink = RecordingSink()
    config = openai_config(fake_upstream, litellm_settings={"callbacks": ["rec"]})
    config["plugins"] = {"sinks": {"delivery": {"rec": {"flush_interval": 300, "batch_size": 1000}}}}
    gw = gateway_factory(config, plugins=[SinkPlugin(rec=sink)])
    for _ in range(3):
        _chat(gw)
    time.sleep(0.2)
    assert sink.events == []  # waiting for a fuller batch
    gw.stop()
    assert len(sink.events) == 3


def test_one_access_line_per_request_without_secrets(
    fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[])
    _chat(gw)
    deadline = time.monotonic() + 5
    lines: list[dict[str, Any]] = []
    while not lines and time.monotonic() < deadline:
        lines = [line for line in server_logs if line.get("event") == "request"]
        time.sleep(0.01)
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] and line["status"] == 200 and line["model_group"] == "gpt-4o"
    assert line["tokens_in"] > 0
    assert MASTER not in repr(line)


def test_access_log_false_writes_no_request_line(
    fake_upstream: FakeUpstream, gateway_factory: Any, server_logs: Any
) -> None:
    collector = LogCollector()  # its event arrives after the request finished, so the line would be there
    config = openai_config(fake_upstream, plugins={"sinks": {"access_log": False}})
    gw = gateway_factory(config, plugins=[collector])
    _chat(gw)
    assert collector.wait_for(1)[0]["status"] == 200
    assert not [line for line in server_logs if line.get("event") == "request"]


def test_access_line_is_stamped_with_the_time_the_request_finished(capsys: Any, monkeypatch: Any) -> None:
    # the log worker writes the line a few milliseconds after the answer left; the line says when it left
    import orjson

    from gateway import _logs as logs
    from gateway._types import RequestContext

    monkeypatch.setattr(logs, "_json_format", True)
    monkeypatch.setattr(logs, "_access_enabled", True)
    ctx = RequestContext("req_stamped", "chat", {}, {})
    ctx.start_time, ctx.started, ctx.finished = 1764000000.0, 50.0, 50.25
    logs.access_line(ctx)  # no event loop here: written at once
    logs.access_log.flush()
    lines = [orjson.loads(text) for text in capsys.readouterr().err.splitlines() if "req_stamped" in text]
    assert len(lines) == 1
    assert lines[0]["timestamp"] == "2025-11-24T16:00:00.250000+00:00"
    assert lines[0]["latency_ms"] == 250.0


def test_log_redaction_masks_keys_in_any_field() -> None:
    from gateway._logs import redact

    out = redact(
        None,
        "info",
        {
            "error": "upstream said: Bearer sk-abcdef123456 is invalid",
            "api_key": "sk-x",
            "url": "https://u:pw@host/v1?key=abc&x=1",
            "key_alias": "team-a",
        },
    )
    assert out["error"] == "upstream said: Bearer [redacted] is invalid"
    assert out["api_key"] == "[redacted]"
    assert out["url"] == "https://[redacted]@host/v1?key=[redacted]&x=1"
    assert out["key_alias"] == "team-a"
