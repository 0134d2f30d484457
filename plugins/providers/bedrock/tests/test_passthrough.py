"""``/bedrock/...`` pass-through (core's route): the Bedrock Runtime API as it is, each request signed
with the deployment's AWS credentials (``BedrockProvider.sign_passthrough``).  The local Bedrock
server recomputes every SigV4 signature from what it received, so a request the gateway changed
after signing, or signed with the wrong credentials, is refused there."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from gateway_bedrock.testing import (
    MODEL_ID,
    REGION,
    BedrockReply,
    FakeBedrock,
    bedrock_config,
    converse_response,
    text_stream,
)

from gateway.testing import LogCollector

MASTER = "sk-master"
BODY = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": 16}}


@pytest.fixture
def collector() -> LogCollector:
    return LogCollector()


@pytest.fixture
def gw(bedrock: FakeBedrock, gateway_factory: Any, collector: LogCollector) -> Any:
    import gateway_bedrock

    return gateway_factory(bedrock_config(bedrock), plugins=[gateway_bedrock, collector], load_entrypoints=False)


def test_converse_is_forwarded_signed_with_the_deployments_credentials(gw: Any, bedrock: FakeBedrock) -> None:
    bedrock.enqueue(
        BedrockReply(json=converse_response({"text": "Hello."}, usage={"inputTokens": 5, "outputTokens": 2}))
    )
    answer = httpx.post(
        f"{gw.url}/bedrock/model/{quote(MODEL_ID, safe='')}/converse",
        content=orjson.dumps(BODY),
        headers={"Authorization": f"Bearer {MASTER}", "content-type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["message"]["content"] == [{"text": "Hello."}]
    received = bedrock.requests[-1]
    assert received.region == REGION and received.body == BODY
    assert MASTER not in str(received.headers)


def test_an_aws_sdk_client_with_the_gateway_key_in_a_header(gw: Any, bedrock: FakeBedrock) -> None:
    """botocore's bedrock-runtime client pointed at the gateway signs with credentials of its own
    (not forwarded) and carries the gateway key in ``x-litellm-api-key``."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=gw.url + "/bedrock",
        aws_access_key_id="AKIDCLIENTOWN",
        aws_secret_access_key="client-secret",
    )

    def add_key(request: Any, **_: Any) -> None:
        request.headers["x-litellm-api-key"] = MASTER

    client.meta.events.register("before-sign.bedrock-runtime.*", add_key)
    bedrock.enqueue(BedrockReply(json=converse_response({"text": "Via botocore."})))
    reply = client.converse(modelId=MODEL_ID, messages=BODY["messages"])
    assert reply["output"]["message"]["content"] == [{"text": "Via botocore."}]
    assert "AKIDCLIENTOWN" not in str(bedrock.requests[-1].headers)


def test_without_a_gateway_key_nothing_is_forwarded(gw: Any, bedrock: FakeBedrock) -> None:
    before = bedrock.hits
    answer = httpx.post(f"{gw.url}/bedrock/model/{quote(MODEL_ID, safe='')}/converse", json=BODY, timeout=10)
    assert answer.status_code == 401
    assert bedrock.hits == before


def test_a_converse_stream_passes_unchanged_and_its_usage_is_read(
    gw: Any, bedrock: FakeBedrock, collector: LogCollector
) -> None:
    """The event-stream bytes reach the client as Bedrock sent them, split across network reads;
    the usage of its metadata event is the request's (what budgets and the ledger price)."""
    events = text_stream("Hel", "lo.", usage={"inputTokens": 21, "outputTokens": 6, "totalTokens": 27})
    bedrock.enqueue(BedrockReply(events=events, piece_size=7))
    with httpx.stream(
        "POST",
        f"{gw.url}/bedrock/model/{quote(MODEL_ID, safe='')}/converse-stream",
        json=BODY,
        headers={"Authorization": f"Bearer {MASTER}"},
        timeout=10,
    ) as answer:
        assert answer.status_code == 200
        received = answer.read()
    assert received == b"".join(events)
    logged = collector.assert_logged(request_id=answer.headers["x-litellm-call-id"])
    assert logged["usage"]["prompt_tokens"] == 21 and logged["usage"]["completion_tokens"] == 6
