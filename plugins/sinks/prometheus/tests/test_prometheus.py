"""gateway-prometheus: /metrics after a mix of requests, bounded labels, sink drops, several workers.

Scrapes are parsed with prometheus_client's own text-format parser.  Budget and guardrail blocks
come from tiny test plugins that behave like the budget and guardrail plugins (they raise the
gateway's errors in ``pre_call`` and record ``ctx.annotations`` as docs/log-event.md documents).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gateway_openai
import gateway_prometheus
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import BadRequestError, BudgetExceededError, Principal, fake_openai, hookimpl
from gateway.sinks import Sink, SinkError
from gateway.testing import FakeUpstream, Reply, free_port

MASTER = "sk-master-prometheus-test"
CHAT = [{"role": "user", "content": "hi"}]


class Governance:
    """Blocks requests the way the budget and guardrail plugins do, when the metadata asks for it."""

    gateway_plugin_name = "governance"

    @hookimpl
    def gateway_pre_call(self, ctx: Any) -> None:
        metadata = ctx.request.metadata()
        ctx.annotations["spend"] = {
            "budgets": [{"scope": "key", "id": "hash-1", "alias": "k1", "max_budget": 2.0, "spend": 1.5}],
            "rate_limits": [{"scope": "key", "id": "hash-1", "alias": "k1", "remaining_requests": 41}],
        }
        if metadata.get("block") == "budget":
            raise BudgetExceededError("Budget has been exceeded! key 'k1' spend 2.0, max budget 2.0")
        if metadata.get("block") == "guardrail":
            ctx.annotations["guardrails"] = [
                {"guardrail": "no-secrets", "mode": "pre_call", "outcome": "blocked", "latency_ms": 3.0}
            ]
            raise BadRequestError("Violated guardrail policy: no-secrets")


class FailingSink(Sink):
    async def send_batch(self, items: list[Any]) -> None:
        raise SinkError("HTTP 500")


class FailingSinkPlugin:
    gateway_plugin_name = "failing_sink"

    @hookimpl
    def gateway_register_sinks(self, register: Any) -> None:
        register("failing", lambda gateway: FailingSink())


def model(name: str, upstream: FakeUpstream, model_id: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
        "model_info": {"id": model_id},
    }


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels`` (0 when none)."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def scrape(url: str) -> str:
    response = httpx.get(url + "/metrics", headers={"authorization": f"Bearer {MASTER}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def settle(url: str, name: str, expected: float, timeout: float = 10, **labels: str) -> str:
    """Scrape until ``name`` reaches ``expected`` (metrics are updated off the request path)."""
    deadline = time.monotonic() + timeout
    while True:
        text = scrape(url)
        if sample(text, name, **labels) >= expected or time.monotonic() > deadline:
            return text
        time.sleep(0.02)


@pytest.fixture
def broken() -> Any:
    server = FakeUpstream().start()
    server.default = Reply(status=500, json={"error": {"message": "upstream down"}})
    yield server
    server.stop()


def test_metrics_after_a_mix_of_requests(
    fake_upstream: FakeUpstream, broken: FakeUpstream, gateway_factory: Any
) -> None:
    config = {
        "model_list": [
            model("gpt-4o", fake_upstream, "good-1"),
            model("broken", broken, "broken-1"),
            model("flaky", broken, "flaky-1"),
        ],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": {"callbacks": ["prometheus", "failing"]},
        "router_settings": {"num_retries": 0, "fallbacks": [{"flaky": ["gpt-4o"]}]},
        "plugins": {"sinks": {"delivery": {"failing": {"max_retries": 0, "flush_interval": 0}}}},
    }
    gw = gateway_factory(
        config, plugins=[gateway_prometheus, gateway_openai, Governance(), FailingSinkPlugin()], load_entrypoints=False
    )
    client = gw.openai()
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=CHAT)
    for _ in client.chat.completions.create(model="gpt-4o", messages=CHAT, stream=True):
        pass
    for target, extra in (("broken", None), ("gpt-4o", {"block": "budget"}), ("gpt-4o", {"block": "guardrail"})):
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(
                model=target, messages=CHAT, extra_body={"metadata": extra} if extra else None
            )
    client.chat.completions.create(model="flaky", messages=CHAT)  # served by the fallback

    total = "litellm_proxy_total_requests_metric_total"
    text = settle(gw.url, "gateway_sink_dropped_events_total", 8, sink="failing", reason="send_failed")
    assert sample(text, total, model_group="gpt-4o", status_code="200") == 4
    assert sample(text, total, model_group="broken", status_code="500") == 1
    assert sample(text, total, model_group="gpt-4o", status_code="422") == 1
    assert sample(text, total, model_group="gpt-4o", status_code="400") == 1
    assert sample(text, total, model_group="flaky", status_code="200") == 1
    failed = "litellm_proxy_failed_requests_metric_total"
    assert sample(text, failed, model_group="broken", exception_class="UpstreamError") == 1
    assert sample(text, failed, exception_class="BudgetExceededError") == 1
    assert sample(text, failed, exception_class="BadRequestError") == 1
    assert (
        sample(text, "litellm_deployment_successful_fallbacks_total", requested_model="flaky", fallback_model="gpt-4o")
        == 1
    )
    assert sample(text, "litellm_deployment_failure_responses_total", model_id="flaky-1") == 1
    assert sample(text, "litellm_deployment_success_responses_total", model_id="good-1") == 5
    assert sample(text, "litellm_deployment_state", model_id="broken-1") == 1
    assert sample(text, "litellm_guardrail_requests_total", guardrail_name="no-secrets", outcome="blocked") == 1
    assert sample(text, "litellm_remaining_api_key_budget_metric", api_key_alias="k1") == 0.5
    assert sample(text, "litellm_remaining_api_key_requests_for_model", api_key_alias="k1", model_group="gpt-4o") == 41
    assert sample(text, "litellm_in_flight_requests") == 0
    # four answered requests (the stream reports usage too), each with the fake model's prompt count
    assert sample(text, "litellm_input_tokens_metric_total", model_group="gpt-4o") == 4 * fake_openai.prompt_tokens(
        CHAT
    )
    assert sample(text, "litellm_llm_api_time_to_first_token_metric_count", model_group="gpt-4o") == 1
    assert sample(text, "litellm_request_total_latency_metric_count", model_group="gpt-4o") == 6
    assert sample(text, "litellm_llm_api_latency_metric_count", model_group="gpt-4o") == 4
    assert sample(text, "gateway_sink_dropped_events_total", sink="failing", reason="send_failed") == 8
    assert MASTER not in text


def test_caller_labels_are_off_by_default_and_capped_when_on(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    config = {
        "model_list": [model("gpt-4o", fake_upstream, "good-1")],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": {"callbacks": ["prometheus"]},
        "plugins": {"prometheus": {"extra_labels": ["end_user"], "max_label_values": 2}},
    }
    gw = gateway_factory(config, plugins=[gateway_prometheus, gateway_openai], load_entrypoints=False)
    for user in ("alice", "bob", "carol", "dave"):
        gw.openai().chat.completions.create(model="gpt-4o", messages=CHAT, user=user)
    text = settle(gw.url, "litellm_proxy_total_requests_metric_total", 2, end_user="__other__")
    assert sample(text, "litellm_proxy_total_requests_metric_total", end_user="alice") == 1
    assert sample(text, "litellm_proxy_total_requests_metric_total", end_user="__other__") == 2
    assert "carol" not in text


class Keys:
    """Two keys besides the master key: an admin's and a plain caller's."""

    gateway_plugin_name = "keys"

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        if api_key == "sk-admin":
            return Principal(id="admin", kind="virtual_key", is_admin=True)
        if api_key == "sk-plain":
            return Principal(id="plain", kind="virtual_key")
        return None


#: who scrapes -> the status, per setting; the README's "Who may scrape" says the same
METRICS_MATRIX = {
    # setting: (no key, plain key, admin key, master key)
    "default": (401, 403, 200, 200),
    "plugins.prometheus.require_auth: false": (200, 200, 200, 200),
    "litellm_settings.require_auth_for_metrics_endpoint: false": (200, 200, 200, 200),
    "require_auth: true wins over LiteLLM's false": (401, 403, 200, 200),
}
SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "plugins.prometheus.require_auth: false": {"plugins": {"prometheus": {"require_auth": False}}},
    "litellm_settings.require_auth_for_metrics_endpoint: false": {
        "litellm_settings": {"callbacks": ["prometheus"], "require_auth_for_metrics_endpoint": False}
    },
    "require_auth: true wins over LiteLLM's false": {
        "litellm_settings": {"callbacks": ["prometheus"], "require_auth_for_metrics_endpoint": False},
        "plugins": {"prometheus": {"require_auth": True}},
    },
}


def test_metrics_route_exists_only_when_enabled(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    base = {"model_list": [model("gpt-4o", fake_upstream, "good-1")], "general_settings": {"master_key": MASTER}}
    off = gateway_factory(base, plugins=[gateway_prometheus, gateway_openai], load_entrypoints=False)
    assert httpx.get(off.url + "/metrics", headers={"authorization": f"Bearer {MASTER}"}).status_code == 404


@pytest.mark.parametrize("setting", list(METRICS_MATRIX))
def test_who_may_scrape(setting: str, fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    config: dict[str, Any] = {
        "model_list": [model("gpt-4o", fake_upstream, "good-1")],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": {"callbacks": ["prometheus"]},
        **SETTINGS[setting],
    }
    gw = gateway_factory(config, plugins=[gateway_prometheus, gateway_openai, Keys()], load_entrypoints=False)
    got = tuple(
        httpx.get(gw.url + "/metrics", headers={"authorization": f"Bearer {key}"} if key else {}).status_code
        for key in (None, "sk-plain", "sk-admin", MASTER)
    )
    assert got == METRICS_MATRIX[setting]


def test_a_refused_scrape_is_an_openai_shaped_error_naming_the_fix(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = {
        "model_list": [model("gpt-4o", fake_upstream, "good-1")],
        "general_settings": {"master_key": MASTER},
        "litellm_settings": {"callbacks": ["prometheus"]},
    }
    gw = gateway_factory(config, plugins=[gateway_prometheus, gateway_openai, Keys()], load_entrypoints=False)
    refused = httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer sk-plain"})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert "/metrics needs an admin key" in error["message"] and error["code"] == "403"
    assert "litellm_" not in refused.text  # no metric leaked with the refusal


def test_a_gateway_without_credentials_serves_metrics_to_anyone(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    # open access on loopback (no master key, no auth plugin): there is no admin key to ask for
    config = {
        "model_list": [model("gpt-4o", fake_upstream, "good-1")],
        "litellm_settings": {"callbacks": ["prometheus"]},
    }
    gw = gateway_factory(config, plugins=[gateway_prometheus, gateway_openai], load_entrypoints=False)
    assert httpx.get(gw.url + "/metrics").status_code == 200


# --------------------------------------------------------------------------- several processes


def _config_file(tmp_path: Path, upstream: FakeUpstream) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n"
        f"  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_base: '{upstream.base_url}', api_key: sk-up}}\n"
        f"general_settings: {{master_key: {MASTER}}}\n"
        "litellm_settings: {callbacks: [prometheus]}\n"
    )
    return path


def _serve(config: Path, port: int, env: dict[str, str], workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai,prometheus", **env}
    # an empty value means "unset": prometheus_client would otherwise write its files into the cwd
    env = {k: v for k, v in env.items() if not (k == "PROMETHEUS_MULTIPROC_DIR" and not v)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "gateway exited")
        time.sleep(0.1)
    _stop(process)
    raise AssertionError("gateway did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _chat(port: int, count: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"authorization": f"Bearer {MASTER}"}) as client:
        for _ in range(count):
            response = client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": CHAT})
            assert response.status_code == 200, response.text


def test_two_gateway_processes_sharing_a_directory_add_up(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    config = _config_file(tmp_path, fake_upstream)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    (tmp_path / "prometheus").mkdir()
    port_a, port_b = free_port(), free_port()
    first = _serve(config, port_a, env)
    try:
        second = _serve(config, port_b, env)
        try:
            _chat(port_a, 3)
            _chat(port_b, 4)
            url = f"http://127.0.0.1:{port_a}"
            text = settle(url, "litellm_proxy_total_requests_metric_total", 7, model_group="gpt-4o", status_code="200")
            assert (
                sample(text, "litellm_proxy_total_requests_metric_total", model_group="gpt-4o", status_code="200") == 7
            )
            other = scrape(f"http://127.0.0.1:{port_b}")
            assert (
                sample(other, "litellm_proxy_total_requests_metric_total", model_group="gpt-4o", status_code="200") == 7
            )
            assert sample(text, "litellm_in_flight_requests") == 0
        finally:
            _stop(second)
    finally:
        _stop(first)


def test_workers_flag_merges_every_workers_counts(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    config = _config_file(tmp_path, fake_upstream)
    port = free_port()
    process = _serve(config, port, {"PROMETHEUS_MULTIPROC_DIR": ""}, workers=2)
    try:
        _chat(port, 6)
        url = f"http://127.0.0.1:{port}"
        for _ in range(5):  # whichever worker answers the scrape, it reports all workers' requests
            text = settle(url, "litellm_proxy_total_requests_metric_total", 6, model_group="gpt-4o", status_code="200")
            assert (
                sample(text, "litellm_proxy_total_requests_metric_total", model_group="gpt-4o", status_code="200") == 6
            )
    finally:
        _stop(process)
