"""Spend cannot be hidden from the ledger: reused request ids, values no column holds, Redis restarts.

A real gateway (in-process server, real sockets) with its ledger in PostgreSQL and its counters in
Redis; clients speak plain HTTP.  Prices are exact per-token overrides: prompt "hi" = 4 tokens at
$0.000001, the mock's reply = 7 tokens at $0.000002, so a call costs $0.000018.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import gateway_mock
import gateway_openai
import gateway_spend
import httpx
import pytest
from spend_helpers import MASTER, REDIS_URL, RedisServer, key, model_entry
from spend_testauth import KeySpec, TestAuth

from gateway import fake_openai
from gateway.testing import FakeUpstream, RecordedRequest, Reply

COST = Decimal("0.000018")
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def upstream() -> Any:
    server = FakeUpstream().start()
    try:
        yield server
    finally:
        server.stop()


def upstream_model(name: str, upstream: FakeUpstream) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": "openai/gpt-x",
            "api_base": upstream.base_url,
            "api_key": "sk-upstream",
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
        },
    }


@pytest.fixture
def start(gateway_factory: Any) -> Any:
    def start(
        keys: dict[str, dict[str, Any]],
        *,
        database_url: str,
        redis_url: str = REDIS_URL,
        redis_prefix: str,
        models: list[dict[str, Any]] | None = None,
        litellm: dict[str, Any] | None = None,
    ) -> Any:
        config = {
            "model_list": models or [model_entry("m")],
            "general_settings": {"master_key": MASTER, "database_url": database_url},
            "litellm_settings": litellm or {},
            "plugins": {
                "spend": {
                    "redis_url": redis_url,
                    "redis_prefix": redis_prefix,
                    "ship_interval_seconds": 0.05,
                    "redis_timeout_seconds": 5,
                }
            },
        }
        auth = TestAuth({k: KeySpec.model_validate(v) for k, v in keys.items()})
        return gateway_factory(
            config,
            plugins=[("mock", gateway_mock), ("openai", gateway_openai), ("spend", gateway_spend), auth],
            load_entrypoints=False,
        )

    return start


def chat(
    gw: Any, api_key: str, *, model: str = "m", headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": model, "messages": HI, "max_tokens": 7, **body},
        headers={"Authorization": f"Bearer {api_key}", **(headers or {})},
        timeout=30,
    )


def admin(gw: Any, path: str, **params: Any) -> Any:
    response = httpx.get(gw.url + path, params=params, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_reused_x_request_id_bills_every_call_one_row_each_whoever_sends_it(
    start: Any, fresh_pg: str, redis_prefix: str
) -> None:
    gw = start({"sk-a": key("hash-a"), "sk-b": key("hash-b")}, database_url=fresh_pg, redis_prefix=redis_prefix)
    reused = {"x-request-id": "my-trace-42"}
    answers = [chat(gw, "sk-a", headers=reused) for _ in range(5)] + [
        chat(gw, "sk-b", headers=reused) for _ in range(2)
    ]

    assert all(r.status_code == 200 and r.headers["x-request-id"] == "my-trace-42" for r in answers)  # echoed
    ours = [r.headers["x-litellm-call-id"] for r in answers]
    assert len(set(ours)) == 7 and "my-trace-42" not in ours
    rows = admin(gw, "/spend/logs", request_id="my-trace-42")  # the client's id finds every one of them
    assert sorted(r["request_id"] for r in rows) == sorted(ours)
    assert all(r["client_request_id"] == "my-trace-42" and r["spend_exact"] == str(COST) for r in rows)
    assert [r["request_id"] for r in admin(gw, "/spend/logs", request_id=ours[0])] == [ours[0]]  # and ours finds one
    assert sum(Decimal(r["spend_exact"]) for r in admin(gw, "/spend/logs", api_key="hash-a")) == COST * 5
    assert sum(Decimal(r["spend_exact"]) for r in admin(gw, "/spend/logs", api_key="hash-b")) == COST * 2


@pytest.mark.parametrize(
    ("body", "keyname", "param", "expected"),
    [
        (
            {"user": "u" * 256},
            "sk-a",
            "user",
            "user is 256 characters long; the spend ledger stores at most 255 characters",
        ),
        ({"user": "carol\x00"}, "sk-a", "user", "user contains a NUL character"),
        (
            {"metadata": {"tags": ["ok", "b\x00d"]}},
            "sk-a",
            "metadata.tags[1]",
            "metadata.tags[1] contains a NUL character",
        ),
        (
            {"metadata": {"deep": {"x\x00": 1}}},
            "sk-a",
            "metadata.deep",
            "a key of metadata.deep contains a NUL character",
        ),
        (
            {},
            "sk-long-alias",
            "key_alias",
            "this key's key_alias is 300 characters long; the spend ledger stores at most 255",
        ),
        ({}, "sk-nul-team", "team_id", "this key's team_id contains a NUL character"),
    ],
)
def test_a_request_whose_row_could_not_be_stored_is_refused_before_the_upstream_call(
    start: Any,
    upstream: FakeUpstream,
    fresh_pg: str,
    redis_prefix: str,
    body: dict[str, Any],
    keyname: str,
    param: str,
    expected: str,
) -> None:
    keys = {
        "sk-a": key("hash-a"),
        "sk-long-alias": key("hash-l", alias="x" * 300),
        "sk-nul-team": key("hash-n", team_id="team\x00one"),
    }
    gw = start(keys, database_url=fresh_pg, redis_prefix=redis_prefix, models=[upstream_model("m", upstream)])

    refused = chat(gw, keyname, **body)

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and expected in error["message"]
    assert upstream.requests == []
    # the refusal has a row of its own (storable: no dead letter), and the next good request goes through
    allowed = chat(gw, "sk-a", user="u" * 255)
    assert allowed.status_code == 200 and len(upstream.requests) == 1
    deadline = time.monotonic() + 10
    while len(rows := admin(gw, "/spend/logs")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted((r["status"], r["spend_exact"]) for r in rows) == [
        ("failure", "0"),
        ("success", allowed.headers["x-litellm-response-cost"]),
    ]
    assert admin(gw, "/spend/ledger/status")["ledger"]["dead_letters"] == 0


def three_billion_prompt_tokens(request: RecordedRequest) -> Reply:
    """An upstream whose usage no ledger column holds: the row is refused, the spend is real."""
    data = fake_openai.chat_completion("gpt-x", "This is a mock reply from m.", prompt=4)
    data["usage"] = {"prompt_tokens": 3_000_000_000, "completion_tokens": 7, "total_tokens": 3_000_000_007}
    return Reply(json=data)


def test_a_redis_restart_refills_no_budget_even_with_reused_request_ids_and_dead_lettered_spend(
    start: Any, upstream: FakeUpstream, fresh_pg: str, redis_prefix: str
) -> None:
    upstream.default = three_billion_prompt_tokens
    redis = RedisServer().start()
    try:
        keys = {
            "sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": str(COST * 5), "alias": "a"}),
            "sk-b": key("hash-b", {"scope": "team", "id": "t2", "max_budget": "1"}, team_id="t2"),
            "sk-c": key("hash-c", {"scope": "team", "id": "t2", "max_budget": "1"}, team_id="t2"),
            "sk-d": key("hash-d"),
        }
        gw = start(
            keys,
            database_url=fresh_pg,
            redis_url=redis.url,
            redis_prefix=redis_prefix,
            models=[model_entry("m"), upstream_model("big", upstream)],
            litellm={"max_end_user_budget": 1, "max_budget": 2000},
        )

        # five calls under one reused x-request-id spend the key's whole budget
        reused = {"x-request-id": "same-every-time"}
        assert [chat(gw, "sk-a", headers=reused).status_code for _ in range(5)] == [200] * 5
        # one call whose row the database refuses: $3000 for team t2, end user carol and the gateway
        assert chat(gw, "sk-b", model="big", user="carol").status_code == 200
        deadline = time.monotonic() + 20
        while admin(gw, "/spend/ledger/status")["ledger"]["dead_letters"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert admin(gw, "/spend/ledger/status")["ledger"]["dead_letters"] == 1

        def refusals() -> list[tuple[int, str]]:
            answers = [chat(gw, "sk-a"), chat(gw, "sk-c"), chat(gw, "sk-d", user="carol"), chat(gw, "sk-d")]
            return [(r.status_code, r.json()["error"]["message"].split(":")[0]) for r in answers]

        expected = [
            (422, "Budget has been exceeded for key 'a'"),
            (422, "Budget has been exceeded for team 't2'"),
            (422, "Budget has been exceeded for end user 'carol'"),
            (422, "Budget has been exceeded for the gateway's global budget"),
        ]
        assert refusals() == expected
        seeded = admin(gw, "/spend/ledger/status")["stats"]["seeded_from_ledger"]

        redis.restart()  # every counter is gone; they are re-seeded from the ledger

        assert refusals() == expected
        assert admin(gw, "/spend/ledger/status")["stats"]["seeded_from_ledger"] > seeded
    finally:
        redis.stop()
