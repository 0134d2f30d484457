"""Local model servers' prefixes (docs/local-models.md): Ollama's OpenAI-compatible API under /v1."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.testing import FakeUpstream

MASTER = "sk-master"


@pytest.mark.parametrize("prefix", ["ollama", "ollama_chat"])
@pytest.mark.parametrize("suffix", ["", "/", "/v1"])
def test_ollama_is_called_under_v1_whether_api_base_names_it_or_not(
    fake_upstream: FakeUpstream, gateway_factory: Any, prefix: str, suffix: str
) -> None:
    # LiteLLM's files name Ollama's root (http://localhost:11434), as its native API wants
    proxy = gateway_factory(
        {
            "model_list": [
                {
                    "model_name": "llama3",
                    "litellm_params": {"model": f"{prefix}/llama3.2", "api_base": fake_upstream.url + suffix},
                }
            ],
            "general_settings": {"master_key": MASTER},
        }
    )
    answer = proxy.openai().chat.completions.create(model="llama3", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content
    sent = fake_upstream.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.json["model"] == "llama3.2"
    proxy.openai().embeddings.create(model="llama3", input="hi")
    assert fake_upstream.requests[-1].path == "/v1/embeddings"
