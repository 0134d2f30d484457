"""Slow clients cannot hold the gateway: a request head has ``request_header_timeout`` seconds (then
the connection is closed), a body may pause for ``request_body_timeout`` seconds (then HTTP 408).

The head deadline lives in the server protocol, so it is tested on a real ``gateway`` process; the
body deadline is the app's, tested on a served gateway.  Deadlines are set short here; what is
asserted is what the client sees (a closed connection, a 408), never how long it took.
"""

from __future__ import annotations

import socket
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import hookimpl
from gateway.http import json_response, read_json
from gateway.testing import FakeUpstream, LogCollector

from .conftest import MASTER, openai_config
from .test_process import GatewayProcess

#: how long the test waits for the server before calling it stuck (far above the deadlines set)
PATIENCE = 20


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a stuck server fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_half_sent_request_head_gets_the_connection_closed(fake_upstream: FakeUpstream, tmp_path: Any) -> None:
    config = openai_config(fake_upstream, general_settings={"request_header_timeout": 0.5})
    gateway = GatewayProcess(config, tmp_path)
    try:
        with _connect(gateway.port) as half_head, _connect(gateway.port) as silent:
            half_head.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Le")
            assert _read_all(half_head) == b""  # closed, without an answer to a request never made
            assert _read_all(silent) == b""  # connected and sent nothing: the same
        # whole requests are served as before
        reply = gateway.client().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        assert reply.choices[0].message.content == fake_upstream.content
    finally:
        gateway.stop()


def _stalled_post(port: int, path: str, declared: int, sent: bytes) -> tuple[str, dict[str, str], bytes]:
    """POST ``declared`` bytes of body but send only ``sent``; return the answer's status line, headers, body."""
    with _connect(port) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {MASTER}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + sent)
        raw = _read_all(sock)
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head_part.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_stalled_body_gets_408_and_is_recorded(
    fake_upstream: FakeUpstream, gateway_factory: Any, log_collector: LogCollector
) -> None:
    config = openai_config(fake_upstream, general_settings={"request_body_timeout": 0.5})
    gw = gateway_factory(config, plugins=[log_collector])
    status, headers, body = _stalled_post(gw.server.port, "/v1/chat/completions", 100, b'{"model": "gpt-4o", ')
    assert status.startswith("HTTP/1.1 408")
    assert headers["connection"] == "close" and headers["x-request-id"].startswith("req_")
    error = orjson.loads(body)["error"]
    assert error["type"] == "request_timeout" and error["code"] == "408"
    assert "request_body_timeout" in error["message"]
    assert log_collector.assert_logged(status=408)["error_class"] == "RequestTimeoutError"
    assert fake_upstream.requests == []


class EchoRoute:
    """A plugin route that reads its JSON body the way admin routes do (``gateway.http.read_json``)."""

    gateway_plugin_name = "echo_route"

    @hookimpl
    def gateway_register_routes(self, gateway: Any) -> list[Route]:
        async def echo(request: Request) -> Response:
            return json_response(await read_json(request, gateway))

        return [Route("/echo", echo, methods=["POST"])]


def test_a_stalled_body_on_a_plugin_route_gets_408(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    config = openai_config(fake_upstream, general_settings={"request_body_timeout": 0.5})
    gw = gateway_factory(config, plugins=[EchoRoute()])
    status, headers, body = _stalled_post(gw.server.port, "/echo", 50, b'{"a": ')
    assert status.startswith("HTTP/1.1 408") and headers["connection"] == "close"
    assert orjson.loads(body)["error"]["type"] == "request_timeout"
    # a body that arrives is read as before
    whole = b'{"a": 1}'
    status, _, body = _stalled_post(gw.server.port, "/echo", len(whole), whole)
    assert status.startswith("HTTP/1.1 200") and orjson.loads(body) == {"a": 1}
