"""Several models in one chat request, as LiteLLM's proxy documents it ("Batch Completions - pass
model as list": ``"model": "gpt-4o,gpt-4o-mini"`` answers with the list of each model's answer).

Each model is a request of its own here: the key's model list, its budget and the spend ledger see
one request per model.  Keys and the ledger are real (gateway-virtual-keys and gateway-spend on
SQLite); the models are gateway-mock deployments with prices.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import fake_openai

MASTER = "sk-batch-master"
INPUT, OUTPUT = Decimal("0.000002"), Decimal("0.00001")
MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def served(tmp_path: Path, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "mock,virtual_keys,spend")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    prices = {"input_cost_per_token": float(INPUT), "output_cost_per_token": float(OUTPUT)}
    config = {
        "model_list": [
            {"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o", "mock_response": "from 4o", **prices}},
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {"model": "mock/gpt-4o-mini", "mock_response": "from mini", **prices},
            },
            {
                "model_name": "slow",
                "litellm_params": {
                    "model": "mock/slow",
                    "mock_response": "from slow",
                    "mock_latency_ms": 20000,
                    **prices,
                },
                "model_info": {"id": "slow-one"},
            },
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"},
        "plugins": {"spend": {"wal_dir": str(tmp_path / "wal"), "ship_interval_seconds": 0.1}},
    }
    return gateway_factory(config)


def chat(gw: Any, key: str, **body: Any) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/chat/completions",
        json={"messages": MESSAGES, **body},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_a_comma_separated_model_answers_with_each_models_answer_in_order(served: Any) -> None:
    reply = chat(served, MASTER, model="gpt-4o-mini,gpt-4o")
    assert reply.status_code == 200, reply.text
    answers = reply.json()
    assert isinstance(answers, list) and len(answers) == 2
    assert [a["object"] for a in answers] == ["chat.completion", "chat.completion"]
    assert [a["choices"][0]["message"]["content"] for a in answers] == ["from mini", "from 4o"]
    # one name is one model, as before
    single = chat(served, MASTER, model="gpt-4o")
    assert single.json()["choices"][0]["message"]["content"] == "from 4o"


def test_each_model_of_a_batch_is_a_request_of_its_own(served: Any) -> None:
    created = httpx.post(
        served.url + "/key/generate",
        json={"models": ["gpt-4o"], "max_budget": 1},
        headers={"authorization": f"Bearer {MASTER}"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    key = created.json()["key"]

    reply = chat(served, key, model="gpt-4o,gpt-4o-mini")
    assert reply.status_code == 200, reply.text
    allowed, refused = reply.json()
    assert allowed["choices"][0]["message"]["content"] == "from 4o"
    # the model the key may not use is refused in its place, as a call to it alone would be
    assert refused["error"]["type"] == "key_model_access_denied"
    assert refused["error"]["param"] == "model"

    # the ledger charged the one call that was made, to the key
    cost = fake_openai.prompt_tokens(MESSAGES) * INPUT + fake_openai.count_tokens("from 4o") * OUTPUT
    deadline = time.monotonic() + 10
    while True:
        info = httpx.get(
            served.url + "/key/info", params={"key": key}, headers={"authorization": f"Bearer {MASTER}"}, timeout=10
        ).json()["info"]
        if Decimal(str(info["spend"])) == cost or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert Decimal(str(info["spend"])) == cost

    # every model refused: the first refusal is the answer
    denied = chat(served, key, model="gpt-4o-mini,gpt-4o-mini")
    assert denied.status_code == 401, denied.text
    assert denied.json()["error"]["type"] == "key_model_access_denied"


def test_a_batch_cannot_be_streamed_or_name_an_empty_model(served: Any) -> None:
    streamed = chat(served, MASTER, model="gpt-4o,gpt-4o-mini", stream=True)
    assert streamed.status_code == 400, streamed.text
    assert streamed.json()["error"]["param"] == "stream"
    empty = chat(served, MASTER, model="gpt-4o,")
    assert empty.status_code == 400, empty.text
    assert empty.json()["error"]["param"] == "model"


def test_fastest_response_answers_with_the_first_model_to_succeed(served: Any) -> None:
    """LiteLLM's ``fastest_response``: the first answer in OpenAI's format; the other calls are cancelled."""
    reply = chat(served, MASTER, model="slow, gpt-4o", fastest_response=True)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == "from 4o"
    assert reply.headers["x-litellm-model-group"] == "gpt-4o"

    refused = chat(served, MASTER, model="slow,gpt-4o", fastest_response="yes")
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "fastest_response"
    streamed = chat(served, MASTER, model="slow,gpt-4o", fastest_response=True, stream=True)
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "stream"
