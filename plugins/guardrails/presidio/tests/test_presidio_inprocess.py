"""Presidio's real engines in-process (no_op NLP engine): PII never reaches the upstream.

The upstream is a local server that records what it received (``gateway.testing.FakeUpstream``);
the client is the official OpenAI SDK against a running gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gateway_openai
import gateway_presidio
import openai
import pytest

from gateway import ConfigError, Gateway
from gateway.testing import FakeUpstream, Reply

PII = {
    "email": "john.smith@example.com",
    "phone": "(415) 555-0132",
    "card": "4111 1111 1111 1111",
    "ssn": "536-22-8714",
    "ip": "192.168.1.10",
}
PROMPT = (
    f"I am John, email {PII['email']}, phone {PII['phone']}, card {PII['card']}, "
    f"SSN {PII['ssn']} and my IP is {PII['ip']}."
)


def presidio(name: str = "pii", **params: Any) -> dict[str, Any]:
    params.setdefault("mode", "pre_call")
    params.setdefault("default_on", True)
    return {"guardrail_name": name, "litellm_params": {"guardrail": "presidio", **params}}


def start(factory: Any, upstream: FakeUpstream, make_config: Any, *guards: dict[str, Any]) -> Any:
    return factory(make_config(upstream, *guards), plugins=[gateway_openai, gateway_presidio], load_entrypoints=False)


def ask(gw: Any, text: str, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs)


def sent_text(upstream: FakeUpstream) -> str:
    return upstream.requests[-1].body.decode()


@pytest.fixture(autouse=True)
def no_presidio_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRESIDIO_ANALYZER_API_BASE", raising=False)
    monkeypatch.delenv("PRESIDIO_ANONYMIZER_API_BASE", raising=False)


def test_the_seed_block_works_as_written_with_nothing_else_set(
    tmp_path: Path, gateway_factory: Any, echo_upstream: FakeUpstream
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n"
        f"  - {{model_name: gpt-4o, litellm_params: {{model: openai/gpt-4o, api_base: '{echo_upstream.base_url}', api_key: sk-up}}}}\n"
        "general_settings: {master_key: sk-test-master}\n"
        "guardrails:\n"
        "  - guardrail_name: presidio-pii\n"
        "    litellm_params: { guardrail: presidio, mode: pre_call }\n"
    )
    gw = gateway_factory(str(path), plugins=[gateway_openai, gateway_presidio], load_entrypoints=False)
    ask(gw, PROMPT, extra_body={"guardrails": ["presidio-pii"]})
    for value in PII.values():
        assert value not in sent_text(echo_upstream)
    assert "<EMAIL_ADDRESS>" in sent_text(echo_upstream) and "<CREDIT_CARD>" in sent_text(echo_upstream)


def test_emails_phones_cards_ssns_and_ips_never_reach_the_upstream(
    gateway_factory: Any, echo_upstream: FakeUpstream, make_config: Any, log_collector: Any
) -> None:
    gw = gateway_factory(
        make_config(echo_upstream, presidio()),
        load_entrypoints=False,
        plugins=[gateway_openai, gateway_presidio, log_collector],
    )
    reply = ask(gw, PROMPT)
    upstream_saw = sent_text(echo_upstream)
    for value in PII.values():
        assert value not in upstream_saw
        assert value not in reply.choices[0].message.content  # no un-masking unless asked
    records = log_collector.assert_logged(status=200)["annotations"]["guardrails"]
    assert records[0]["outcome"] == "masked"
    assert {"EMAIL_ADDRESS", "CREDIT_CARD", "US_SSN", "IP_ADDRESS"} <= set(records[0]["details"]["entities"])
    assert PII["email"] not in str(records)  # counts only, never values


def test_block_entities_are_refused_and_thresholds_and_deny_list_apply(
    gateway_factory: Any, echo_upstream: FakeUpstream, make_config: Any
) -> None:
    gw = start(
        gateway_factory,
        echo_upstream,
        make_config,
        presidio(
            pii_entities_config={"US_SSN": "BLOCK", "EMAIL_ADDRESS": "MASK", "IP_ADDRESS": "MASK"},
            presidio_score_thresholds={"IP_ADDRESS": 0.9},
            presidio_entities_deny_list=["EMAIL_ADDRESS"],
        ),
    )
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, PROMPT)
    fields = caught.value.body["provider_specific_fields"]
    assert caught.value.body["message"].startswith("Blocked entity detected: US_SSN by Guardrail: pii")
    assert fields["blocked_entities"] == ["US_SSN"] and fields["guardrail_mode"] == "pre_call"
    assert echo_upstream.requests == []
    ask(gw, f"mail {PII['email']} from {PII['ip']}")
    assert PII["email"] in sent_text(echo_upstream)  # denied entity: left alone
    assert PII["ip"] in sent_text(echo_upstream)  # 0.6 < threshold 0.9


def test_unmasking_restores_originals_in_normal_and_streamed_answers(
    gateway_factory: Any, echo_upstream: FakeUpstream, make_config: Any
) -> None:
    gw = start(gateway_factory, echo_upstream, make_config, presidio(output_parse_pii=True))
    prompt = f"Write to {PII['email']} or {PII['email']}, card {PII['card']}; literal <EMAIL_ADDRESS_1> stays"
    reply = ask(gw, prompt)
    upstream_saw = echo_upstream.requests[-1].json["messages"][0]["content"]
    assert PII["email"] not in upstream_saw and PII["card"] not in upstream_saw
    assert "<EMAIL_ADDRESS_2>" in upstream_saw and "<EMAIL_ADDRESS_1>" in upstream_saw  # client's literal kept, skipped
    assert reply.choices[0].message.content == "You said: " + prompt
    stream = ask(gw, prompt, stream=True)  # echoed 3 characters per chunk: placeholders arrive split
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "You said: " + prompt


def test_malformed_placeholders_and_unicode_in_answers(
    gateway_factory: Any, fake_upstream: FakeUpstream, make_config: Any
) -> None:
    gw = start(gateway_factory, fake_upstream, make_config, presidio(output_parse_pii=True))
    fake_upstream.content = "See <EMAIL_ADDRESS_1>, <EMAIL_ADDRESS_99>, <EMAIL_ADDRESS_1 and <<EMAIL_ADDRESS_1>> 🙂"
    reply = ask(gw, f"‏مرحبا 👋🏽 ле\u0301на {PII['email']}")
    sent = fake_upstream.requests[-1].json["messages"][0]["content"]
    assert PII["email"] not in sent and "‏مرحبا 👋🏽 ле\u0301на" in sent
    assert reply.choices[0].message.content == (
        f"See {PII['email']}, <EMAIL_ADDRESS_99>, <EMAIL_ADDRESS_1 and <{PII['email']}> 🙂"
    )


def test_long_prompts_are_chunked_and_oversized_work_fails_closed(
    gateway_factory: Any, fake_upstream: FakeUpstream, make_config: Any
) -> None:
    gw = start(gateway_factory, fake_upstream, make_config, presidio(presidio_analyze_chunk_size_bytes=1000))
    filler = "lorem ipsum dolor sit amet " * 40  # ~1 KB between values
    emails = [f"user{i}@example.com" for i in range(30)]
    text = "".join(f"{filler[: 990 - i * 7]} {email} " for i, email in enumerate(emails))  # some straddle chunk borders
    ask(gw, text)
    sent = sent_text(fake_upstream)
    assert not [e for e in emails if e in sent]
    before = len(fake_upstream.requests)
    slow = start(gateway_factory, fake_upstream, make_config, presidio("slow", timeout=0.5))
    with pytest.raises(openai.InternalServerError) as caught:  # ~2 MB cannot be analysed in 0.5 s: refused
        ask(slow, ("x " * 1_000_000) + PII["email"])
    assert caught.value.status_code == 503 and len(fake_upstream.requests) == before
    assert caught.value.body["provider_specific_fields"]["guardrail_name"] == "slow"


def test_spacy_models_are_used_only_when_installed(
    tmp_path: Path, make_config: Any, fake_upstream: FakeUpstream
) -> None:
    with pytest.raises(ConfigError) as caught:
        Gateway(
            make_config(fake_upstream, presidio(spacy_model="en_core_web_nope")),
            plugins=[gateway_openai, gateway_presidio],
            load_entrypoints=False,
        )
    assert "never downloaded" in str(caught.value) and "spacy_model" in str(caught.value)


def test_windowed_streams_mask_output_pii_per_window(
    gateway_factory: Any, fake_upstream: FakeUpstream, make_config: Any
) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        make_config,
        presidio(mode="post_call", stream_policy="window", stream_window_chars=30),
    )
    words = [
        "Sure. ",
        "Our support ",
        "address is ",
        "help@example.com ",
        "and the ",
        "server is at ",
        "10.1.2.3 ",
        "if you need it.",
    ]
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
    assert "help@example.com" not in text and "10.1.2.3" not in text
    assert text.startswith("Sure. Our support address is <EMAIL_ADDRESS>") and text.endswith("if you need it.")


def test_an_installed_spacy_model_directory_is_used(
    tmp_path: Path, gateway_factory: Any, fake_upstream: FakeUpstream, make_config: Any
) -> None:
    import spacy

    model = tmp_path / "blank_en"
    spacy.blank("en").to_disk(model)  # a real spaCy pipeline on disk, no download
    gw = start(gateway_factory, fake_upstream, make_config, presidio(nlp_engine="spacy", spacy_model=str(model)))
    assert gw.gateway.state["guardrails"].guardrails["pii"].backend.describe() == f"in-process (spacy: {model})"
    ask(gw, f"mail {PII['email']}")
    assert PII["email"] not in sent_text(fake_upstream)
