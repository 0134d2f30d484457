"""Fixtures: a Presidio REST server of our own around the real engines, and an echoing upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway import fake_openai
from gateway.testing import FakeUpstream, RecordedRequest, Reply, ServerThread


@pytest.fixture(scope="session")
def presidio_server() -> Iterator[ServerThread]:
    """``gateway-presidio-server``'s app (Presidio's /analyze and /anonymize contract, real engines)."""
    from gateway_presidio.server import create_app

    server = ServerThread(create_app("no_op"), graceful_timeout=1).start()
    try:
        yield server
    finally:
        server.stop()


def echo_reply(request: RecordedRequest) -> Reply:
    """Answer with the last user message, word by word when streaming in 3-character pieces."""
    body = request.json or {}
    text = "You said: " + str((body.get("messages") or [{}])[-1].get("content"))
    if body.get("stream"):
        pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
        chunks = [
            {
                "id": "chatcmpl-echo",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o",
                "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
            }
            for p in pieces
        ]
        chunks.append(
            {
                "id": "chatcmpl-echo",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
        )
        return Reply(stream=chunks)
    return Reply(json=fake_openai.chat_completion("gpt-4o", text, prompt=10))


@pytest.fixture
def echo_upstream() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream()
    upstream.default = echo_reply
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


def gateway_config(upstream: FakeUpstream, *guards: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": "sk-test-master"},
        "guardrails": list(guards),
    }


@pytest.fixture
def make_config() -> Any:
    return gateway_config
