from __future__ import annotations

from typing import Any

from gateway.testing import FakeUpstream


def test_chat_through_openai_sdk_reaches_upstream_with_deployment_key(proxy: Any, fake_upstream: FakeUpstream) -> None:
    client = proxy.openai()
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == fake_upstream.content
    sent = fake_upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-up"  # the deployment's key, never the client's
    assert sent.json["model"] == "gpt-4o"
