"""Usage the client asked for is always there (issue 24, item 2).

Local servers (llama.cpp's among them) ignore ``stream_options.include_usage`` and may answer
without ``usage``.  The gateway then counts the prompt and the answer with the tokenizer it ships
(``gateway.tokens``) and hands that usage to the client (a last usage chunk, Anthropic's
``message_delta.usage``, the answer's ``usage``); the log event and the ledger mark it estimated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic
import gateway_anthropic
import gateway_openai
import gateway_spend
import httpx
import pytest

from gateway import fake_openai, tokens
from gateway.chat import decode_openai_chat
from gateway.testing import FakeUpstream, LogCollector, RecordedRequest, Reply

MASTER = "sk-master"
CONTENT = "Counted by the gateway, since the server reports nothing."
HI = [{"role": "user", "content": "Hi, who are you?"}]


def no_usage(request: RecordedRequest) -> Reply:
    """A server that never reports usage, whatever it is asked."""
    body = request.json
    if body.get("stream"):
        return Reply(stream=list(fake_openai.chat_chunks(body["model"], CONTENT, prompt=0, with_usage=False)))
    answer = fake_openai.chat_completion(body["model"], CONTENT, prompt=0)
    del answer["usage"]
    return Reply(json=answer)


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> FakeUpstream:
    fake_upstream.default = no_usage
    return fake_upstream


@pytest.fixture
def logs() -> LogCollector:
    return LogCollector()


@pytest.fixture
def gw(gateway_factory: Any, upstream: FakeUpstream, logs: LogCollector, tmp_path: Any) -> Any:
    config = {
        "model_list": [
            {
                "model_name": "local",
                "litellm_params": {
                    "model": "openai/smollm2",
                    "api_base": upstream.base_url,
                    "input_cost_per_token": 0.000001,
                    "output_cost_per_token": 0.000002,
                },
            }
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "plugins": {"spend": {"ship_interval_seconds": 0.05}},
    }
    plugins = [("openai", gateway_openai), ("anthropic", gateway_anthropic), ("spend", gateway_spend), logs]
    return gateway_factory(config, plugins=plugins, load_entrypoints=False)


def expected(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """(prompt, completion) tokens as the shipped tokenizer counts them."""
    prompt = tokens.count_request(decode_openai_chat({"model": "local", "messages": messages}))
    return prompt, tokens.count_text(CONTENT)


def ledger(gw: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        gw.url + "/spend/logs/v2", params={"page_size": 100}, headers={"Authorization": f"Bearer {MASTER}"}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_a_stream_with_include_usage_ends_with_counted_usage(gw: Any, upstream: FakeUpstream, logs: Any) -> None:
    stream = gw.openai().chat.completions.create(
        model="local", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == CONTENT
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    prompt, completion = expected(HI)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (prompt, completion)
    assert last.usage.total_tokens == prompt + completion and last.id == chunks[0].id
    event = logs.assert_logged(status=200)
    assert event["usage"]["estimated"] is True and event["usage"]["completion_tokens"] == completion
    row = ledger(gw)[0]
    assert row["usage_estimated"] is True and (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
    assert Decimal(row["spend_exact"]) == prompt * Decimal("0.000001") + completion * Decimal("0.000002")


def test_a_stream_without_include_usage_gets_none_but_the_ledger_counts(gw: Any, logs: Any) -> None:
    chunks = list(gw.openai().chat.completions.create(model="local", messages=HI, stream=True))
    assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks)
    event = logs.assert_logged(status=200)
    assert event["usage"]["estimated"] is True and event["usage"]["completion_tokens"] == expected(HI)[1]


def test_an_answer_without_usage_gets_counted_usage(gw: Any, logs: Any) -> None:
    answer = gw.openai().chat.completions.create(model="local", messages=HI)
    prompt, completion = expected(HI)
    assert answer.choices[0].message.content == CONTENT
    assert answer.usage is not None and (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (
        prompt,
        completion,
    )
    assert logs.assert_logged(status=200)["usage"]["estimated"] is True
    assert ledger(gw)[0]["usage_estimated"] is True


def test_anthropic_clients_get_usage_streaming_and_not(gw: Any) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    prompt, completion = expected(HI)
    reply = client.messages.create(model="local", max_tokens=50, messages=HI)
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (prompt, completion)
    with client.messages.stream(model="local", max_tokens=50, messages=HI) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(deltas) == 1 and deltas[0].usage.output_tokens == completion
    assert (final.usage.input_tokens, final.usage.output_tokens) == (prompt, completion)


def test_usage_the_server_reports_is_kept(gw: Any, upstream: FakeUpstream, logs: Any) -> None:
    upstream.enqueue(Reply(stream=list(fake_openai.chat_chunks("smollm2", CONTENT, prompt=11, with_usage=True))))
    stream = gw.openai().chat.completions.create(
        model="local", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    usages = [c.usage for c in stream if c.usage is not None]
    assert len(usages) == 1 and usages[0].prompt_tokens == 11
    assert logs.assert_logged(status=200)["usage"]["estimated"] is False
