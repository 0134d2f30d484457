"""The gateway in front of a real model: llama-cpp-python's server on SmolLM2-135M (issue 24, item 4).

The clients are the official SDKs; the answers are asserted on their form (non-empty text, usage
consistent with what was streamed, a finish reason), never on their content, which is the model's.
Every upstream call here runs the model on the CPU: prompts and ``max_tokens`` are small.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from gateway import tokens

MASTER = "sk-local-model-master"
MESSAGES = [{"role": "user", "content": "Name one colour."}]
#: per-token prices high enough that a few real calls exhaust a small budget
INPUT, OUTPUT = Decimal("0.0001"), Decimal("0.0002")
MAX_TOKENS = 12


@pytest.fixture
def gw(llama_server: str, gateway_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "openai,anthropic,responses,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    prices = {"input_cost_per_token": float(INPUT), "output_cost_per_token": float(OUTPUT)}
    config = {
        "model_list": [
            {
                "model_name": "smollm2",
                "litellm_params": {"model": "openai/smollm2", "api_base": llama_server, **prices},
            },
            {
                "model_name": "smollm2-embed",
                "litellm_params": {"model": "openai/smollm2-embed", "api_base": llama_server, **prices},
                "model_info": {"mode": "embedding"},
            },
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"},
        "router_settings": {"num_retries": 0},
        "plugins": {"spend": {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}},
    }
    return gateway_factory(config)


def admin(gw: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30, **kwargs)


def ledger(gw: Any, count: int) -> list[dict[str, Any]]:
    """The ledger's rows, once ``count`` of them were written (the spend plugin ships them in batches)."""
    deadline = time.monotonic() + 15
    while True:
        rows = admin(gw, "GET", "/spend/logs/v2", params={"page_size": 100}).json()["data"]
        if len(rows) >= count or time.monotonic() > deadline:
            return list(rows)
        time.sleep(0.1)


def test_openai_chat_and_the_ledger_agree_with_the_servers_usage(gw: Any) -> None:
    raw = gw.openai().chat.completions.with_raw_response.create(
        model="smollm2", messages=MESSAGES, max_tokens=MAX_TOKENS
    )
    answer = raw.parse()
    choice = answer.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    usage = answer.usage
    assert usage is not None and usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= MAX_TOKENS
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    cost = usage.prompt_tokens * INPUT + usage.completion_tokens * OUTPUT
    assert Decimal(raw.headers["x-litellm-response-cost"]) == cost
    (row,) = ledger(gw, 1)
    # the server counted with its own tokenizer: the ledger holds its figures, not an estimate
    assert (row["prompt_tokens"], row["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
    assert row["usage_estimated"] is False and Decimal(row["spend_exact"]) == cost


def test_openai_stream_ends_with_usage(gw: Any) -> None:
    stream = gw.openai().chat.completions.create(
        model="smollm2",
        messages=MESSAGES,
        max_tokens=MAX_TOKENS,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(pieces)
    assert text.strip()
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1] and chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens > 0
    (row,) = ledger(gw, 1)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
    if row["usage_estimated"]:  # the server sent none: the gateway counted what was streamed
        assert usage.completion_tokens == tokens.count_text(text)
    else:  # the server's own count: one streamed piece a token
        assert usage.completion_tokens >= len(pieces) and usage.completion_tokens <= MAX_TOKENS


def test_anthropic_sdk_through_messages(gw: Any) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    system = [{"type": "text", "text": "Answer in a few words.", "cache_control": {"type": "ephemeral"}}]
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "Name one colour."}]}]
    reply = client.messages.create(model="smollm2", max_tokens=MAX_TOKENS, system=system, messages=messages)
    assert reply.role == "assistant" and reply.content[0].type == "text" and reply.content[0].text.strip()
    assert reply.stop_reason in ("end_turn", "max_tokens")
    assert reply.usage.input_tokens > 0 and 0 < reply.usage.output_tokens <= MAX_TOKENS

    with client.messages.stream(model="smollm2", max_tokens=MAX_TOKENS, system=system, messages=messages) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.strip() and final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


def test_responses_api(gw: Any) -> None:
    response = gw.openai().responses.create(model="smollm2", input="Name one colour.", max_output_tokens=MAX_TOKENS)
    assert response.status in ("completed", "incomplete") and response.output_text.strip()
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0


def test_embeddings(gw: Any) -> None:
    result = gw.openai().embeddings.create(model="smollm2-embed", input=["a red apple", "a green field"])
    assert [item.index for item in result.data] == [0, 1]
    vectors: list[Any] = [item.embedding for item in result.data]
    # SmolLM2's GGUF declares no pooling, so llama-cpp-python answers one vector per token (a pooled model
    # answers one per input): either way, rows of floats of one width, passed on as the server sent them
    rows = [row for vector in vectors for row in (vector if isinstance(vector[0], list) else [vector])]
    assert rows and all(len(row) == len(rows[0]) > 0 and all(isinstance(x, float) for x in row) for row in rows)
    assert vectors[0] != vectors[1]
    assert result.usage.prompt_tokens > 0


def test_a_budget_that_real_token_counts_exhaust(gw: Any) -> None:
    # one call costs about 20 prompt tokens x 0.0001 + up to 12 completion tokens x 0.0002: a few cents
    budget = Decimal("0.01")
    created = admin(gw, "POST", "/key/generate", json={"max_budget": float(budget), "models": ["smollm2"]})
    assert created.status_code == 200, created.text
    client = openai.OpenAI(base_url=gw.base_url, api_key=created.json()["key"], max_retries=0)
    served = 0
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        for _ in range(20):
            client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=MAX_TOKENS)
            served += 1
    assert "budget" in refused.value.message.lower()
    assert served >= 1
    rows = sorted((r for r in ledger(gw, served) if r["status"] == "success"), key=lambda r: r["startTime"])
    assert len(rows) == served and not any(r["usage_estimated"] for r in rows)
    costs = [Decimal(r["spend_exact"]) for r in rows]
    # each row is priced from the server's own counts
    assert costs == [r["prompt_tokens"] * INPUT + r["completion_tokens"] * OUTPUT for r in rows]
    # every call was admitted while the key had budget left, and the refusal came once it had none for
    # another call's reservation.  The reservation counts the prompt with the gateway's tokenizer, and the
    # server's count is larger (its chat template adds a system prompt), so the last call may end past the
    # budget by that difference: the budget is exhausted by the real counts, not by the estimate
    assert sum(costs[:-1]) < budget and sum(costs) > budget - max(costs)
