"""``POST /v1/messages/count_tokens`` with the official ``anthropic`` SDK (``messages.count_tokens``).

An ``anthropic/`` model: forwarded to the upstream's own count (the validating fake server
answers as https://docs.anthropic.com/en/api/messages-count-tokens documents).  Any other model:
counted by the gateway with the tokenizer core ships.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from gateway_anthropic.testing import FakeAnthropic, count_request_tokens, error_reply

from gateway import Principal, hookimpl, tokens
from gateway.testing import FakeUpstream

MASTER = "sk-test-master"
ONLY_GPT = "sk-only-gpt"
MESSAGES = [{"role": "user", "content": "What is the weather in Paris today?"}]
TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


class OnlyGpt:
    """A key that may use ``gpt`` only, as gateway-virtual-keys restricts one."""

    gateway_plugin_name = "only_gpt"

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        if api_key == ONLY_GPT:
            return Principal(id="k-gpt", kind="virtual_key", models=frozenset({"gpt"}))
        return None


@pytest.fixture
def gw(start: Any, make_config: Any, anthropic_server: FakeAnthropic, fake_upstream: FakeUpstream) -> Any:
    return start(make_config(anthropic_server, fake_upstream), plugins=[OnlyGpt()])


def client(gw: Any, key: str = MASTER) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)


def test_an_anthropic_model_is_counted_by_its_upstream(gw: Any, anthropic_server: FakeAnthropic) -> None:
    counted = client(gw).messages.count_tokens(
        model="claude",
        system="Be brief.",
        messages=MESSAGES,
        tools=[TOOL],
        extra_headers={"anthropic-beta": "token-counting-2024-11-01"},
    )
    sent = anthropic_server.requests[-1]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.json["model"] == "claude-sonnet-4-5"  # the deployment's model, with its credentials
    assert sent.headers["x-api-key"] == "sk-ant-test" and "anthropic-version" in sent.headers
    assert sent.headers["anthropic-beta"] == "token-counting-2024-11-01"  # the client's beta passes, as on messages
    assert counted.input_tokens == count_request_tokens(sent.json)
    assert anthropic_server.rejections == []


def test_another_model_is_counted_locally_with_the_shipped_tokenizer(
    gw: Any, anthropic_server: FakeAnthropic, fake_upstream: FakeUpstream
) -> None:
    short = client(gw).messages.count_tokens(model="gpt", messages=MESSAGES)
    assert short.input_tokens == tokens.count_text(MESSAGES[0]["content"]) + tokens.TOKENS_PER_MESSAGE + 3
    longer = client(gw).messages.count_tokens(model="gpt", system="Be brief.", messages=MESSAGES, tools=[TOOL])
    assert longer.input_tokens > short.input_tokens + tokens.count_text("Be brief.")
    assert fake_upstream.requests == [] and anthropic_server.requests == []  # nothing called a model


def test_a_huge_prompt_is_counted_exactly(gw: Any) -> None:
    text = "All work and no play makes Jack a dull boy. " * 4_000  # 176 kB: counted in a thread
    counted = client(gw).messages.count_tokens(model="gpt", messages=[{"role": "user", "content": text}])
    assert counted.input_tokens == tokens.count_text(text) + tokens.TOKENS_PER_MESSAGE + 3


def test_a_key_counts_only_models_it_may_use(gw: Any) -> None:
    assert client(gw, ONLY_GPT).messages.count_tokens(model="gpt", messages=MESSAGES).input_tokens > 0
    with pytest.raises(anthropic.AuthenticationError) as denied:
        client(gw, ONLY_GPT).messages.count_tokens(model="claude", messages=MESSAGES)
    # the refusal /v1/messages gives this key for this model, in Anthropic's envelope
    on_messages = httpx.post(
        gw.url + "/v1/messages",
        headers={"x-api-key": ONLY_GPT},
        json={"model": "claude", "max_tokens": 5, "messages": MESSAGES},
    )
    assert denied.value.status_code == on_messages.status_code == 401
    assert denied.value.body["error"]["message"] == on_messages.json()["error"]["message"]
    with pytest.raises(anthropic.AuthenticationError):
        client(gw, "sk-wrong").messages.count_tokens(model="gpt", messages=MESSAGES)


def test_bad_input_is_an_anthropic_error_naming_the_field(gw: Any) -> None:
    with pytest.raises(anthropic.NotFoundError) as unknown:
        client(gw).messages.count_tokens(model="nope", messages=MESSAGES)
    assert unknown.value.body["type"] == "error" and "nope" in unknown.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as no_messages:
        client(gw).messages.count_tokens(model="gpt", messages=[])
    assert "messages" in no_messages.value.body["error"]["message"]
    missing = httpx.post(gw.url + "/v1/messages/count_tokens", headers={"x-api-key": MASTER}, json={"messages": []})
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"
    assert "model" in missing.json()["error"]["message"]
    not_json = httpx.post(gw.url + "/v1/messages/count_tokens", headers={"x-api-key": MASTER}, content=b"{")
    assert not_json.status_code == 400 and not_json.json()["type"] == "error"


def test_generation_settings_and_gateway_fields_are_accepted_and_not_forwarded(
    gw: Any, anthropic_server: FakeAnthropic
) -> None:
    """A client that sends its whole Messages body (max_tokens, temperature ...) gets a count; the
    upstream, which refuses those fields on a count, never sees them."""
    answer = httpx.post(
        gw.url + "/v1/messages/count_tokens",
        headers={"x-api-key": MASTER},
        json={
            "model": "claude",
            "max_tokens": 100,
            "temperature": 0.5,
            "stream": True,
            "messages": MESSAGES,
            "fallbacks": ["gpt"],
            "tags": ["agent"],
        },
    )
    assert answer.status_code == 200, answer.text
    assert set(anthropic_server.requests[-1].json) == {"model", "messages"}  # nor the gateway's own fields


def test_an_upstream_failure_is_an_anthropic_error(gw: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(error_reply(429, "rate_limit_error", "slow down"))
    with pytest.raises(anthropic.RateLimitError) as limited:
        client(gw).messages.count_tokens(model="claude", messages=MESSAGES)
    assert "slow down" in limited.value.body["error"]["message"]
