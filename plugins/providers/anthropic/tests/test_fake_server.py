"""The fake Messages API refuses what the real one refuses, so translation bugs cannot pass silently.

Each case is a request shape the documentation rules out (pages cited in
``gateway_anthropic.testing``); the server must answer 400 ``invalid_request_error``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gateway_anthropic.testing import FakeAnthropic

USER = {"role": "user", "content": "Hi"}
TOOL = {"name": "t", "input_schema": {"type": "object"}}
USE = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"model": "m", "messages": [USER]}, "max_tokens"),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "s"}, USER], "temperature": 1.5},
            "temperature",
        ),
        ({"model": "m", "max_tokens": 5, "messages": [USER, USER]}, "alternate"),
        ({"model": "m", "max_tokens": 5, "messages": [USER], "n": 1}, "Extra inputs"),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": " "}]}]},
            "non-whitespace",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [USER, {"role": "assistant", "content": "Sure "}]},
            "trailing whitespace",
        ),
        ({"model": "m", "max_tokens": 5, "tools": [TOOL], "messages": [USER, USE, USER]}, "without `tool_result`"),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "tools": [TOOL],
                "messages": [USER, USE, {"role": "user", "content": [{"type": "text", "text": "x"}, RESULT]}],
            },
            "must come first",
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [USER, USE, {"role": "user", "content": [RESULT]}]},
            "must define tools",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0="}}
                        ],
                    }
                ],
            },
            "media_type",
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [USER],
                "tools": [{"name": "t", "input_schema": {"type": "array"}}],
            },
            "input_schema",
        ),
        (
            {
                "model": "m",
                "max_tokens": 2000,
                "messages": [USER],
                "thinking": {"type": "enabled", "budget_tokens": 4000},
            },
            "budget_tokens",
        ),
    ],
)
def test_fake_server_refuses_what_the_api_refuses(
    anthropic_server: FakeAnthropic, body: dict[str, Any], fragment: str
) -> None:
    reply = httpx.post(
        f"{anthropic_server.url}/v1/messages",
        json=body,
        headers={"x-api-key": anthropic_server.api_key, "anthropic-version": "2023-06-01"},
    )
    assert reply.status_code == 400, reply.text
    error = reply.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert fragment in error["error"]["message"]


def test_fake_server_needs_key_and_version(anthropic_server: FakeAnthropic) -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [USER]}
    assert (
        httpx.post(
            f"{anthropic_server.url}/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
        ).status_code
        == 401
    )
    assert (
        httpx.post(
            f"{anthropic_server.url}/v1/messages", json=body, headers={"x-api-key": anthropic_server.api_key}
        ).status_code
        == 400
    )
