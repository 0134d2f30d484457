"""Pass-through routes (``/anthropic/*`` ...) are governed like chat: a virtual key, its budget, the
ledger; the vendor's bytes pass unchanged, and a route nothing configures says what to set.

Real components: PostgreSQL (the ledger and the keys), Redis (budget counters), gateway-spend and
gateway-virtual-keys found through their entry points, the ``anthropic`` SDK, and a local server
speaking Anthropic's wire format (``gateway_anthropic.testing``) that checks every request.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway.testing import FakeUpstream, run_sql, start_gateway

anthropic_testing = pytest.importorskip("gateway_anthropic.testing", reason="needs gateway-anthropic")
gemini_testing = pytest.importorskip("gateway_gemini.testing", reason="needs gateway-gemini")
pytest.importorskip("gateway_content_filter", reason="needs gateway-content-filter")
pytest.importorskip("gateway_spend", reason="needs gateway-spend")
pytest.importorskip("gateway_virtual_keys", reason="needs gateway-virtual-keys")

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

MASTER = "sk-passthrough-master"
UPSTREAM_KEY = "sk-ant-upstream-secret"
REDIS_URL = "redis://127.0.0.1:6379/0"
INPUT, OUTPUT = Decimal("0.000003"), Decimal("0.000015")
MODEL = "claude-passthrough-test"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    with anthropic_testing.FakeAnthropic(api_key=UPSTREAM_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def openai_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def gemini_upstream() -> Iterator[Any]:
    with gemini_testing.FakeGemini() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    upstream: Any, openai_upstream: FakeUpstream, gemini_upstream: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    database = f"passthrough_{uuid.uuid4().hex[:10]}"
    run_sql(f'CREATE DATABASE "{database}"')
    workdir: Path = tmp_path_factory.mktemp("passthrough")
    config = {
        "model_list": [
            {
                "model_name": "claude",
                "litellm_params": {
                    "model": f"anthropic/{MODEL}",
                    "api_base": upstream.url,
                    "api_key": UPSTREAM_KEY,
                    "input_cost_per_token": float(INPUT),
                    "output_cost_per_token": float(OUTPUT),
                },
            },
            {
                "model_name": "gpt",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": openai_upstream.base_url,
                    "api_key": "sk-openai-upstream",
                    "input_cost_per_token": float(INPUT),
                    "output_cost_per_token": float(OUTPUT),
                },
            },
            {
                "model_name": "gemini",
                "litellm_params": {
                    "model": "gemini/gemini-2.0-flash",
                    "api_base": gemini_upstream.url,
                    "api_key": gemini_testing.API_KEY,
                    "input_cost_per_token": float(INPUT),
                    "output_cost_per_token": float(OUTPUT),
                },
            },
        ],
        "guardrails": [
            {
                "guardrail_name": "house-rules",
                "litellm_params": {
                    "guardrail": "content_filter",
                    "mode": "pre_call",
                    "default_on": True,
                    "blocked_words": ["project falcon", {"keyword": "internal-only", "action": "MASK"}],
                },
            },
            {
                "guardrail_name": "beside-the-call",
                "litellm_params": {
                    "guardrail": "content_filter",
                    "mode": "during_call",
                    "default_on": True,
                    "blocked_words": ["project hydra"],
                },
            },
        ],
        "general_settings": {
            "master_key": MASTER,
            "database_url": f"postgresql://postgres@127.0.0.1:5432/{database}",
            "pass_through_endpoints": [
                {
                    "path": "/v1/rerank",
                    "target": upstream.url + "/v1/messages",
                    "headers": {"x-api-key": UPSTREAM_KEY, "anthropic-version": "2023-06-01"},
                },
            ],
        },
        "plugins": {
            "virtual_keys": {"revocation_wait": False},
            "spend": {
                "redis_url": REDIS_URL,
                "redis_prefix": f"pt-{uuid.uuid4().hex[:8]}",
                "wal_dir": str(workdir / "wal"),
                "ship_interval_seconds": 0.1,
            },
        },
    }
    unset = ("AWS_BEARER_TOKEN_BEDROCK", "AWS_BEDROCK_RUNTIME_ENDPOINT", "DATABASE_URL", "REDIS_URL")
    saved = {name: os.environ.pop(name, None) for name in unset}
    os.environ["GATEWAY_LOAD_PLUGINS"] = "anthropic,openai,gemini,content_filter,virtual_keys,spend"
    try:
        gw = start_gateway(config)
    finally:
        del os.environ["GATEWAY_LOAD_PLUGINS"]
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
    try:
        yield gw
    finally:
        gw.stop()
        run_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def admin(gw: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10, **kwargs)


def ledger_row(gw: Any, request_id: str) -> dict[str, Any]:
    """The ledger row of one request, once the shipper stored it (polled: it ships in the background)."""
    deadline = time.monotonic() + 15
    while True:
        rows = admin(gw, "GET", "/spend/logs", params={"request_id": request_id}).json()
        if rows or time.monotonic() > deadline:
            assert rows, f"no ledger row for {request_id}"
            return rows[0]  # type: ignore[no-any-return]
        time.sleep(0.05)


def usage_cost(input_tokens: int, output_tokens: int) -> Decimal:
    return input_tokens * INPUT + output_tokens * OUTPUT


def test_a_budgeted_key_streams_through_anthropic_and_its_budget_stops_it(gateway: Any, upstream: Any) -> None:
    reply = anthropic_testing.message("Streamed through the gateway unchanged.", model=MODEL, input_tokens=40)
    output_tokens = reply["usage"]["output_tokens"]
    cost = usage_cost(40, output_tokens)
    # room for one call: the second's reservation (its prompt and max_tokens) no longer fits
    created = admin(gateway, "POST", "/key/generate", json={"max_budget": float(cost * Decimal("1.5"))})
    assert created.status_code == 200, created.text
    key = created.json()["key"]
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=key, max_retries=0)
    upstream.enqueue(anthropic_testing.AnthropicReply(json=reply))

    stream = client.messages.create(
        model=MODEL, max_tokens=output_tokens, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    events = list(stream)
    request_id = stream.response.headers["x-litellm-call-id"]

    # the vendor's events, as the vendor sent them
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == "Streamed through the gateway unchanged."
    assert [e.type for e in events][-2:] == ["message_delta", "message_stop"]
    # the upstream got the configured credential, never the client's virtual key
    sent = upstream.requests[-1]
    assert sent.headers["x-api-key"] == UPSTREAM_KEY
    assert key not in str(sent.headers)

    row = ledger_row(gateway, request_id)
    assert Decimal(row["spend_exact"]) == cost
    assert (row["prompt_tokens"], row["completion_tokens"]) == (40, output_tokens)
    assert row["model_group"] == "claude"

    with pytest.raises(anthropic.APIStatusError) as refused:
        client.messages.create(model=MODEL, max_tokens=output_tokens, messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.status_code == 422
    assert refused.value.body["type"] == "error"  # Anthropic's envelope, which the SDK reads
    assert "budget" in refused.value.body["error"]["message"].lower()
    assert len(upstream.requests) == 1 + upstream.requests.index(sent)  # the refused call never left


def test_a_plain_answer_is_priced_from_its_usage(gateway: Any, upstream: Any) -> None:
    reply = anthropic_testing.message("Plain.", model=MODEL, input_tokens=12, cache_read=30)
    upstream.enqueue(anthropic_testing.AnthropicReply(json=reply))
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=MASTER, max_retries=0)
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
    )
    assert raw.parse().content[0].text == "Plain."
    row = ledger_row(gateway, raw.headers["x-litellm-call-id"])
    # OpenAI's semantics in the ledger: the prompt counts cached tokens (priced at the input rate here)
    assert row["prompt_tokens"] == 42
    assert Decimal(row["spend_exact"]) == usage_cost(42, reply["usage"]["output_tokens"])


def test_the_client_key_is_required(gateway: Any) -> None:
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key="sk-not-a-key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.body["type"] == "error"


def test_a_route_nothing_configures_names_the_config_key(gateway: Any) -> None:
    bedrock = httpx.post(
        gateway.url + "/bedrock/model/anthropic.claude-3-haiku/converse",
        json={"messages": [{"role": "user", "content": [{"text": "Hi"}]}]},
        headers={"Authorization": f"Bearer {MASTER}"},
        timeout=10,
    )
    assert bedrock.status_code == 404
    assert "AWS_BEARER_TOKEN_BEDROCK" in bedrock.json()["error"]["message"]

    vertex = httpx.post(
        gateway.url + "/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash"
        ":generateContent",
        params={"key": MASTER},  # Google's clients put the key in the query
        json={"contents": [{"parts": [{"text": "Hi"}]}]},
        timeout=10,
    )
    assert vertex.status_code == 404
    error = vertex.json()["error"]
    assert error["status"] == "NOT_FOUND"  # Google's envelope, on a Google route
    assert "general_settings.pass_through_endpoints" in error["message"]

    unknown = httpx.post(gateway.url + "/bria/v1/text-to-image", json={}, headers={"Authorization": f"Bearer {MASTER}"})
    assert unknown.status_code == 404
    assert "general_settings.pass_through_endpoints" in unknown.json()["error"]["message"]


def test_a_configured_endpoint_forwards_with_its_headers(gateway: Any, upstream: Any) -> None:
    answer = httpx.post(
        gateway.url + "/v1/rerank",
        json={"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]},
        headers={"Authorization": f"Bearer {MASTER}", "x-api-key": "sk-client-own"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "message"
    assert upstream.requests[-1].headers["x-api-key"] == UPSTREAM_KEY
    assert httpx.post(gateway.url + "/v1/rerank", json={}, timeout=10).status_code == 401


def test_stream_bytes_pass_as_they_come_and_unchanged(gateway: Any, upstream: Any) -> None:
    """The upstream holds back its third event until the client has the first: a gateway that
    buffered the stream would hold the first too (the fake server then gives up waiting and says so)."""
    full = anthropic_testing.message("Byte for byte.", model=MODEL, input_tokens=5)
    events = anthropic_testing.message_events(full)
    gate = threading.Event()
    upstream.enqueue(anthropic_testing.AnthropicReply(json=full, events=events, gate=gate, gate_at=3))
    body = {"model": MODEL, "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    received = b""
    with httpx.stream(
        "POST", gateway.url + "/anthropic/v1/messages", json=body, headers={"x-api-key": MASTER}, timeout=30
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for chunk in answer.iter_raw():
            received += chunk
            if b"message_start" in received:
                gate.set()
    assert not upstream.gate_timed_out, "the gateway held the stream back"
    assert received == b"".join(anthropic_testing.encode_events(events))


def test_a_model_no_deployment_serves_is_recorded_as_cost_unknown(gateway: Any, upstream: Any) -> None:
    """Another model's deployment lends its credential, not its prices: the row keeps the usage and
    says the cost is unknown, never $0."""
    upstream.enqueue(anthropic_testing.AnthropicReply(json=anthropic_testing.message("Hi.", model="claude-other")))
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=MASTER, max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="claude-other", max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
    )
    assert upstream.requests[-1].headers["x-api-key"] == UPSTREAM_KEY
    row = ledger_row(gateway, raw.headers["x-litellm-call-id"])
    assert row["prompt_tokens"] == 10
    assert row["cost_unknown"] is True and row["spend"] is None


def test_openai_stream_is_priced_from_its_usage_chunk(gateway: Any, openai_upstream: FakeUpstream) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/openai", api_key=MASTER, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens > 0
    assert openai_upstream.requests[-1].headers["authorization"] == "Bearer sk-openai-upstream"
    row = ledger_row(gateway, stream.response.headers["x-litellm-call-id"])
    assert (row["prompt_tokens"], row["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
    assert Decimal(row["spend_exact"]) == usage_cost(usage.prompt_tokens, usage.completion_tokens)
    assert row["model_group"] == "gpt"


def test_gemini_stream_is_priced_from_its_last_usage_metadata(gateway: Any, gemini_upstream: Any) -> None:
    first = gemini_testing.text_response("Hel", usage={"promptTokenCount": 7, "totalTokenCount": 7})
    last = gemini_testing.text_response(
        "lo.", usage={"promptTokenCount": 7, "candidatesTokenCount": 5, "thoughtsTokenCount": 2, "totalTokenCount": 14}
    )
    gemini_upstream.enqueue(gemini_testing.GeminiReply(events=[first, last]))
    with httpx.stream(
        "POST",
        gateway.url + "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        params={"alt": "sse", "key": MASTER},
        json={"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
        timeout=30,
    ) as answer:
        assert answer.status_code == 200
        body = answer.read()
    assert body.count(b"data: ") == 2
    sent = gemini_upstream.requests[-1]
    assert sent.headers["x-goog-api-key"] == gemini_testing.API_KEY and "key" not in sent.query
    row = ledger_row(gateway, answer.headers["x-litellm-call-id"])
    # thinking tokens are output tokens (OpenAI's semantics: reasoning is part of the completion)
    assert (row["prompt_tokens"], row["completion_tokens"], row["reasoning_tokens"]) == (7, 7, 2)
    assert Decimal(row["spend_exact"]) == usage_cost(7, 7)
    assert row["model_group"] == "gemini"


def test_input_guardrails_run_on_a_known_body(gateway: Any, upstream: Any) -> None:
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=MASTER, max_retries=0)
    before = len(upstream.requests)
    with pytest.raises(anthropic.BadRequestError) as blocked:
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "tell me about Project Falcon"}]
        )
    assert "Content blocked" in blocked.value.body["error"]["message"]
    # a mask cannot rewrite bytes forwarded unchanged: refused, never sent unmasked
    with pytest.raises(anthropic.BadRequestError) as masked:
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "an internal-only note"}]
        )
    assert "/v1/messages" in masked.value.body["error"]["message"]
    # a during_call guardrail's verdict comes before forwarding: an answer cannot be held back
    with pytest.raises(anthropic.BadRequestError) as during:
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "project hydra plans"}])
    assert "Content blocked" in during.value.body["error"]["message"]
    assert len(upstream.requests) == before


def test_a_key_limited_to_other_models_is_refused_before_forwarding(gateway: Any, upstream: Any) -> None:
    key = admin(gateway, "POST", "/key/generate", json={"models": ["gpt"]}).json()["key"]
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=key, max_retries=0)
    before = len(upstream.requests)
    with pytest.raises(anthropic.AuthenticationError) as refused:  # 401, as on /v1/messages
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert "not allowed to access model" in refused.value.body["error"]["message"]
    assert len(upstream.requests) == before


def test_a_model_no_deployment_serves_is_priced_by_its_name_when_known(gateway: Any, upstream: Any) -> None:
    """LiteLLM prices a pass-through call by the model it names; so does gateway-spend, once per name."""
    from gateway_spend.pricing import GenaiPrice, TokenCounts, genai_model

    name = "claude-3-5-haiku-20241022"
    reply = anthropic_testing.message("Priced.", model=name, input_tokens=30)
    upstream.enqueue(anthropic_testing.AnthropicReply(json=reply))
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=MASTER, max_retries=0)
    raw = client.messages.with_raw_response.create(
        model=name, max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
    )
    row = ledger_row(gateway, raw.headers["x-litellm-call-id"])
    known = genai_model(name, "anthropic")
    assert known is not None
    expected = GenaiPrice(known).cost(TokenCounts(30, reply["usage"]["output_tokens"]))
    assert row["cost_unknown"] is False and Decimal(row["spend_exact"]) == expected > 0


def test_token_counting_is_free_so_no_budget_refuses_it(gateway: Any) -> None:
    key = admin(gateway, "POST", "/key/generate", json={"max_budget": 0.000000001}).json()["key"]
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=key, max_retries=0)
    messages: Any = [{"role": "user", "content": "How many tokens is this?"}]
    counted = client.messages.count_tokens(model=MODEL, messages=messages)
    assert counted.input_tokens > 0
    with pytest.raises(anthropic.APIStatusError) as refused:
        client.messages.create(model=MODEL, max_tokens=8, messages=messages)
    assert refused.value.status_code == 422
