"""gateway-guardrails-ai against a local server speaking the Guardrails AI server's validate API.

Shape: guardrails-ai/guardrails-api-client ``service-specs/guardrails-service-spec.yml``
(``POST /guards/{guardName}/validate``, body ``llmOutput`` / ``numReasks``, answer
ValidationOutcome: ``callId``, ``rawLlmOutput``, ``validatedOutput``, ``validationPassed``,
``error``); LiteLLM's ``guardrails_ai.py`` for the ``guard_name`` / ``api_base`` params.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import gateway_guardrails_ai
import gateway_openai
import openai
import pytest

from gateway.guardrails.testing import assert_failure_policies, vendor_failures
from gateway.testing import FakeUpstream, RecordedRequest, Reply


def guards_server(request: RecordedRequest) -> Reply:
    if request.path != "/guards/no-secrets/validate":
        return Reply(status=404, json={"message": "Guard not found"})
    text = request.json["llmOutput"]
    if "raise" in text:
        return Reply(status=400, json={"message": "Validation failed for field with errors: contains 'raise'"})
    fixed = text.replace("password", "[redacted]")
    return Reply(
        json={
            "callId": str(uuid.uuid4()),
            "rawLlmOutput": text,
            "validatedOutput": fixed,
            "validationPassed": "forbidden" not in text,
        }
    )


@pytest.fixture
def server() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream()
    upstream.default = guards_server
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


def guard(server: FakeUpstream, name: str = "gai", **params: Any) -> dict[str, Any]:
    params.setdefault("mode", "pre_call")
    params.setdefault("default_on", True)
    return {
        "guardrail_name": name,
        "litellm_params": {"guardrail": "guardrails_ai", "guard_name": "no-secrets", "api_base": server.url, **params},
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
    return factory(config, plugins=[gateway_openai, gateway_guardrails_ai], load_entrypoints=False)


def ask(gw: Any, text: str, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "forbidden system text is not checked"},
            {"role": "user", "content": text},
        ],
        **kwargs,
    )


def test_pass_fix_and_fail(gateway_factory: Any, fake_upstream: FakeUpstream, server: FakeUpstream) -> None:
    gw = start(gateway_factory, fake_upstream, guard(server, num_reasks=0))
    assert ask(gw, "hello").choices
    assert server.requests[-1].json == {"llmOutput": "hello", "numReasks": 0}  # the last user message only
    ask(gw, "my password is hunter2")
    assert fake_upstream.requests[-1].json["messages"][1]["content"] == "my [redacted] is hunter2"
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, "the forbidden plan")
    assert caught.value.body["provider_specific_fields"]["guardrails_ai_response"]["validationPassed"] is False
    with pytest.raises(openai.BadRequestError) as caught:  # on_fail: exception validators answer 400
        ask(gw, "please raise")
    assert "Validation failed" in caught.value.body["provider_specific_fields"]["guardrails_ai_error"]


def test_answers_are_validated_post_call(
    gateway_factory: Any, fake_upstream: FakeUpstream, server: FakeUpstream
) -> None:
    gw = start(gateway_factory, fake_upstream, guard(server, mode="post_call"))
    fake_upstream.content = "the admin password is 1234"
    assert ask(gw, "hi").choices[0].message.content == "the admin [redacted] is 1234"
    fake_upstream.content = "a forbidden answer"
    with pytest.raises(openai.BadRequestError):
        ask(gw, "hi")


@pytest.mark.parametrize(
    "reply", vendor_failures(Reply(json={"callId": "x"}), Reply(status=404, json={"message": "no guard"}))
)
def test_vendor_failures_under_both_policies(
    reply: Reply, gateway_factory: Any, fake_upstream: FakeUpstream, server: FakeUpstream
) -> None:
    server.default = reply
    gw = start(
        gateway_factory,
        fake_upstream,
        guard(server, "closed", default_on=False, timeout=0.5),
        guard(server, "open", default_on=False, timeout=0.5, on_error="fail_open"),
    )
    assert_failure_policies(lambda name: ask(gw, "hello", extra_body={"guardrails": [name]}), fake_upstream)
