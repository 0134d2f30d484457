"""An upstream that cannot be reached (the client learns which deployment, never where it is), and a
client that leaves before its answer (the upstream call is cancelled, the request recorded once)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest

from gateway.testing import FakeUpstream, LogCollector, Reply, ServerLogs, free_port

from .conftest import MASTER, openai_config

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {MASTER}"}


def _config(api_base: str) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": api_base},
                "model_info": {"id": "gpt-4o-east"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }


def test_an_unreachable_upstream_is_named_by_deployment_not_by_address(
    gateway_factory: Any, server_logs: ServerLogs
) -> None:
    port = free_port()  # nothing listens there
    gw = gateway_factory(_config(f"http://127.0.0.1:{port}/v1"))
    answer = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=AUTH)
    assert answer.status_code == 502
    message = answer.json()["error"]["message"]
    assert message == "could not connect to the upstream of deployment gpt-4o-east (gpt-4o)"
    assert "127.0.0.1" not in answer.text and str(port) not in answer.text
    # the operator still finds where it tried to connect
    line = server_logs.wait_for("upstream_transport_error", provider="openai")
    assert line["host"] == "127.0.0.1" and str(port) in line["error"]


def test_an_upstream_that_hangs_up_without_answering_is_named_by_deployment(gateway_factory: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def hang_up() -> None:  # read the request, then close without a word
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        gw = gateway_factory(_config(f"http://127.0.0.1:{port}/v1"))
        answer = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=AUTH)
    finally:
        listener.close()
    assert answer.status_code == 502
    assert answer.json()["error"]["message"] == (
        "the upstream of deployment gpt-4o-east (gpt-4o) closed the connection without answering"
    )
    assert str(port) not in answer.text


# --------------------------------------------------------------------------- a client that leaves


def test_a_client_that_disconnects_cancels_the_upstream_call_and_is_recorded_once(
    fake_upstream: FakeUpstream, gateway_factory: Any, log_collector: LogCollector
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[log_collector])
    fake_upstream.enqueue(Reply(hang=True))  # the upstream holds the request until its client goes
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
        httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=AUTH, timeout=1)
    # the gateway closed its upstream connection: the upstream saw the call abandoned, not retried
    deadline = time.monotonic() + 10
    while not fake_upstream.abandoned and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r.path for r in fake_upstream.abandoned] == ["/v1/chat/completions"]
    assert len(fake_upstream.requests) == 1
    gone = log_collector.assert_logged(status=499)
    assert gone["error_class"] == "ClientDisconnectedError"
    assert gone["error_message"] == "the client disconnected before its answer was ready"
    # a later request is served, and its event arrives after the one above: nothing recorded twice
    assert httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=AUTH).status_code == 200
    log_collector.assert_logged(status=200)
    assert [e["status"] for e in log_collector.events] == [499, 200]
