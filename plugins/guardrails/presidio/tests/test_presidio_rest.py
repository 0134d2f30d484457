"""The REST backend against Presidio's container contract.

Contract source: ``presidio-analyzer/app.py`` and ``presidio-anonymizer/app.py`` in
microsoft/presidio (routes, request fields, ``[{entity_type, start, end, score,
analysis_explanation}]`` answers, ``{"error": ...}`` bodies), as recorded in
shared/reference/real-components.md section 1c.  ``presidio_server`` is our own wrapper around
the real engines (``gateway-presidio-server``); vendor failures use a local scripted server.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import gateway_openai
import gateway_presidio
import openai
import orjson
import pytest

from gateway.testing import FakeUpstream, Reply, ServerThread

EMAIL, CARD = "jane.doe@example.org", "4111 1111 1111 1111"


def post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=orjson.dumps(body), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def test_our_server_speaks_presidios_contract(presidio_server: ServerThread) -> None:
    status, results = post(
        presidio_server.url + "/analyze", {"text": f"mail {EMAIL}", "language": "en", "entities": ["EMAIL_ADDRESS"]}
    )
    assert status == 200
    assert results == [
        {"analysis_explanation": None, "end": 5 + len(EMAIL), "entity_type": "EMAIL_ADDRESS", "score": 1.0, "start": 5}
    ]
    assert post(presidio_server.url + "/analyze", {"text": "x"}) == (500, {"error": "No language provided"})
    status, anonymized = post(
        presidio_server.url + "/anonymize", {"text": f"mail {EMAIL}", "analyzer_results": results}
    )
    assert status == 200 and anonymized["text"] == "mail <EMAIL_ADDRESS>"
    assert anonymized["items"][0]["entity_type"] == "EMAIL_ADDRESS" and anonymized["items"][0]["operator"] == "replace"


def rest_guard(**params: Any) -> dict[str, Any]:
    return {
        "guardrail_name": "pii-rest",
        "litellm_params": {"guardrail": "presidio", "mode": "pre_call", "default_on": True, **params},
    }


def ask(gw: Any, text: str, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs)


def test_env_configured_rest_backend_masks_and_unmasks(
    gateway_factory: Any,
    echo_upstream: FakeUpstream,
    make_config: Any,
    presidio_server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = presidio_server.url.removeprefix("http://")  # no scheme: http:// is assumed, as LiteLLM does
    monkeypatch.setenv("PRESIDIO_ANALYZER_API_BASE", host)
    monkeypatch.setenv("PRESIDIO_ANONYMIZER_API_BASE", presidio_server.url)
    gw = gateway_factory(
        make_config(echo_upstream, rest_guard()), plugins=[gateway_openai, gateway_presidio], load_entrypoints=False
    )
    ask(gw, f"email {EMAIL}, card {CARD}")
    assert echo_upstream.requests[-1].json["messages"][0]["content"] == "email <EMAIL_ADDRESS>, card <CREDIT_CARD>"
    gw2 = gateway_factory(
        make_config(echo_upstream, rest_guard(output_parse_pii=True)),
        plugins=[gateway_openai, gateway_presidio],
        load_entrypoints=False,
    )
    prompt = f"email {EMAIL}, card {CARD}"
    assert ask(gw2, prompt).choices[0].message.content == "You said: " + prompt
    assert EMAIL not in echo_upstream.requests[-1].body.decode()
    streamed = "".join(c.choices[0].delta.content or "" for c in ask(gw2, prompt, stream=True) if c.choices)
    assert streamed == "You said: " + prompt


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=503, json={"error": "overloaded"}),
        Reply(json={"not": "a list"}),
        Reply(json=[{"entity_type": "EMAIL_ADDRESS", "start": 0, "end": 10_000, "score": 1.0}]),
        Reply(body=b"<html>gateway timeout</html>"),
        Reply(hang=True),
    ],
    ids=["5xx", "not-a-list", "out-of-range", "not-json", "timeout"],
)
def test_analyzer_failures_follow_the_failure_policy(
    reply: Reply, gateway_factory: Any, fake_upstream: FakeUpstream, make_config: Any
) -> None:
    broken = FakeUpstream()
    broken.default = reply
    broken.start()
    try:
        urls = {"presidio_analyzer_api_base": broken.url, "presidio_anonymizer_api_base": broken.url}
        closed = {**rest_guard(timeout=0.5, **urls), "guardrail_name": "closed"}
        opened = {
            "guardrail_name": "open",
            "litellm_params": {**closed["litellm_params"], "on_error": "fail_open", "default_on": False},
        }
        closed["litellm_params"]["default_on"] = False
        gw = gateway_factory(
            make_config(fake_upstream, closed, opened),
            plugins=[gateway_openai, gateway_presidio],
            load_entrypoints=False,
        )
        with pytest.raises(openai.InternalServerError) as caught:
            ask(gw, f"email {EMAIL}", extra_body={"guardrails": ["closed"]})
        assert caught.value.status_code == 503 and fake_upstream.requests == []
        assert caught.value.body["provider_specific_fields"]["guardrail_name"] == "closed"
        assert ask(gw, f"email {EMAIL}", extra_body={"guardrails": ["open"]}).choices  # fail_open: sent as is
        assert len(fake_upstream.requests) == 1
    finally:
        broken.stop()
