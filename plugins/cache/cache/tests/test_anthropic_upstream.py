"""An Anthropic deployment (its provider passes Anthropic's bytes through to Anthropic clients): the
first answer goes out as the upstream sent it, later identical requests are served from the cache
to Anthropic and OpenAI clients, plain and streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from cache_helpers import MASTER

KEY = "sk-ant-cache-test"


@pytest.fixture
def fake_anthropic() -> Iterator[Any]:
    from gateway_anthropic.testing import FakeAnthropic

    with FakeAnthropic(api_key=KEY) as server:
        yield server


def test_anthropic_answers_are_cached_for_both_formats(gateway_factory: Any, fake_anthropic: Any) -> None:
    import gateway_anthropic
    import gateway_cache
    import gateway_openai

    gw = gateway_factory(
        {
            "model_list": [
                {
                    "model_name": "claude",
                    "litellm_params": {
                        "model": "anthropic/claude-sonnet-4-5",
                        "api_base": fake_anthropic.url,
                        "api_key": KEY,
                    },
                }
            ],
            "general_settings": {"master_key": MASTER},
            "litellm_settings": {"cache": True, "cache_params": {"type": "local"}},
        },
        plugins=[("openai", gateway_openai), ("anthropic", gateway_anthropic), ("cache", gateway_cache)],
        load_entrypoints=False,
    )
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    messages = [{"role": "user", "content": "Tell me something"}]
    first = client.messages.create(model="claude", max_tokens=64, messages=messages)
    assert len(fake_anthropic.requests) == 1
    second = client.messages.create(model="claude", max_tokens=64, messages=messages)
    assert second.content[0].text == first.content[0].text
    assert second.usage.input_tokens == first.usage.input_tokens
    assert second.usage.output_tokens == first.usage.output_tokens
    assert second.id != first.id and second.id.startswith("msg_")
    with client.messages.stream(model="claude", max_tokens=64, messages=messages) as stream:
        assert "".join(stream.text_stream) == first.content[0].text
    openai_answer = gw.openai().chat.completions.create(model="claude", max_tokens=64, messages=messages)
    assert openai_answer.choices[0].message.content == first.content[0].text
    assert len(fake_anthropic.requests) == 1
