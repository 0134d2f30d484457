"""general_settings.pass_through_endpoints and the provider prefixes, against a local OpenAI-format
server: what is forwarded where, with which headers, and what is refused before anything leaves.

(The governed end to end, a virtual key's budget and the ledger, is tests/test_passthrough.py.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway import ConfigError, Gateway, create_app
from gateway.testing import FakeUpstream, LogCollector, Reply

from .conftest import MASTER

AUTH = {"Authorization": f"Bearer {MASTER}"}


def endpoints(upstream: FakeUpstream, **extra: Any) -> dict[str, Any]:
    return {
        "model_list": [],
        "general_settings": {
            "master_key": MASTER,
            "max_request_size_mb": 0.01,  # 10 KB
            "pass_through_endpoints": [
                {
                    "path": "/cohere",
                    "target": upstream.base_url,
                    "include_subpath": True,
                    "headers": {"Authorization": "bearer os.environ/PT_TEST_KEY", "x-team": "search"},
                },
                {"path": "/open", "target": upstream.base_url + "/models", "auth": False, "forward_headers": True},
            ],
            **extra,
        },
    }


@pytest.fixture
def routes(
    fake_upstream: FakeUpstream, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, FakeUpstream]]:
    monkeypatch.setenv("PT_TEST_KEY", "sk-from-env")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield gateway_factory(endpoints(fake_upstream)), fake_upstream


def test_a_configured_endpoint_forwards_path_query_and_its_headers(routes: tuple[Any, FakeUpstream]) -> None:
    gw, upstream = routes
    client = openai.OpenAI(base_url=gw.url + "/cohere", api_key=MASTER, max_retries=0)
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"  # the target's /v1 is not repeated
    assert sent.headers["authorization"] == "bearer sk-from-env"  # os.environ/ after a scheme
    assert sent.headers["x-team"] == "search"
    assert MASTER not in str(sent.headers)

    httpx.get(gw.url + "/cohere/models", params={"after": "a b"}, headers=AUTH, timeout=10)
    assert (upstream.requests[-1].path, upstream.requests[-1].query) == ("/v1/models", {"after": "a b"})


def test_an_open_endpoint_needs_no_key_and_forwards_the_clients_credential(routes: tuple[Any, FakeUpstream]) -> None:
    gw, upstream = routes
    answer = httpx.get(gw.url + "/open", headers={"Authorization": "Bearer the-targets-own"}, timeout=10)
    assert answer.status_code == 200
    assert upstream.requests[-1].headers["authorization"] == "Bearer the-targets-own"
    assert httpx.get(gw.url + "/cohere/models", timeout=10).status_code == 401  # the others still need a key


def test_a_body_over_the_limit_is_refused_while_it_streams(routes: tuple[Any, FakeUpstream]) -> None:
    gw, upstream = routes
    before = len(upstream.requests)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while forwarding
        for _ in range(30):
            yield b"x" * 1000

    answer = httpx.post(gw.url + "/cohere/files", content=chunks(), headers=AUTH, timeout=10)
    assert answer.status_code == 413
    assert "larger than" in answer.json()["error"]["message"]
    declared = httpx.post(gw.url + "/cohere/files", content=b"x" * 30_000, headers=AUTH, timeout=10)
    assert declared.status_code == 413
    assert len(upstream.requests) == before


def test_a_provider_route_without_credential_says_what_to_set(routes: tuple[Any, FakeUpstream]) -> None:
    gw, _ = routes
    answer = httpx.post(gw.url + "/openai/v1/chat/completions", json={"model": "gpt-4o"}, headers=AUTH, timeout=10)
    assert answer.status_code == 404
    assert "OPENAI_API_KEY" in answer.json()["error"]["message"]


def test_a_path_its_route_cannot_match_is_answered_in_the_vendors_envelope(
    routes: tuple[Any, FakeUpstream],
) -> None:
    # a newline in the path: no route matches it, and the 404 still speaks Anthropic's format
    gw, _ = routes
    answer = httpx.request("PATCH", gw.url + "/anthropic/%0A0", headers=AUTH, timeout=10)
    assert answer.status_code == 404
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == "not_found_error"
    other = httpx.get(gw.url + "/no/such/%0Apath", headers=AUTH, timeout=10)
    assert other.status_code == 404 and "code" in other.json()["error"]  # OpenAI's shape elsewhere


def test_a_configured_path_another_route_serves_stops_start_up(
    fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PT_TEST_KEY", "x")
    config = endpoints(fake_upstream)
    config["general_settings"]["pass_through_endpoints"].append({"path": "/health/liveliness", "target": "http://x"})
    with pytest.raises(ConfigError, match="pass_through_endpoints: GET /health/liveliness"):
        create_app(Gateway(config, load_entrypoints=False))


def test_a_header_reading_an_unset_variable_stops_start_up(
    fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PT_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="PT_TEST_KEY"):
        create_app(Gateway(endpoints(fake_upstream), load_entrypoints=False))


def test_the_azure_openai_client_through_azure(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    """The deployment named in the path lends its api_base and key; the api-key header the client
    sends is its gateway key, replaced by the deployment's."""
    azure = {
        "model": "azure/my-gpt",
        "api_base": fake_upstream.url,
        "api_key": "az-upstream",
        "api_version": "2024-06-01",
    }
    gw = gateway_factory(
        {"model_list": [{"model_name": "gpt", "litellm_params": azure}], "general_settings": {"master_key": MASTER}}
    )
    client = openai.AzureOpenAI(
        azure_endpoint=gw.url + "/azure", api_key=MASTER, api_version="2024-06-01", max_retries=0
    )
    reply = client.chat.completions.create(model="my-gpt", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    sent = fake_upstream.requests[-1]
    assert sent.path == "/openai/deployments/my-gpt/chat/completions"
    assert sent.query["api-version"] == "2024-06-01"
    assert sent.headers["api-key"] == "az-upstream" and MASTER not in str(sent.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/cohere/chat/completions",  # a body streamed to the upstream as it arrives
        "/openai/v1/chat/completions",  # a body that names a model: read first
    ],
)
def test_a_client_that_leaves_cancels_the_forwarded_call(
    path: str,
    fake_upstream: FakeUpstream,
    gateway_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    log_collector: LogCollector,
) -> None:
    """An abandoned answer is still billed by the vendor: the gateway closes its upstream call."""
    monkeypatch.setenv("PT_TEST_KEY", "x")
    config = endpoints(fake_upstream)
    config["model_list"] = [
        {
            "model_name": "gpt",
            "litellm_params": {"model": "openai/gpt-4o", "api_base": fake_upstream.base_url, "api_key": "k"},
        }
    ]
    gw = gateway_factory(config, plugins=[log_collector])
    fake_upstream.enqueue(Reply(hang=True))  # the upstream holds the request until its client goes
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
        httpx.post(gw.url + path, json=body, headers=AUTH, timeout=1)
    deadline = time.monotonic() + 10
    while not fake_upstream.abandoned and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r.path for r in fake_upstream.abandoned] == ["/v1/chat/completions"]
    gone = log_collector.assert_logged(status=499)
    assert gone["error_class"] == "ClientDisconnectedError"
