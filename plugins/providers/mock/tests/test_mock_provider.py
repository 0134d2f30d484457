"""gateway-mock: deterministic replies and usage, failures on purpose, and the server mode."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from gateway import fake_openai
from gateway.testing import free_port

MASTER = "sk-master"
MESSAGES = [{"role": "user", "content": "How many tokens is this?"}]


def config(**params: Any) -> dict[str, Any]:
    return {
        "model_list": [{"model_name": "m", "litellm_params": {"model": "mock/m", **params}}],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }


def test_reply_and_usage_are_deterministic(gateway_factory: Any) -> None:
    client = gateway_factory(config(mock_response="Fixed answer.")).openai()
    first = client.chat.completions.create(model="m", messages=MESSAGES)
    second = client.chat.completions.create(model="m", messages=MESSAGES)
    assert first.choices[0].message.content == second.choices[0].message.content == "Fixed answer."
    assert first.usage.prompt_tokens == fake_openai.prompt_tokens(MESSAGES) == second.usage.prompt_tokens
    assert first.usage.completion_tokens == fake_openai.count_tokens("Fixed answer.")
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        if c.choices
    )
    assert streamed == "Fixed answer."


def test_fail_every_nth_call(gateway_factory: Any) -> None:
    client = gateway_factory(config(mock_fail_every=2, mock_failure_status=503)).openai()
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices
    with pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert err.value.status_code == 503
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices


def test_embeddings_and_completions(gateway_factory: Any) -> None:
    client = gateway_factory(config()).openai()
    assert client.embeddings.create(model="m", input="abc").data[0].embedding == fake_openai.embedding_vector("abc")
    assert client.completions.create(model="m", prompt="x").choices[0].text == "This is a mock reply from m."


def test_bad_failure_rate_is_a_config_error() -> None:
    from gateway import ConfigError, Gateway

    with pytest.raises(ConfigError, match="mock_failure_rate"):
        Gateway(config(mock_failure_rate=3))


def test_server_mode_speaks_openai() -> None:
    port = free_port()
    exe = Path(sys.executable).with_name("gateway-mock")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--response", "Hi from the server."])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        assert (
            client.chat.completions.create(model="any", messages=MESSAGES).choices[0].message.content
            == "Hi from the server."
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
