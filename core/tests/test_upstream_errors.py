"""What a client learns when an upstream cannot be reached: which deployment, never where it is."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx

from gateway.testing import ServerLogs, free_port

from .conftest import MASTER

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {MASTER}"}


def _config(api_base: str) -> dict[str, Any]:
    return {
        "model_list": [{"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_base": api_base},
                        "model_info": {"id": "gpt-4o-east"}}],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }


def test_an_unreachable_upstream_is_named_by_deployment_not_by_address(gateway_factory: Any, server_logs: ServerLogs) -> None:
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
