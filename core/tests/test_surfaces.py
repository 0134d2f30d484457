"""Surfaces are codecs registered by plugins: a plugin adds a wire format without owning any control
flow; a codec that fails is a 500 in its own error shape naming the plugin, and the worker keeps
serving; two surfaces cannot claim one path."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from gateway import PluginError, hookimpl
from gateway.chat import ChatRequest, decode_openai_chat
from gateway.testing import FakeUpstream, LogCollector

from .conftest import MASTER, openai_config


class ShoutSurface:
    """``POST /shout``: OpenAI chat underneath, answers ``{"SHOUT": text}``, errors ``{"oops": message}``."""

    gateway_plugin_name = "shout"

    def __init__(self, fail_in: str | None = None, paths: tuple[str, ...] = ("/shout",)) -> None:
        from gateway.surfaces import Surface

        fail = fail_in

        class Shout(Surface):
            name = "shout.chat"
            format = "shout"
            endpoint = "chat"

            def decode(self, body: dict[str, Any]) -> ChatRequest:
                if fail == "decode":
                    raise ValueError("a bug in the decoder")
                return decode_openai_chat(body)

            def encode_answer(self, ctx: Any, response: Any) -> bytes:
                if fail == "encode_answer":
                    raise KeyError("a bug in the encoder")
                return orjson.dumps({"SHOUT": response.data["choices"][0]["message"]["content"].upper()})

            def encode_error(self, error: Any) -> bytes:
                return orjson.dumps({"oops": error.message})

        Shout.paths = paths
        self.surface = Shout()

    @hookimpl
    def gateway_register_surfaces(self, register: Any) -> None:
        register(self.surface)


BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
AUTH = {"Authorization": f"Bearer {MASTER}"}


def test_a_plugin_surface_runs_the_whole_lifecycle(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    collector = LogCollector()
    gw = gateway_factory(openai_config(fake_upstream), plugins=[ShoutSurface(), collector])
    reply = httpx.post(gw.url + "/shout", json=BODY, headers=AUTH)
    assert reply.json() == {"SHOUT": fake_upstream.content.upper()}
    refused = httpx.post(gw.url + "/shout", json=BODY)  # no key: the kernel's auth, the surface's shape
    assert refused.status_code == 401 and "oops" in refused.json()
    events = collector.wait_for(2)
    assert [e["status"] for e in events] == [200, 401]


@pytest.mark.parametrize("fail_in", ["decode", "encode_answer"])
def test_a_failing_codec_is_a_500_in_its_shape_naming_the_plugin(
    fail_in: str, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[ShoutSurface(fail_in)])
    with httpx.Client(base_url=gw.url) as client:
        reply = client.post("/shout", json=BODY, headers=AUTH)
        assert reply.status_code == 500 and reply.headers["connection"] == "close"
        message = reply.json()["oops"]
        assert "'shout'" in message and f"shout.chat.{fail_in}" in message and "bug" not in message
    # the worker keeps serving, the surface's other requests and everyone else's
    assert httpx.post(gw.url + "/v1/chat/completions", json=BODY, headers=AUTH).status_code == 200


def test_two_surfaces_cannot_claim_one_path(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    with pytest.raises(PluginError, match="/v1/chat/completions"):
        gateway_factory(openai_config(fake_upstream), plugins=[ShoutSurface(paths=("/v1/chat/completions",))])
