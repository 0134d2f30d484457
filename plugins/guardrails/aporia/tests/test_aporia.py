"""gateway-aporia against a local server speaking Aporia's Guardrails validate API.

Shape: Aporia Guardrails REST API (``POST <project URL>/validate``, header ``X-APORIA-API-KEY``,
body ``messages`` / ``validation_target`` / ``response``; answer ``action``,
``revised_response``, ``explain_log``, ``policy_execution_result``), as documented by Aporia and
used by LiteLLM (BerriAI/litellm ``litellm/proxy/guardrails/guardrail_hooks/aporia_ai/aporia_ai.py``
and ``docs/my-website/docs/tutorials/litellm_proxy_aporia.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gateway_aporia
import gateway_openai
import openai
import pytest

from gateway import ConfigError, Gateway
from gateway.guardrails.testing import assert_failure_policies, vendor_failures
from gateway.testing import FakeUpstream, RecordedRequest, Reply


def aporia_reply(request: RecordedRequest) -> Reply:
    body = request.json
    text = " ".join(m["content"] for m in body.get("messages", [])) + " " + str(body.get("response", ""))
    if "toxic" in text:
        action, revised = "block", None
    elif "darn" in str(body.get("response", "")):
        action, revised = "modify", str(body["response"]).replace("darn", "****")
    else:
        action, revised = "passthrough", None
    return Reply(
        json={
            "action": action,
            "revised_response": revised,
            "explain_log": None,
            "policy_execution_result": {"policy_log": [], "action": {"type": action}},
        }
    )


@pytest.fixture
def aporia() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    server.default = aporia_reply
    server.start()
    try:
        yield server
    finally:
        server.stop()


def guard(aporia: FakeUpstream, name: str = "aporia", **params: Any) -> dict[str, Any]:
    params.setdefault("mode", "pre_call")
    params.setdefault("default_on", True)
    return {
        "guardrail_name": name,
        "litellm_params": {"guardrail": "aporia", "api_key": "ap-key", "api_base": aporia.url + "/proj-1", **params},
    }


def start(factory: Any, upstream: FakeUpstream, *guards: dict[str, Any]) -> Any:
    config = {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up"},
            }
        ],
        "general_settings": {"master_key": "sk-m"},
        "guardrails": list(guards),
    }
    return factory(config, plugins=[gateway_openai, gateway_aporia], load_entrypoints=False)


def ask(gw: Any, text: str, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": text}, {"role": "tool", "content": "tool says hi", "tool_call_id": "t1"}],
        **kwargs,
    )


def test_prompt_pass_and_block(gateway_factory: Any, fake_upstream: FakeUpstream, aporia: FakeUpstream) -> None:
    gw = start(gateway_factory, fake_upstream, guard(aporia))
    assert ask(gw, "hello").choices
    sent = aporia.requests[-1]
    assert sent.path == "/proj-1/validate" and sent.headers["x-aporia-api-key"] == "ap-key"
    assert sent.json == {
        "messages": [{"role": "user", "content": "hello"}, {"role": "other", "content": "tool says hi"}],
        "validation_target": "prompt",
    }
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, "something toxic")
    assert caught.value.body["provider_specific_fields"]["aporia_ai_response"]["action"] == "block"
    assert len(fake_upstream.requests) == 1


def test_response_checks_send_both_and_may_apply_revisions(
    gateway_factory: Any, fake_upstream: FakeUpstream, aporia: FakeUpstream
) -> None:
    fake_upstream.content = "well darn it"
    gw = start(gateway_factory, fake_upstream, guard(aporia, mode="post_call", use_revised_response=True))
    assert ask(gw, "hi").choices[0].message.content == "well **** it"
    sent = aporia.requests[-1].json
    assert sent["validation_target"] == "both" and sent["response"] == "well darn it"
    assert sent["messages"][0] == {"role": "user", "content": "hi"}
    fake_upstream.content = "a toxic answer"
    with pytest.raises(openai.BadRequestError):
        ask(gw, "hi")


@pytest.mark.parametrize("reply", vendor_failures(Reply(json={"action": "maybe"}), Reply(json=["passthrough"])))
def test_vendor_failures_under_both_policies(
    reply: Reply, gateway_factory: Any, fake_upstream: FakeUpstream, aporia: FakeUpstream
) -> None:
    aporia.default = reply
    gw = start(
        gateway_factory,
        fake_upstream,
        guard(aporia, "closed", default_on=False, timeout=0.5),
        guard(aporia, "open", default_on=False, timeout=0.5, on_error="fail_open"),
    )
    assert_failure_policies(lambda name: ask(gw, "hello", extra_body={"guardrails": [name]}), fake_upstream)


def test_api_base_and_key_are_required(fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("APORIA_API_BASE", "APORIO_API_BASE", "APORIA_API_KEY", "APORIO_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    config = {"guardrails": [{"guardrail_name": "a", "litellm_params": {"guardrail": "aporia"}}]}
    with pytest.raises(ConfigError) as caught:
        Gateway(config, plugins=[gateway_aporia], load_entrypoints=False)
    assert "api_base" in str(caught.value)
    monkeypatch.setenv("APORIO_API_BASE", "gr.example")  # LiteLLM's spelling works too
    with pytest.raises(ConfigError) as caught:
        Gateway(config, plugins=[gateway_aporia], load_entrypoints=False)
    assert "APORIA_API_KEY" in str(caught.value)
