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


def test_a_requests_own_mock_response_wins(gateway_factory: Any) -> None:
    client = gateway_factory(config(mock_response="The deployment's answer.")).openai()
    asked = client.chat.completions.create(model="m", messages=MESSAGES, extra_body={"mock_response": "Mine."})
    assert asked.choices[0].message.content == "Mine."
    assert asked.usage.completion_tokens == fake_openai.count_tokens("Mine.")
    text = client.completions.create(model="m", prompt="x", extra_body={"mock_response": "Typed."})
    assert text.choices[0].text == "Typed."
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_body={"mock_response": {"a": 1}})
    assert refused.value.status_code == 400 and "mock_response must be a string" in refused.value.message
    assert refused.value.body["param"] == "mock_response"  # type: ignore[index]


def test_anthropic_clients_get_the_same_token_counts(gateway_factory: Any) -> None:
    """The count is taken from the typed request: an Anthropic top-level system prompt and tool
    results count as the same OpenAI messages would."""
    pytest.importorskip("gateway_anthropic")
    import anthropic

    gateway = gateway_factory(config(mock_response="Fixed answer."))
    client = anthropic.Anthropic(base_url=gateway.url, api_key=MASTER, max_retries=0)
    answer = client.messages.create(
        model="m",
        max_tokens=50,
        system="Be brief.",
        messages=[
            {"role": "user", "content": "How many tokens is this?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "count", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "seven"}]},
        ],
    )
    same = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How many tokens is this?"},
        {"role": "assistant", "content": None},
        {"role": "tool", "content": "seven"},
    ]
    assert answer.content[0].text == "Fixed answer."  # type: ignore[union-attr]
    assert answer.usage.input_tokens == fake_openai.prompt_tokens(same)


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
