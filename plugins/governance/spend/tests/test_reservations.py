"""Reservations cover every way a request multiplies its cost, and settlement charges what it really cost.

The upstream is a local OpenAI-compatible server (``FakeUpstream``) that really answers ``n``
choices and reports usage for all of them, or more output tokens than ``max_tokens`` allowed,
as some OpenAI-compatible servers do.  Prices are exact per-token overrides: prompt "hi" = 4
tokens at $0.000001, each output token $0.000002.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import gateway_openai
import gateway_spend
import httpx
import pytest
from spend_helpers import MASTER, REDIS_URL, key
from spend_testauth import KeySpec, TestAuth
from test_two_processes import ledger_rows, reservations_left

from gateway import fake_openai, tokens
from gateway.testing import FakeUpstream, RecordedRequest, Reply

HI = [{"role": "user", "content": "hi"}]
PROMPT = Decimal("0.000004")  # 4 prompt tokens, as the fake upstream counts (and bills) them
#: the prompt a reservation estimates before the call: "hi" by the shipped tokenizer, with the chat framing
ESTIMATED_PROMPT = (1 + tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING) * Decimal("0.000001")
PER_OUTPUT_TOKEN = Decimal("0.000002")
CHOICE_TOKENS = 7


def answer_every_choice(request: RecordedRequest, completion_tokens_per_choice: int = CHOICE_TOKENS) -> Reply:
    """n choices, and usage for all of them (what OpenAI bills)."""
    body = request.json
    n = int(body.get("n") or 1)
    prompt = fake_openai.prompt_tokens(body["messages"])
    data = fake_openai.chat_completion(body["model"], "seven tokens of reply text here.", prompt=prompt)
    data["choices"] = [{**data["choices"][0], "index": i} for i in range(n)]
    completion = completion_tokens_per_choice * n
    data["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return Reply(json=data)


def model(upstream: FakeUpstream) -> dict[str, Any]:
    return {
        "model_name": "m",
        "litellm_params": {
            "model": "openai/gpt-x",
            "api_base": upstream.base_url,
            "api_key": "sk-upstream",
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
        },
    }


@pytest.fixture
def upstream() -> Any:
    server = FakeUpstream().start()
    server.default = answer_every_choice
    try:
        yield server
    finally:
        server.stop()


async def fire(targets: list[tuple[str, str]], **body: Any) -> list[tuple[int, str, dict[str, str]]]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=400), timeout=60) as client:

        async def one(url: str, api_key: str) -> tuple[int, str, dict[str, str]]:
            response = await client.post(
                url + "/v1/chat/completions",
                json={"model": "m", "messages": HI, **body},
                headers={"Authorization": f"Bearer {api_key}"},
            )
            message = "" if response.status_code == 200 else response.json()["error"]["message"]
            return response.status_code, message, dict(response.headers)

        return await asyncio.gather(*(one(url, api_key) for url, api_key in targets))


def test_n_choices_are_reserved_so_200_concurrent_requests_at_n_8_never_pass_the_budget(
    upstream: FakeUpstream, pg_url: str, redis_prefix: str, gateway_processes: Any
) -> None:
    single = PROMPT + CHOICE_TOKENS * PER_OUTPUT_TOKEN  # one choice: $0.000018
    eight = PROMPT + 8 * CHOICE_TOKENS * PER_OUTPUT_TOKEN  # eight choices, one prompt: $0.000116
    reserved = ESTIMATED_PROMPT + 8 * CHOICE_TOKENS * PER_OUTPUT_TOKEN  # what each reserves first: $0.000119
    k = 20
    budget = single * k  # enough for 20 single-choice requests, 3 requests of eight choices
    key_hash = f"hash-n-{redis_prefix}"
    keys = {"sk-n": key(key_hash, {"scope": "key", "id": key_hash, "max_budget": str(budget), "alias": "n8"})}
    cfg = {
        "model_list": [model(upstream)],
        "general_settings": {"master_key": MASTER, "database_url": pg_url},
        "plugins": {
            "spend": {"redis_url": REDIS_URL, "redis_prefix": redis_prefix, "ship_interval_seconds": 0.2},
            "spend_testauth": {"keys": keys},
        },
    }
    first, second = gateway_processes(cfg, env={"GATEWAY_LOAD_PLUGINS": "openai,spend,spend_testauth"}, count=2)

    results = asyncio.run(
        fire([((first, second)[i % 2].url, "sk-n") for i in range(200)], n=8, max_tokens=CHOICE_TOKENS)
    )

    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] != 200]
    assert len(ok) == int(budget // reserved) == 3
    assert all(r[2]["x-litellm-response-cost"] == str(eight) for r in ok)
    assert {r[0] for r in refused} == {422}
    assert all(f"this request could cost up to ${reserved}" in r[1] for r in refused)
    assert len(upstream.requests) == 3  # refused requests never reached the upstream
    rows = ledger_rows(first, 200, api_key=key_hash)
    spent = sum(Decimal(r["spend_exact"]) for r in rows)
    assert spent == eight * 3 <= budget
    assert reservations_left(redis_prefix) == (0, 0)


@pytest.fixture
def start(gateway_factory: Any, tmp_path: Path) -> Any:
    def start(upstream: FakeUpstream, keys: dict[str, dict[str, Any]], *, database_url: str, redis_prefix: str) -> Any:
        config = {
            "model_list": [model(upstream)],
            "general_settings": {"master_key": MASTER, "database_url": database_url},
            "plugins": {"spend": {"redis_url": REDIS_URL, "redis_prefix": redis_prefix, "ship_interval_seconds": 0.05}},
        }
        auth = TestAuth({k: KeySpec.model_validate(v) for k, v in keys.items()})
        return gateway_factory(
            config, plugins=[("openai", gateway_openai), ("spend", gateway_spend), auth], load_entrypoints=False
        )

    return start


def post(gw: Any, api_key: str, path: str = "/chat/completions", **body: Any) -> httpx.Response:
    prompt = {"messages": HI} if path == "/chat/completions" else {"prompt": "hi"}
    return httpx.post(
        gw.base_url + path,
        json={"model": "m", **prompt, **body},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )


def test_an_upstream_that_exceeds_max_tokens_is_charged_its_real_cost_and_the_next_admission_sees_it(
    upstream: FakeUpstream, start: Any, fresh_pg: str, redis_prefix: str
) -> None:
    upstream.default = lambda request: answer_every_choice(request, completion_tokens_per_choice=200)
    budget = Decimal("0.0002")  # ten reservations of max_tokens 7 would fit
    gw = start(
        upstream,
        {"sk-a": key("hash-over", {"scope": "key", "id": "hash-over", "max_budget": str(budget), "alias": "over"})},
        database_url=fresh_pg,
        redis_prefix=redis_prefix,
    )

    first = post(gw, "sk-a", max_tokens=CHOICE_TOKENS)
    real = PROMPT + 200 * PER_OUTPUT_TOKEN  # $0.000404, though $0.000018 was reserved
    assert first.status_code == 200 and first.headers["x-litellm-response-cost"] == str(real)

    second = post(gw, "sk-a", max_tokens=CHOICE_TOKENS)
    assert second.status_code == 422
    assert second.json()["error"]["message"].startswith(
        f"Budget has been exceeded for key 'over': spent ${real} of max budget ${budget}"
    )
    assert len(upstream.requests) == 1
    [row] = [
        r
        for r in httpx.get(gw.url + "/spend/logs", headers={"Authorization": f"Bearer {MASTER}"}).json()
        if r["status"] == "success"
    ]
    assert row["spend_exact"] == str(real) and row["completion_tokens"] == 200


@pytest.mark.parametrize(
    ("path", "body", "choices"),
    [
        ("/chat/completions", {"n": 3}, 3),
        # best_of candidates are generated and billed, n of them returned
        ("/completions", {"n": 2, "best_of": 5}, 5),
    ],
)
def test_the_reservation_names_the_maximum_over_every_generated_choice(
    upstream: FakeUpstream, start: Any, fresh_pg: str, redis_prefix: str, path: str, body: dict[str, Any], choices: int
) -> None:
    gw = start(
        upstream,
        {"sk-a": key("hash-tiny", {"scope": "key", "id": "hash-tiny", "max_budget": "0.00001"})},
        database_url=fresh_pg,
        redis_prefix=redis_prefix,
    )
    refused = post(gw, "sk-a", path, max_tokens=10, **body)
    assert refused.status_code == 422
    # the prompt as the shipped tokenizer counts it (gateway.tokens), with the chat framing
    framing = tokens.TOKENS_PER_MESSAGE * len(HI) + tokens.REPLY_PRIMING if path == "/chat/completions" else 0
    prompt_tokens = tokens.count_text("hi") + framing
    most = prompt_tokens * Decimal("0.000001") + 10 * choices * PER_OUTPUT_TOKEN  # the prompt once
    assert f"this request could cost up to ${most}." in refused.json()["error"]["message"]
    assert upstream.requests == []
