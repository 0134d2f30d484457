"""Request ids: always the gateway's own; the client's ``x-request-id`` is recorded and echoed apart."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.testing import FakeUpstream, LogCollector

from .conftest import MASTER, openai_config

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {MASTER}"}


def test_a_reused_client_request_id_is_echoed_but_never_becomes_the_request_id(
    fake_upstream: FakeUpstream, gateway_factory: Any, log_collector: LogCollector
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[log_collector])
    sent = {**AUTH, "x-request-id": "client-trace.7"}
    first = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=sent)
    second = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=sent)
    assert first.status_code == second.status_code == 200
    # the client's id comes back for its traces; our own id is unique per request
    assert first.headers["x-request-id"] == second.headers["x-request-id"] == "client-trace.7"
    ours = [first.headers["x-litellm-call-id"], second.headers["x-litellm-call-id"]]
    assert ours[0] != ours[1] and all(i.startswith("req_") for i in ours)
    events = log_collector.wait_for(2)
    assert sorted(e["request_id"] for e in events) == sorted(ours)
    assert [e["client_request_id"] for e in events] == ["client-trace.7", "client-trace.7"]


def test_without_a_client_id_both_headers_carry_ours(
    fake_upstream: FakeUpstream, gateway_factory: Any, log_collector: LogCollector
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[log_collector])
    plain = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=AUTH)
    # an id that is not a sane token (a slash, too long) is neither echoed nor recorded
    odd = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers={**AUTH, "x-request-id": "a/b" + "x" * 200})
    for response in (plain, odd):
        assert response.status_code == 200
        assert response.headers["x-request-id"] == response.headers["x-litellm-call-id"]
        assert response.headers["x-request-id"].startswith("req_")
    events = log_collector.wait_for(2)
    assert [e["client_request_id"] for e in events] == [None, None]


def test_error_answers_and_other_routes_carry_both_ids(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream))
    traced = {"x-request-id": "trace-1"}
    refused = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=traced)  # no key: 401
    missing = httpx.get(gw.url + "/nowhere", headers=traced)
    alive = httpx.get(gw.url + "/health/liveliness", headers=traced)
    assert (refused.status_code, missing.status_code, alive.status_code) == (401, 404, 200)
    for response in (refused, missing, alive):
        assert response.headers["x-request-id"] == "trace-1"
        assert response.headers["x-litellm-call-id"].startswith("req_")
    assert len({r.headers["x-litellm-call-id"] for r in (refused, missing, alive)}) == 3
