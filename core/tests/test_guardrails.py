"""The guardrail framework through a real gateway: config errors, modes, selection, failure policies.

A small guardrail type defined here (``word_guard``) stands in for a vendor: it blocks a word,
masks another, can be slow or fail.  Everything else is real: the gateway, the OpenAI SDK as
client, the OpenAI provider plugin and a local upstream that records what it received.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import gateway_openai
import openai
import pytest
from pydantic import BaseModel, ConfigDict

from gateway import ConfigError, Gateway, Principal, hookimpl
from gateway.guardrails import Guardrail, GuardrailResult, GuardrailUnavailable, TextBatch, logged_view
from gateway.testing import FakeUpstream, LogCollector, Reply

MASTER = "sk-test-master"


class WordParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    block_word: str = "forbidden"
    mask_word: str | None = None
    delay: float = 0.0
    fail: bool = False


class WordGuard(Guardrail):
    params_model = WordParams

    async def check(self, batch: TextBatch) -> GuardrailResult:
        if self.params.delay:
            await asyncio.sleep(self.params.delay)
        if self.params.fail:
            raise GuardrailUnavailable("vendor answered HTTP 503")
        for text in batch.texts:
            if self.params.block_word in text:
                return GuardrailResult.blocked("Violated guardrail policy", why="forbidden word")
        if self.params.mask_word and any(self.params.mask_word in t for t in batch.texts):
            return GuardrailResult.masked([t.replace(self.params.mask_word, "[MASKED]") for t in batch.texts], masked=1)
        return GuardrailResult.passed()


class TestGuards:
    """Registers ``word_guard``; authenticates test keys with guardrails and permissions."""

    gateway_plugin_name = "test_guards"

    @hookimpl
    def gateway_register_guardrails(self, register: Any) -> None:
        register("word_guard", WordGuard)

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        keys = {
            "sk-team-guarded": Principal(id="k1", kind="virtual_key", guardrails=["masker"]),
            "sk-no-globals": Principal(id="k2", kind="virtual_key", permissions={"disable_global_guardrails": True}),
            "sk-pii-controls": Principal(id="k3", kind="virtual_key", permissions={"allow_pii_controls": True}),
            "sk-plain": Principal(id="k4", kind="virtual_key"),
        }
        return keys.get(api_key or "")


def guard(name: str, mode: Any = "pre_call", **params: Any) -> dict[str, Any]:
    return {"guardrail_name": name, "litellm_params": {"guardrail": "word_guard", "mode": mode, **params}}


def config(upstream: FakeUpstream, *guards: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "guardrails": list(guards),
    }


def start(factory: Any, upstream: FakeUpstream, *guards: dict[str, Any], extra: tuple[Any, ...] = ()) -> Any:
    return factory(config(upstream, *guards), plugins=[gateway_openai, TestGuards(), *extra], load_entrypoints=False)


def chat(gw: Any, text: str, key: str | None = None, **kwargs: Any) -> Any:
    return gw.openai(api_key=key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs
    )


# --------------------------------------------------------------------------- start-up


def test_unknown_guardrail_type_names_entry_line_and_plugin_to_install(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list: []\n"
        "guardrails:\n"
        "  - guardrail_name: presidio-pii\n"
        "    litellm_params: { guardrail: presidio, mode: pre_call }\n"
    )
    with pytest.raises(ConfigError) as caught:
        Gateway(path, load_entrypoints=False)
    message = str(caught.value)
    assert "config.yaml line 4" in message
    assert "presidio-pii" in message and "pip install gateway-presidio" in message


def test_bad_common_and_provider_params_are_reported_with_fixes(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "guardrails:\n"
        "  - guardrail_name: a\n"
        "    litellm_params:\n"
        "      guardrail: word_guard\n"
        "      mode: before_call\n"
        "  - guardrail_name: b\n"
        "    litellm_params:\n"
        "      guardrail: word_guard\n"
        "      blok_word: x\n"
    )
    with pytest.raises(ConfigError) as caught:
        Gateway(path, plugins=[TestGuards()], load_entrypoints=False)
    message = str(caught.value)
    assert "2 problems" in message
    assert "line 5" in message and "'before_call' is not a mode" in message
    assert "line 9" in message and "did you mean 'block_word'?" in message


# --------------------------------------------------------------------------- pre_call


def test_pre_call_block_is_a_400_naming_guardrail_and_mode_and_nothing_reaches_upstream(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    gw = start(gateway_factory, fake_upstream, guard("blocker", default_on=True))
    with pytest.raises(openai.BadRequestError) as caught:
        chat(gw, "say the forbidden word")
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "message": "Violated guardrail policy",
        "type": "invalid_request_error",
        "param": None,
        "code": "400",
        "provider_specific_fields": {
            "why": "forbidden word",
            "guardrail_name": "blocker",
            "guardrail_mode": "pre_call",
        },
    }
    assert fake_upstream.requests == []
    assert chat(gw, "a harmless question").choices[0].message.content == fake_upstream.content


def test_pre_call_mask_changes_what_upstream_receives_and_is_logged(
    gateway_factory: Any, fake_upstream: FakeUpstream, log_collector: LogCollector
) -> None:
    gw = start(
        gateway_factory, fake_upstream, guard("masker", default_on=True, mask_word="s3cret"), extra=(log_collector,)
    )
    chat(gw, "my password is s3cret")
    assert fake_upstream.requests[-1].json["messages"][0]["content"] == "my password is [MASKED]"
    event = log_collector.assert_logged(status=200)
    [outcome] = event["annotations"]["guardrails"]
    assert outcome["guardrail"] == "masker" and outcome["mode"] == "pre_call" and outcome["outcome"] == "masked"
    assert outcome["latency_ms"] >= 0


def test_non_text_parts_pass_or_block_per_config(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        guard("strict", default_on=True, non_text="block"),
        guard("lenient", mask_word="hello"),
    )
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "hello, what is this?"}, image]}]
    with pytest.raises(openai.BadRequestError) as caught:
        gw.openai().chat.completions.create(model="gpt-4o", messages=messages)
    assert caught.value.body["provider_specific_fields"]["guardrail_name"] == "strict"
    gw2 = start(gateway_factory, fake_upstream, guard("lenient", default_on=True, mask_word="hello"))
    gw2.openai().chat.completions.create(model="gpt-4o", messages=messages)
    sent = fake_upstream.requests[-1].json["messages"][0]["content"]
    assert sent == [{"type": "text", "text": "[MASKED], what is this?"}, image]


# --------------------------------------------------------------------------- selection


def test_selection_default_on_request_metadata_and_unknown_names(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    gw = start(gateway_factory, fake_upstream, guard("optional"))
    assert chat(gw, "forbidden but nobody asked").choices  # not default_on: does not run
    for extra in ({"guardrails": ["optional"]}, {"metadata": {"guardrails": ["optional"]}}):
        with pytest.raises(openai.BadRequestError):
            chat(gw, "forbidden", extra_body=extra)
    with pytest.raises(openai.BadRequestError) as caught:
        chat(gw, "hi", extra_body={"guardrails": ["nope"]})
    assert "'nope' is not configured" in caught.value.message and "optional" in caught.value.message
    assert "guardrails" not in fake_upstream.requests[-1].json  # gateway-only field never reaches upstream


def test_key_guardrails_and_opt_out_permissions(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    gw = start(gateway_factory, fake_upstream, guard("global", default_on=True), guard("masker", mask_word="s3cret"))
    chat(gw, "s3cret", key="sk-team-guarded")  # the key's attached guardrail runs
    assert fake_upstream.requests[-1].json["messages"][0]["content"] == "[MASKED]"
    assert chat(gw, "forbidden", key="sk-no-globals").choices  # key opted out of default_on guardrails
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(gw, "forbidden", key="sk-plain", extra_body={"disable_global_guardrails": True})
    assert "allow_pii_controls" in caught.value.message
    assert chat(gw, "forbidden", key="sk-pii-controls", extra_body={"disable_global_guardrails": True}).choices
    assert "disable_global_guardrails" not in fake_upstream.requests[-1].json
    with pytest.raises(openai.BadRequestError):
        chat(gw, "forbidden", key="sk-pii-controls")  # without asking, the permission changes nothing


# --------------------------------------------------------------------------- failure policies


def test_timeouts_and_errors_follow_the_failure_policy(
    gateway_factory: Any, fake_upstream: FakeUpstream, log_collector: LogCollector
) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        guard("slow-closed", delay=5, timeout=0.2),
        guard("slow-open", delay=5, timeout=0.2, on_error="fail_open"),
        guard("down-closed", fail=True),
        guard("down-open", fail=True, on_error="fail_open"),
        extra=(log_collector,),
    )
    for name in ("slow-closed", "down-closed"):
        with pytest.raises(openai.InternalServerError) as caught:
            chat(gw, "hi", extra_body={"guardrails": [name]})
        assert caught.value.status_code == 503
        assert caught.value.body["type"] == "guardrail_unavailable"
        assert caught.value.body["provider_specific_fields"] == {"guardrail_name": name, "guardrail_mode": "pre_call"}
    assert fake_upstream.requests == []
    for name in ("slow-open", "down-open"):
        assert chat(gw, "hi", extra_body={"guardrails": [name]}).choices
    events = log_collector.wait_for(4)
    outcomes = {e["annotations"]["guardrails"][0]["guardrail"]: e["annotations"]["guardrails"][0] for e in events}
    assert outcomes["slow-closed"]["outcome"] == "blocked" and "timed out" in outcomes["slow-closed"]["error"]
    assert outcomes["down-open"]["outcome"] == "passed" and outcomes["down-open"]["on_error"] == "fail_open"


# --------------------------------------------------------------------------- during_call


def test_during_call_runs_alongside_the_upstream_and_a_flag_replaces_the_answer(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    gw = start(gateway_factory, fake_upstream, guard("parallel", mode="during_call", default_on=True, delay=0.3))
    with pytest.raises(openai.BadRequestError) as caught:
        chat(gw, "forbidden")
    assert caught.value.body["provider_specific_fields"]["guardrail_mode"] == "during_call"
    assert len(fake_upstream.requests) == 1  # the call was made concurrently, its answer withheld
    with pytest.raises(openai.BadRequestError):
        list(chat(gw, "forbidden", stream=True))  # a stream is refused before its first chunk
    stream = chat(gw, "fine", stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == fake_upstream.content


# --------------------------------------------------------------------------- post_call


def test_post_call_blocks_answers_and_holds_streams_by_default(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.content = "the forbidden answer"
    gw = start(gateway_factory, fake_upstream, guard("out", mode="post_call", default_on=True))
    with pytest.raises(openai.BadRequestError) as caught:
        chat(gw, "hi")
    assert caught.value.body["provider_specific_fields"]["guardrail_mode"] == "post_call"
    with pytest.raises(openai.BadRequestError):  # hold: the whole stream is checked first, so still a 400
        list(chat(gw, "hi", stream=True))


def test_post_call_window_policy_masks_per_window_and_ends_a_flagged_stream(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    gw = start(
        gateway_factory,
        fake_upstream,
        guard(
            "win", mode="post_call", default_on=True, stream_policy="window", stream_window_chars=10, mask_word="secret"
        ),
    )
    words = ["one ", "two ", "secret ", "three ", "four ", "forbidden ", "five"]
    events = [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}],
        }
        for w in words
    ]
    fake_upstream.enqueue(Reply(stream=events))
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in chat(gw, "hi", stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "Violated guardrail policy" in str(caught.value.message)
    text = "".join(received)
    assert text.startswith("one two [MASKED] ") and "forbidden" not in text and "five" not in text


# --------------------------------------------------------------------------- logging_only


class RedactedSink:
    gateway_plugin_name = "redacted_sink"

    def __init__(self) -> None:
        self.views: list[Any] = []

    @hookimpl
    async def gateway_log(self, event: Any) -> None:
        assert event.ctx.annotations["guardrails_logging_only"] == ["log-mask"]
        self.views.append(await logged_view(event.ctx))


def test_logging_only_changes_only_what_sinks_see(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    fake_upstream.content = "your s3cret is safe"
    sink = RedactedSink()
    gw = start(
        gateway_factory,
        fake_upstream,
        guard("log-mask", mode="logging_only", default_on=True, mask_word="s3cret"),
        extra=(sink,),
    )
    reply = chat(gw, "remember s3cret")
    assert reply.choices[0].message.content == "your s3cret is safe"
    assert fake_upstream.requests[-1].json["messages"][0]["content"] == "remember s3cret"
    stream_text = "".join(
        c.choices[0].delta.content or "" for c in chat(gw, "remember s3cret", stream=True) if c.choices
    )
    assert stream_text == "your s3cret is safe"
    for _ in range(500):  # log delivery is asynchronous
        if len(sink.views) == 2:
            break
        time.sleep(0.01)
    assert len(sink.views) == 2
    for view in sink.views:
        assert view.redacted
        assert view.request["messages"][0]["content"] == "remember [MASKED]"
        assert view.response_texts == {0: "your [MASKED] is safe"}


def test_guardrails_list_shows_names_types_and_modes_but_no_secrets(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    entry = guard(
        "listed",
        mode=["pre_call", "post_call"],
        default_on=True,
        api_key="sk-vendor-secret",
        api_base="http://vendor.internal",
    )
    entry["guardrail_info"] = {"description": "blocks the forbidden word"}
    gw = start(gateway_factory, fake_upstream, entry)
    import httpx

    assert httpx.get(gw.url + "/guardrails/list").status_code == 401
    listing = httpx.get(gw.url + "/guardrails/list", headers={"authorization": "Bearer sk-plain"}).json()
    assert listing == {
        "guardrails": [
            {
                "guardrail_name": "listed",
                "guardrail_info": {"description": "blocks the forbidden word"},
                "litellm_params": {"guardrail": "word_guard", "mode": ["pre_call", "post_call"], "default_on": True},
            }
        ]
    }
    assert "secret" not in str(listing) and "vendor.internal" not in str(listing)
