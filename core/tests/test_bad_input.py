"""Bad input is a 400 naming the field; a 500 that still happens closes the connection cleanly.

Driven over real sockets: a raw HTTP/1.1 connection shows whether the gateway keeps it open
after an answer, and whether the next request on it is served.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import RequestContext, hookimpl

from .conftest import MASTER

MODEL = {"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o"}}
CONFIG = {"model_list": [MODEL], "general_settings": {"master_key": MASTER}}


class RaisingPlugin:
    """A plugin route with a bug, and a pre_call hook that fails on request."""

    gateway_plugin_name = "raising"

    @hookimpl
    def gateway_register_routes(self, gateway: Any) -> list[Route]:
        async def broken(request: Request) -> Response:
            raise RuntimeError("a bug in a plugin route")

        return [Route("/raising/broken", broken, methods=["GET"])]

    @hookimpl
    def gateway_pre_call(self, ctx: RequestContext) -> None:
        if ctx.body.get("user") == "break-me":
            raise KeyError("a bug in a plugin hook")


class RawConnection:
    """One HTTP/1.1 connection on a plain socket: nothing reconnects behind the test's back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {MASTER}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + data)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._fill()
        payload, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, payload

    def closed_by_server(self) -> bool:
        """True when the server has closed its side (EOF); False if it is still waiting for a request."""
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(gateway_factory: Any) -> Any:
    gateway = gateway_factory(CONFIG, plugins=[RaisingPlugin()])
    opened: list[RawConnection] = []

    def connect() -> RawConnection:
        opened.append(RawConnection(gateway.server.port))
        return opened[-1]

    yield connect
    for conn in opened:
        conn.close()


def test_a_plugin_route_that_raises_answers_500_and_closes_the_connection_cleanly(raw: Any) -> None:
    conn = raw()
    status, headers, body = conn.request("GET", "/raising/broken")
    assert status == 500
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["type"] == "internal_server_error" and "a bug" not in error["message"]
    assert conn.closed_by_server()
    fresh = raw()
    assert fresh.request("GET", "/health/liveliness")[0] == 200


def test_a_model_request_whose_plugin_hook_raises_answers_500_and_closes_the_connection(raw: Any) -> None:
    conn = raw()
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    status, headers, body = conn.request("POST", "/v1/chat/completions", {**chat, "user": "break-me"})
    assert status == 500 and headers["connection"] == "close"
    assert json.loads(body)["error"]["type"] == "plugin_error"
    assert conn.closed_by_server()
    assert raw().request("POST", "/v1/chat/completions", chat)[0] == 200


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages[0].content[0].text",
            "must be a string, got int",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 7}}]}]},
            "messages[0].content[0].image_url.url",
            "must be a string",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}]}
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
            "JSON string",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2**63},
            "max_tokens",
            "at most 9223372036854775807",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": ["high"]},
            "reasoning_effort",
            "must be a string",
        ),
        ({"messages": [{"role": "user", "content": "hi"}], "stop": ["ok", 3]}, "stop", "list of strings"),
        (
            {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": 1}}]},
            "tools[0].function",
            "with a 'name'",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}], "metadata": {"deep": json.loads("[" * 300 + "]" * 300)}},
            "metadata",
            "nested more than 128 levels",
        ),
    ],
)
def test_wrong_types_in_a_chat_request_are_a_400_naming_the_field_and_keep_the_connection(
    raw: Any, body: dict[str, Any], param: str, words: str
) -> None:
    conn = raw()
    status, headers, answer = conn.request("POST", "/v1/chat/completions", {"model": "gpt-4o", **body})
    error = json.loads(answer)["error"]
    assert (status, error["param"]) == (400, param), error
    assert words in error["message"]
    assert "connection" not in headers
    assert conn.request("GET", "/health/liveliness")[0] == 200  # the same connection serves the next request


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/completions", {"prompt": ["ok", {"x": 1}]}, "prompt"),
        ("/v1/completions", {"prompt": "hi", "suffix": 3}, "suffix"),
        ("/v1/embeddings", {"input": [1.5]}, "input"),
        ("/v1/embeddings", {"input": "hi", "dimensions": 0}, "dimensions"),
    ],
)
def test_wrong_types_in_completions_and_embeddings_are_a_400_naming_the_field(
    raw: Any, path: str, body: dict[str, Any], param: str
) -> None:
    status, _, answer = raw().request("POST", path, {"model": "gpt-4o", **body})
    assert (status, json.loads(answer)["error"]["param"]) == (400, param)


AUDIO_PART = {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}


def test_the_forms_openai_accepts_are_served(raw: Any) -> None:
    conn = raw()
    for path, body in [
        ("/v1/completions", {"prompt": [[1, 2], [3]], "logprobs": 2}),
        ("/v1/embeddings", {"input": [[1, 2]], "dimensions": 8}),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": [AUDIO_PART]}], "logprobs": True, "top_logprobs": 2},
        ),
    ]:
        status, _, answer = conn.request("POST", path, {"model": "gpt-4o", **body})
        assert status == 200, answer
