"""gateway-content-filter through a real gateway; the upstream records what it received.

Config shape: LiteLLM's content filter docs (docs.litellm.ai/docs/proxy/guardrails/litellm_content_filter:
``patterns`` with ``pattern_type``/``pattern_name``/``action``, ``blocked_words`` with ``keyword``/``action``).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import gateway_content_filter
import gateway_openai
import openai
import pytest

from gateway import ConfigError, Gateway
from gateway.testing import FakeUpstream, Reply

MASTER = "sk-test-master"


def config(upstream: FakeUpstream, **params: Any) -> dict[str, Any]:
    params.setdefault("mode", "pre_call")
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "guardrails": [
            {
                "guardrail_name": "filter",
                "litellm_params": {"guardrail": "content_filter", "default_on": True, **params},
            }
        ],
    }


def start(factory: Any, upstream: FakeUpstream, **params: Any) -> Any:
    return factory(config(upstream, **params), plugins=[gateway_openai, gateway_content_filter], load_entrypoints=False)


def ask(gw: Any, text: str, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs)


def test_registered_through_its_entry_point() -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="gateway")}
    assert found["content_filter"] == "gateway_content_filter"


def test_keywords_and_topics_block_whole_words_in_any_case(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        blocked_words=["project falcon"],
        blocked_topics={"weapons": ["rifle", "ammunition"]},
    )
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, "Tell me about PROJECT FALCON.")
    assert caught.value.body["provider_specific_fields"] == {
        "rule": "blocked_word",
        "kind": "keyword",
        "guardrail_name": "filter",
        "guardrail_mode": "pre_call",
    }
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, "where to buy Ammunition")
    assert caught.value.body["message"] == "Content blocked: weapons topic detected"
    assert fake_upstream.requests == []
    assert ask(gw, "rifleman is a word, falconry too").choices  # whole words only


def test_litellm_shaped_patterns_mask_and_block(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        patterns=[
            {"pattern_type": "prebuilt", "pattern_name": "us_ssn", "action": "BLOCK"},
            {"pattern_type": "prebuilt", "pattern_name": "email", "action": "MASK"},
            {"pattern_type": "regex", "pattern": r"\bPRJ-\d+\b", "name": "ticket", "action": "MASK"},
        ],
        blocked_words=[{"keyword": "confidential", "action": "BLOCK", "description": "internal"}],
    )
    ask(gw, "mail ann@example.com about PRJ-1234")
    assert fake_upstream.requests[-1].json["messages"][0]["content"] == "mail [EMAIL_REDACTED] about [TICKET_REDACTED]"
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, "my SSN is 536-22-8714")
    assert "us_ssn" in caught.value.message
    with pytest.raises(openai.BadRequestError):
        ask(gw, "this is Confidential")


def test_output_masking_in_a_windowed_stream(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        mode="post_call",
        stream_policy="window",
        stream_window_chars=20,
        patterns=[{"pattern_type": "prebuilt", "pattern_name": "email", "action": "MASK"}],
    )
    words = ["Write ", "to ", "ann@example.com ", "please, ", "or ", "bob@example.org."]
    fake_upstream.enqueue(
        Reply(
            stream=[
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": "gpt-4o",
                    "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}],
                }
                for w in words
            ]
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in ask(gw, "hi", stream=True) if c.choices)
    assert text == "Write to [EMAIL_REDACTED] please, or [EMAIL_REDACTED]."


def test_config_mistakes_stop_start_up_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "guardrails:\n"
        "  - guardrail_name: f\n"
        "    litellm_params:\n"
        "      guardrail: content_filter\n"
        "      patterns:\n"
        "        - {pattern_type: regex, pattern: '(unclosed', action: BLOCK}\n"
        "  - guardrail_name: g\n"
        "    litellm_params: {guardrail: content_filter, patterns: [{pattern_type: prebuilt, pattern_name: nope}]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        Gateway(path, plugins=[gateway_content_filter], load_entrypoints=False)
    message = str(caught.value)
    assert "config.yaml line 6" in message and "not a valid regular expression" in message
    assert "config.yaml line 8" in message and "unknown prebuilt pattern 'nope'" in message


@pytest.mark.anyio
async def test_megabytes_and_unicode(gateway_client: Any, fake_upstream: FakeUpstream) -> None:
    cfg = config(
        fake_upstream,
        blocked_words=["café", "секрет"],
        patterns=[{"pattern_type": "prebuilt", "pattern_name": "email", "action": "MASK"}],
    )
    big = "lorem ipsum dolor sit amet 🙂 مرحبا " * 60000  # about 2 MB
    async with gateway_client(cfg, plugins=[gateway_openai, gateway_content_filter]) as client:

        async def send(text: str) -> Any:
            return await client.post(
                "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
            )

        assert (await send(big)).status_code == 200
        assert (await send(big + " a cafe\u0301 at the end")).status_code == 400  # combining accent = é
        assert (await send("пароль: СЕКРЕТ")).status_code == 400
        ok = await send("‏write to ann@example.com 👍🏽 please")
        assert ok.status_code == 200
        assert fake_upstream.requests[-1].json["messages"][0]["content"] == "‏write to [EMAIL_REDACTED] 👍🏽 please"
