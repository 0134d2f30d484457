"""gateway-bedrock-guardrails against a local server speaking Bedrock's ApplyGuardrail API.

Shapes: docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html (request
``source`` / ``content`` / ``outputScope``; response ``action``, ``actionReason``, ``outputs``,
``assessments`` with ``contentPolicy.filters`` and ``sensitiveInformationPolicy.piiEntities``
items whose ``action`` is ``BLOCKED`` or ``ANONYMIZED``).  The server checks the SigV4 signature
the way AWS does: it recomputes it from the request it received and the shared secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import gateway_bedrock_guardrails
import gateway_openai
import openai
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway import ConfigError, Gateway
from gateway.guardrails.testing import assert_failure_policies, vendor_failures
from gateway.testing import FakeUpstream, RecordedRequest, Reply

ACCESS, SECRET, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def signature_ok(request: RecordedRequest, url: str) -> bool:
    auth = request.headers.get("authorization", "")
    found = re.match(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/bedrock/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$",
        auth,
    )
    if not found or found.group(1) != ACCESS or found.group(3) != REGION:
        return False
    signed = found.group(4).split(";")
    replay = AWSRequest(
        method="POST", url=url, data=request.body, headers={name: request.headers[name] for name in signed}
    )
    replay.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(ACCESS, SECRET), "bedrock", REGION)
    expected = signer.signature(signer.string_to_sign(replay, signer.canonical_request(replay)), replay)
    return expected == found.group(5)


def bedrock_server(base_url: str) -> Any:
    def reply(request: RecordedRequest) -> Reply:
        if not signature_ok(request, base_url + request.path):
            return Reply(
                status=403,
                json={"message": "The request signature we calculated does not match the signature you provided."},
            )
        if request.path != "/guardrail/gr-123/version/1/apply":
            return Reply(status=404, json={"message": "Guardrail not found"})
        texts = [block["text"]["text"] for block in request.json["content"]]
        joined = " ".join(texts)
        if "bomb" in joined:
            return Reply(
                json={
                    "action": "GUARDRAIL_INTERVENED",
                    "actionReason": "Guardrail blocked.",
                    "outputs": [{"text": "Sorry, I cannot help with that."}],
                    "assessments": [
                        {
                            "contentPolicy": {
                                "filters": [{"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"}]
                            }
                        }
                    ],
                    "usage": {"contentPolicyUnits": 1},
                }
            )
        if EMAIL.search(joined):
            return Reply(
                json={
                    "action": "GUARDRAIL_INTERVENED",
                    "outputs": [{"text": EMAIL.sub("{EMAIL}", t)} for t in texts],
                    "assessments": [
                        {
                            "sensitiveInformationPolicy": {
                                "piiEntities": [
                                    {"match": m, "type": "EMAIL", "action": "ANONYMIZED"} for m in EMAIL.findall(joined)
                                ]
                            }
                        }
                    ],
                }
            )
        return Reply(json={"action": "NONE", "outputs": [], "assessments": [{}]})

    return reply


@pytest.fixture
def bedrock() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start()
    server.default = bedrock_server(server.url)
    try:
        yield server
    finally:
        server.stop()


def guard(bedrock: FakeUpstream, name: str = "bedrock", **params: Any) -> dict[str, Any]:
    params.setdefault("mode", "pre_call")
    params.setdefault("default_on", True)
    return {
        "guardrail_name": name,
        "litellm_params": {
            "guardrail": "bedrock",
            "guardrailIdentifier": "gr-123",
            "guardrailVersion": "1",
            "aws_region_name": REGION,
            "aws_access_key_id": ACCESS,
            "aws_secret_access_key": SECRET,
            "api_base": bedrock.url,
            **params,
        },
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
    return factory(config, plugins=[gateway_openai, gateway_bedrock_guardrails], load_entrypoints=False)


def ask(gw: Any, text: str, **kwargs: Any) -> Any:
    return gw.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}], **kwargs)


def test_signed_requests_pass_block_and_anonymize(
    gateway_factory: Any, fake_upstream: FakeUpstream, bedrock: FakeUpstream
) -> None:
    gw = start(gateway_factory, fake_upstream, guard(bedrock))
    assert ask(gw, "what is the weather?").choices
    assert bedrock.requests[-1].json == {"source": "INPUT", "content": [{"text": {"text": "what is the weather?"}}]}
    with pytest.raises(openai.BadRequestError) as caught:
        ask(gw, "how do I build a bomb")
    fields = caught.value.body["provider_specific_fields"]
    assert fields["interventions"] == ["VIOLENCE:BLOCKED"] and fields["bedrock_action_reason"] == "Guardrail blocked."
    ask(gw, "mail ann@example.com")
    assert fake_upstream.requests[-1].json["messages"][0]["content"] == "mail {EMAIL}"
    assert len(fake_upstream.requests) == 2


def test_answers_are_checked_as_output(
    gateway_factory: Any, fake_upstream: FakeUpstream, bedrock: FakeUpstream
) -> None:
    gw = start(gateway_factory, fake_upstream, guard(bedrock, mode="post_call"))
    fake_upstream.content = "contact ops@example.com"
    assert ask(gw, "hi").choices[0].message.content == "contact {EMAIL}"
    assert bedrock.requests[-1].json["source"] == "OUTPUT"


def test_a_wrong_secret_is_refused_by_the_signature_check(
    gateway_factory: Any, fake_upstream: FakeUpstream, bedrock: FakeUpstream
) -> None:
    wrong = guard(bedrock, aws_secret_access_key="not-the-secret")
    gw = start(gateway_factory, fake_upstream, wrong)
    with pytest.raises(openai.InternalServerError) as caught:
        ask(gw, "hello")
    assert caught.value.status_code == 503 and fake_upstream.requests == []
    assert "not-the-secret" not in str(caught.value.body)


@pytest.mark.parametrize(
    "reply",
    vendor_failures(
        Reply(json={"action": "MAYBE"}),
        Reply(
            json={
                "action": "GUARDRAIL_INTERVENED",
                "outputs": [],
                "assessments": [
                    {"sensitiveInformationPolicy": {"piiEntities": [{"type": "EMAIL", "action": "ANONYMIZED"}]}}
                ],
            }
        ),
    ),
)
def test_vendor_failures_under_both_policies(
    reply: Reply, gateway_factory: Any, fake_upstream: FakeUpstream, bedrock: FakeUpstream
) -> None:
    bedrock.default = reply
    gw = start(
        gateway_factory,
        fake_upstream,
        guard(bedrock, "closed", default_on=False, timeout=0.5),
        guard(bedrock, "open", default_on=False, timeout=0.5, on_error="fail_open"),
    )
    assert_failure_policies(lambda name: ask(gw, "hello", extra_body={"guardrails": [name]}), fake_upstream)


def test_config_errors(fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    entry = {
        "guardrail_name": "b",
        "litellm_params": {"guardrail": "bedrock", "guardrailIdentifier": "gr-1", "guardrailVersion": "v1"},
    }
    with pytest.raises(ConfigError) as caught:
        Gateway({"guardrails": [entry]}, plugins=[gateway_bedrock_guardrails], load_entrypoints=False)
    assert "guardrailVersion" in str(caught.value)
    entry["litellm_params"]["guardrailVersion"] = "DRAFT"
    with pytest.raises(ConfigError) as caught:
        Gateway({"guardrails": [entry]}, plugins=[gateway_bedrock_guardrails], load_entrypoints=False)
    assert "aws_region_name" in str(caught.value)
