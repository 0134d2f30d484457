"""The headers of a model answer: each name once, and a plugin's own value for a name the gateway
also sets (``ctx.response_headers``) is the one the client gets, streamed or not.  The gateway
builds most of them once per deployment, already encoded: these tests hold that shortcut to the
merge rule (later wins) every answer had."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway import hookimpl
from gateway.testing import FakeUpstream

from .conftest import MASTER, openai_config

AUTH = {"Authorization": f"Bearer {MASTER}"}
GATEWAY_HEADERS = (
    "x-litellm-model-id",
    "x-litellm-model-group",
    "x-litellm-version",
    "x-litellm-model-api-base",
    "x-litellm-response-duration-ms",
    "x-litellm-overhead-duration-ms",
    "x-litellm-attempted-retries",
    "x-litellm-attempted-fallbacks",
    "x-litellm-timeout",
    "x-request-id",
    "x-litellm-call-id",
)


class Relabel:
    """Sets its own value for a header the gateway sets, and one of its own."""

    gateway_plugin_name = "relabel"

    @hookimpl
    def gateway_pre_call(self, ctx: Any) -> None:
        ctx.response_headers["x-litellm-model-group"] = "relabelled"
        ctx.response_headers["x-team-note"] = "hello"


def _post(url: str, stream: bool, **headers: str) -> httpx.Response:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return httpx.post(url + "/v1/chat/completions", json=body, headers={**AUTH, **headers})


@pytest.mark.parametrize("stream", [False, True])
def test_every_answer_header_comes_once(stream: bool, fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream))
    reply = _post(gw.url, stream, **{"x-request-id": "client-trace-1"})
    assert reply.status_code == 200
    for name in GATEWAY_HEADERS:
        assert len(reply.headers.get_list(name)) == 1, name
    assert reply.headers["x-litellm-model-group"] == "gpt-4o"
    assert reply.headers["x-request-id"] == "client-trace-1"  # the client's own id is echoed
    assert reply.headers["x-litellm-call-id"].startswith("req_")
    assert reply.headers["x-litellm-model-api-base"] == fake_upstream.base_url.split("?")[0].rstrip("/")
    assert float(reply.headers["x-litellm-response-duration-ms"]) >= float(
        reply.headers["x-litellm-overhead-duration-ms"]
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_plugins_value_for_a_gateway_header_wins(
    stream: bool, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[Relabel()])
    reply = _post(gw.url, stream)
    assert reply.status_code == 200
    assert reply.headers.get_list("x-litellm-model-group") == ["relabelled"]
    assert reply.headers["x-team-note"] == "hello"
    for name in GATEWAY_HEADERS:
        assert len(reply.headers.get_list(name)) == 1, name
