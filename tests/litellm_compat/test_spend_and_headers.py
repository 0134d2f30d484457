"""LiteLLM's documented answer headers, request flags and spend reads, through a real gateway.

Written from LiteLLM's public docs: "Response Headers" (docs/proxy/response_headers), "Request
Headers" (docs/proxy/request_headers), "Reliability: Fallbacks" (docs/proxy/reliability: test with
``mock_testing_fallbacks``), "Load Balancing" (``mock_testing_rate_limit_error``), "Mock
Completion() Responses" (docs/completion/mock_requests), "Spend tracking" (docs/proxy/cost_tracking:
``/spend/logs``, ``/global/spend/report``) and "Budget reservation" (docs/proxy/budget_reservation:
``general_settings.disable_budget_reservation``).  Upstreams are local OpenAI-compatible servers
that record what they received; keys and the ledger are real (SQLite / PostgreSQL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from gateway.testing import FakeUpstream, Reply, start_gateway

MASTER = "sk-litellm-compat-headers"
MESSAGES = [{"role": "user", "content": "Say hi"}]


def _start(config: dict[str, Any], plugins: str) -> Any:
    previous = os.environ.get("GATEWAY_LOAD_PLUGINS")
    os.environ["GATEWAY_LOAD_PLUGINS"] = plugins
    try:
        return start_gateway(config)
    finally:
        if previous is None:
            del os.environ["GATEWAY_LOAD_PLUGINS"]
        else:
            os.environ["GATEWAY_LOAD_PLUGINS"] = previous


def _openai(
    name: str, upstream: FakeUpstream, path: str = "/v1", model_id: str | None = None, **params: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model_name": name,
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_base": upstream.url + path,
            "api_key": "sk-up",
            **params,
        },
    }
    if model_id:
        entry["model_info"] = {"id": model_id}
    return entry


def chat(url: str, body: dict[str, Any], key: str = MASTER, **headers: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json={"messages": MESSAGES, **body},
        headers={"authorization": f"Bearer {key}", **headers},
        timeout=30,
    )


# --------------------------------------------------------------------------- headers and request flags


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeUpstream, FakeUpstream]]:
    main, backup = FakeUpstream().start(), FakeUpstream("Hello from the backup.").start()
    config = {
        "model_list": [
            _openai("gpt", main),
            _openai("slow-timeout", main, timeout=7),
            _openai("primary", main),
            _openai("backup", backup),
            _openai("small-context", main),
            _openai("big-context", backup),
            _openai("pair", main, "/one/v1", "pair-one"),
            _openai("pair", main, "/two/v1", "pair-two"),
        ],
        "router_settings": {
            "fallbacks": [{"primary": ["backup"]}],
            "context_window_fallbacks": [{"small-context": ["big-context"]}],
            # one failure cools a deployment down: a made-up failure must never count
            "allowed_fails": 0,
            "cooldown_time": 600,
        },
        "general_settings": {"master_key": MASTER},
    }
    gw = _start(config, "openai")
    try:
        yield gw.url, main, backup
    finally:
        gw.stop()
        main.stop()
        backup.stop()


def test_every_answer_carries_the_litellm_headers_clients_read(served: Any) -> None:
    url, main, _ = served
    reply = chat(url, {"model": "gpt"})
    assert reply.status_code == 200, reply.text
    headers = reply.headers
    assert headers["x-litellm-call-id"] and headers["x-litellm-version"]
    assert headers["x-litellm-model-group"] == "gpt" and headers["x-litellm-model-id"]
    # the base URL the deployment calls (LiteLLM's header: it names the upstream's host)
    assert headers["x-litellm-model-api-base"] == main.url + "/v1"
    total, overhead = float(headers["x-litellm-response-duration-ms"]), float(headers["x-litellm-overhead-duration-ms"])
    assert total > 0 and 0 <= overhead <= total
    # the timeout the call ran under: the upstream client's default, or the deployment's own
    assert headers["x-litellm-timeout"] == "600.0"
    assert chat(url, {"model": "slow-timeout"}).headers["x-litellm-timeout"] == "7.0"

    with httpx.stream(
        "POST", url + "/v1/chat/completions", json={"model": "gpt", "messages": MESSAGES, "stream": True},
        headers={"authorization": f"Bearer {MASTER}"}, timeout=30,
    ) as stream:  # fmt: skip
        assert stream.status_code == 200
        for name in ("x-litellm-call-id", "x-litellm-version", "x-litellm-model-api-base", "x-litellm-timeout"):
            assert stream.headers[name], name
        assert float(stream.headers["x-litellm-overhead-duration-ms"]) >= 0
        assert b"[DONE]" in b"".join(stream.iter_bytes())


def test_the_api_base_header_can_be_turned_off() -> None:
    upstream = FakeUpstream().start()
    config = {
        "model_list": [_openai("gpt", upstream, "/internal/v1")],
        "general_settings": {"master_key": MASTER, "model_api_base_header": False},
    }
    gw = _start(config, "openai")
    try:
        reply = chat(gw.url, {"model": "gpt"})
        assert reply.status_code == 200
        assert "x-litellm-model-api-base" not in reply.headers and reply.headers["x-litellm-model-id"]
    finally:
        gw.stop()
        upstream.stop()


def test_gateway_only_fields_never_reach_the_upstream_and_new_provider_fields_do(served: Any) -> None:
    url, main, _ = served
    steering = {
        "metadata": {"trace": "t-1"},
        "tags": ["team-a"],
        "fallbacks": ["backup"],
        "num_retries": 1,
        "timeout": 30,
        "user_config": {"model_list": []},
        "mock_testing_fallbacks": False,
        "mock_testing_rate_limit_error": False,
        "mock_timeout": False,
        "litellm_session_id": "s-1",
        "caching": False,
        "api_base": "http://elsewhere.example",
    }
    reply = chat(url, {"model": "gpt", **steering, "a_field_openai_adds_next_year": {"x": 1}})
    assert reply.status_code == 200, reply.text
    sent = main.requests[-1].json
    assert set(steering).isdisjoint(sent), sorted(set(steering) & set(sent))
    assert sent["a_field_openai_adds_next_year"] == {"x": 1}


def test_mock_testing_fallbacks_serves_the_request_from_its_fallback_without_calling_the_primary(
    served: Any,
) -> None:
    url, main, backup = served
    before_main, before_backup = len(main.requests), len(backup.requests)
    reply = chat(url, {"model": "primary", "mock_testing_fallbacks": True})
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "Hello from the backup."
    assert reply.headers["x-litellm-model-group"] == "backup"
    assert reply.headers["x-litellm-attempted-fallbacks"] == "1"
    assert reply.headers["x-litellm-attempted-retries"] == "0"
    assert (len(main.requests), len(backup.requests)) == (before_main, before_backup + 1)

    # no fallback configured: the made-up failure is the answer, in LiteLLM's words
    alone = chat(url, {"model": "gpt", "mock_testing_fallbacks": True})
    assert alone.status_code == 500
    error = alone.json()["error"]
    assert error["type"] == "internal_server_error" and "mock exception for model=gpt" in error["message"]

    # the context-window flavour goes to context_window_fallbacks
    context = chat(url, {"model": "small-context", "mock_testing_context_fallbacks": True})
    assert context.status_code == 200 and context.headers["x-litellm-model-group"] == "big-context"


def test_mock_testing_rate_limit_error_is_retried_and_never_cools_a_deployment_down(served: Any) -> None:
    url, main, _ = served
    for _ in range(3):
        reply = chat(url, {"model": "pair", "mock_testing_rate_limit_error": True})
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-litellm-attempted-retries"] == "1"
    # allowed_fails is 0: had the made-up 429s counted, the pair would be cooling down now
    served_by = {chat(url, {"model": "pair"}).headers["x-litellm-model-id"] for _ in range(24)}
    assert served_by == {"pair-one", "pair-two"}


def test_mock_response_answers_for_any_provider_without_calling_it(served: Any) -> None:
    url, main, _ = served
    before = len(main.requests)
    reply = chat(url, {"model": "gpt", "mock_response": "It's simple to use and easy to get started"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "It's simple to use and easy to get started"
    with httpx.stream(
        "POST", url + "/v1/chat/completions",
        json={"model": "gpt", "messages": MESSAGES, "stream": True, "mock_response": "streamed mock"},
        headers={"authorization": f"Bearer {MASTER}"}, timeout=30,
    ) as stream:  # fmt: skip
        events = [line[6:] for line in stream.iter_lines() if line.startswith("data: ")]
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in map(orjson.loads, events[:-1]) if c["choices"]
    )
    assert text == "streamed mock" and events[-1] == "[DONE]"
    # LiteLLM's error names make every attempt fail that way
    limited = chat(url, {"model": "gpt", "mock_response": "litellm.RateLimitError", "num_retries": 0})
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    assert len(main.requests) == before


def test_mock_timeout_times_out_after_the_requests_timeout_and_says_which(served: Any) -> None:
    url, main, _ = served
    before = len(main.requests)
    reply = chat(url, {"model": "gpt", "mock_timeout": True, "timeout": 0.2, "num_retries": 0})
    assert reply.status_code == 504, reply.text
    assert reply.json()["error"]["type"] == "timeout"
    assert reply.headers["x-litellm-timeout"] == "0.2"
    # the timeout LiteLLM reads from the x-litellm-timeout request header
    header = chat(url, {"model": "gpt", "mock_timeout": True, "num_retries": 0}, **{"x-litellm-timeout": "0.1"})
    assert header.status_code == 504 and header.headers["x-litellm-timeout"] == "0.1"
    assert len(main.requests) == before


def test_a_requests_own_timeout_bounds_a_real_upstream_call(served: Any) -> None:
    url, main, _ = served
    main.enqueue(Reply(delay=3))
    reply = chat(url, {"model": "gpt", "num_retries": 0}, **{"x-litellm-timeout": "0.3"})
    assert reply.status_code == 504, reply.text
    assert "request's timeout of 0.3 s" in reply.json()["error"]["message"]
    assert reply.headers["x-litellm-timeout"] == "0.3"


@pytest.mark.parametrize(
    ("body", "headers", "param"),
    [
        ({"mock_testing_fallbacks": "yes"}, {}, "mock_testing_fallbacks"),
        ({"mock_timeout": 1}, {}, "mock_timeout"),
        ({"mock_response": {"content": "x"}}, {}, "mock_response"),
        ({"timeout": -1}, {}, "timeout"),
        ({}, {"x-litellm-timeout": "soon"}, "x-litellm-timeout"),
    ],
)
def test_a_malformed_flag_is_refused_naming_it(
    served: Any, body: dict[str, Any], headers: dict[str, str], param: str
) -> None:
    url, _, _ = served
    reply = chat(url, {"model": "gpt", **body}, **headers)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == param and param in reply.json()["error"]["message"]


def test_openai_organization_reaches_the_upstream_only_when_forwarding_is_on() -> None:
    upstream = FakeUpstream().start()
    model = _openai("gpt", upstream, organization="org-of-the-deployment")
    gateways = {
        forward: _start({"model_list": [model], "general_settings": {"master_key": MASTER,
                                                                      "forward_openai_org_id": forward}}, "openai")
        for forward in (False, True)
    }  # fmt: skip
    try:
        for forward, gw in gateways.items():
            assert chat(gw.url, {"model": "gpt"}, **{"OpenAI-Organization": "org-client"}).status_code == 200
            expected = "org-client" if forward else "org-of-the-deployment"
            assert upstream.requests[-1].headers["openai-organization"] == expected
    finally:
        for gw in gateways.values():
            gw.stop()
        upstream.stop()
