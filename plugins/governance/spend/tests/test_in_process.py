"""The plugin inside one gateway, driven with the official OpenAI SDK.

Prices are exact per-token overrides on the mock model: prompt "hi" = 4 tokens, the mock's reply
("This is a mock reply from m.") = 7 tokens, so a call costs 4 x $0.000001 + 7 x $0.000002 =
$0.000018.  The ledger is a SQLite file of the test; counters are in process memory.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import gateway_mock
import gateway_openai
import gateway_spend
import httpx
import openai
import pytest
from spend_helpers import MASTER, key, model_entry
from spend_testauth import KeySpec, TestAuth

from gateway import hookimpl
from gateway.testing import FakeUpstream, Reply

COST = Decimal("0.000018")
HI = [{"role": "user", "content": "hi"}]


class Alerts:
    gateway_plugin_name = "alerts"

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.arrived = threading.Event()

    @hookimpl
    def gateway_alert(self, alert: Any) -> None:
        self.received.append(alert)
        self.arrived.set()


@pytest.fixture
def start(gateway_factory: Any, tmp_path: Path) -> Any:
    def start(
        keys: dict[str, dict[str, Any]] | None = None,
        *,
        models: list[dict[str, Any]] | None = None,
        litellm: dict[str, Any] | None = None,
        spend: dict[str, Any] | None = None,
        extra: tuple[Any, ...] = (),
    ) -> Any:
        config = {
            "model_list": models or [model_entry("m")],
            "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            "litellm_settings": litellm or {},
            "plugins": {"spend": {"ship_interval_seconds": 0.05, **(spend or {})}},
        }
        auth = TestAuth({k: KeySpec.model_validate(v) for k, v in (keys or {}).items()})
        return gateway_factory(
            config,
            plugins=[("mock", gateway_mock), ("openai", gateway_openai), ("spend", gateway_spend), auth, *extra],
            load_entrypoints=False,
        )

    return start


def admin(gw: Any, path: str, **params: Any) -> Any:
    response = httpx.get(gw.url + path, params=params, headers={"Authorization": f"Bearer {MASTER}"})
    assert response.status_code == 200, response.text
    return response.json()


def rows(gw: Any, **filters: Any) -> list[dict[str, Any]]:
    return admin(gw, "/spend/logs/v2", page_size=1000, **filters)["data"]


def test_cost_header_ledger_row_and_spend_totals_agree(start: Any) -> None:
    gw = start({"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": "1"}, team_id="t1", alias="a")})
    raw = gw.openai("sk-a").chat.completions.with_raw_response.create(model="m", messages=HI)
    assert raw.headers["x-litellm-response-cost"] == "0.000018" == raw.headers["x-gateway-response-cost"]
    stream = gw.openai("sk-a").chat.completions.create(model="m", messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "This is a mock reply from m."

    found = rows(gw, api_key="hash-a")
    assert len(found) == 2 and all(r["spend_exact"] == "0.000018" and r["status"] == "success" for r in found)
    assert all(r["prompt_tokens"] == 4 and r["completion_tokens"] == 7 and not r["usage_estimated"] for r in found)
    assert found[0]["team_id"] == "t1" and found[0]["metadata"]["user_api_key_alias"] == "a"
    # what /key/info of the virtual-keys plugin shows comes from this hook: the ledger's totals
    import asyncio

    totals = asyncio.run(gw.gateway.call_first("gateway_get_spend", scope="team", ids=["t1", "t2"], gateway=gw.gateway))
    assert totals == {"t1": COST * 2, "t2": Decimal(0)}


def test_exhausted_budget_names_scope_spent_and_limit_with_configured_status(start: Any) -> None:
    gw = start(
        {"sk-a": key("hash-a", {"scope": "team", "id": "t1", "max_budget": str(COST * 2), "alias": "eng"})},
        litellm={"budget_exceeded_status_code": 400},
    )
    client = gw.openai("sk-a")
    for _ in range(2):
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    assert refused.value.status_code == 400
    body = refused.value.body
    assert body["type"] == "budget_exceeded"
    assert body["message"] == (
        "Budget has been exceeded for team 'eng': spent $0.000036 of max budget $0.000036; "
        "this request could cost up to $0.000018."
    )


def test_budget_resets_on_budget_duration_with_a_controllable_clock(start: Any) -> None:
    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": str(COST), "budget_duration": "1h"})}
    )
    governor = gw.gateway.state["spend"]
    # the clock starts at the real time (the ledger's rows carry real times) and then jumps
    hour = time.time() // 3600 * 3600
    now = [time.time()]
    governor.clock = lambda: now[0]
    client = gw.openai("sk-a")
    client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    assert (
        f"The budget resets at {time.strftime('%Y-%m-%d %H:00:00', time.gmtime(hour + 3600))} UTC"
        in refused.value.message
    )
    now[0] = hour + 3600 - 0.01  # one hundredth of a second early: still refused
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    now[0] = hour + 3600  # on the boundary, not minutes late
    client.chat.completions.create(model="m", messages=HI, max_tokens=7)


def test_a_monthly_budget_resets_on_the_first_of_the_next_calendar_month(start: Any) -> None:
    """``1mo`` is a calendar month (LiteLLM's meaning), not 30 days: the window ends on the 1st, midnight UTC."""
    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": str(COST), "budget_duration": "1mo"})}
    )
    today = datetime.now(UTC)
    next_month = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=UTC)
    now = [today.timestamp()]
    gw.gateway.state["spend"].clock = lambda: now[0]
    client = gw.openai("sk-a")
    client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    assert f"The budget resets at {next_month:%Y-%m-%d} 00:00:00 UTC." in refused.value.message
    now[0] = next_month.timestamp() - 0.01
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    now[0] = next_month.timestamp()  # a new month: a fresh budget
    client.chat.completions.create(model="m", messages=HI, max_tokens=7)


def test_soft_budget_crossing_alerts_once_and_does_not_block(start: Any) -> None:
    alerts = Alerts()
    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "soft_budget": str(COST * 2), "alias": "a"})},
        extra=(alerts,),
    )
    client = gw.openai("sk-a")
    for _ in range(4):
        client.chat.completions.create(model="m", messages=HI)
    assert alerts.arrived.wait(5)
    time.sleep(0.2)
    crossed = [a for a in alerts.received if a.kind == "soft_budget_crossed"]
    assert len(crossed) == 1
    assert crossed[0].details["spend"] == "0.000036" and crossed[0].details["soft_budget"] == "0.000036"


def test_end_user_and_global_budgets(start: Any) -> None:
    gw = start({"sk-a": key("hash-a")}, litellm={"max_end_user_budget": float(COST), "max_budget": float(COST * 3)})
    client = gw.openai("sk-a")
    client.chat.completions.create(model="m", messages=HI, max_tokens=7, user="carol")
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="m", messages=HI, max_tokens=7, user="carol")
    assert "end user 'carol'" in refused.value.message
    client.chat.completions.create(model="m", messages=HI, max_tokens=7, user="dave")
    client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="m", messages=HI, max_tokens=7)
    assert "the gateway's global budget" in refused.value.message
    # the master key is never refused, but its spend is recorded
    gw.openai(MASTER).chat.completions.create(model="m", messages=HI, max_tokens=7)
    assert len([r for r in rows(gw) if r["status"] == "success"]) == 4
    assert [r["end_user"] for r in rows(gw, end_user="carol")] == ["carol", "carol"]


def test_anthropic_clients_are_billed_and_budgeted_like_openai_ones(start: Any) -> None:
    """/v1/messages: ``metadata.user_id`` is the end user (its own budget scope and the row's
    ``end_user``), the key's budget is checked, and the row costs what the same OpenAI call costs."""
    gateway_anthropic = pytest.importorskip("gateway_anthropic")
    import anthropic

    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": str(COST * 3)}, alias="a")},
        litellm={"max_end_user_budget": float(COST)},
        extra=(("anthropic", gateway_anthropic),),
    )
    client = anthropic.Anthropic(base_url=gw.url, api_key="sk-a", max_retries=0)
    hi: Any = [{"role": "user", "content": "hi"}]
    answer = client.messages.create(model="m", max_tokens=7, messages=hi, metadata={"user_id": "carol"})
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (4, 7)
    with pytest.raises(anthropic.UnprocessableEntityError) as refused:
        client.messages.create(model="m", max_tokens=7, messages=hi, metadata={"user_id": "carol"})
    assert "Budget has been exceeded for end user 'carol'" in refused.value.message
    client.messages.create(model="m", max_tokens=7, messages=hi, metadata={"user_id": "dave"})
    with pytest.raises(anthropic.BadRequestError) as unstorable:
        client.messages.create(model="m", max_tokens=7, messages=hi, metadata={"user_id": "e" * 256})
    assert "metadata.user_id is 256 characters long" in unstorable.value.message
    client.messages.create(model="m", max_tokens=7, messages=hi)
    # the key's budget ($0.000054) is spent by carol, dave and the anonymous call: the next is refused
    with pytest.raises(anthropic.UnprocessableEntityError) as refused:
        client.messages.create(model="m", max_tokens=7, messages=hi)
    assert "Budget has been exceeded for key hash-a" in refused.value.message

    found = [r for r in rows(gw, api_key="hash-a") if r["status"] == "success"]
    assert sorted((r["end_user"] or "", r["spend_exact"]) for r in found) == [
        ("", str(COST)),
        ("carol", str(COST)),
        ("dave", str(COST)),
    ]
    assert all(r["prompt_tokens"] == 4 and r["completion_tokens"] == 7 for r in found)


@pytest.mark.parametrize(
    ("field", "value"), [("max_budget", "-1"), ("rpm_limit", "ten"), ("budget_duration", "1 fortnight")]
)
def test_bad_budget_or_limit_values_are_a_400_naming_the_field(start: Any, field: str, value: Any) -> None:
    gw = start({"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": "1", field: value})})
    with pytest.raises(openai.BadRequestError) as refused:
        gw.openai("sk-a").chat.completions.create(model="m", messages=HI)
    assert refused.value.body["param"] == field and field in refused.value.message
    gw.openai(MASTER).chat.completions.create(model="m", messages=HI)  # the gateway keeps serving


def test_upstream_error_releases_the_reservation_and_records_a_failure(start: Any) -> None:
    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": str(COST)})},
        models=[model_entry("m", mock_failure_rate=1)],
    )
    for _ in range(3):  # would be refused after the first if a reservation leaked
        with pytest.raises(openai.InternalServerError):
            gw.openai("sk-a").chat.completions.create(model="m", messages=HI, max_tokens=7)
    governor = gw.gateway.state["spend"]
    time.sleep(0.3)
    assert governor.counters.reservations == {}
    assert all(r["status"] == "failure" and r["spend_exact"] == "0" for r in rows(gw, api_key="hash-a"))


def test_client_disconnect_mid_stream_settles_and_records(start: Any) -> None:
    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_budget": "1", "max_parallel_requests": 1})},
        models=[model_entry("m", mock_stream_chunk_delay_ms=300, mock_stream_pieces=20)],
    )
    body = {"model": "m", "messages": HI, "stream": True}
    with httpx.stream(
        "POST", gw.base_url + "/chat/completions", json=body, headers={"Authorization": "Bearer sk-a"}
    ) as r:
        next(r.iter_lines())  # first event, then hang up
    deadline = time.monotonic() + 10
    governor = gw.gateway.state["spend"]
    while governor.counters.reservations and time.monotonic() < deadline:
        time.sleep(0.05)
    assert governor.counters.reservations == {}
    found = rows(gw, api_key="hash-a")
    assert len(found) == 1 and found[0]["status"] == "failure" and found[0]["usage_estimated"]
    # the parallel slot is free again
    gw.openai("sk-a").chat.completions.create(model="m", messages=HI)


def test_max_parallel_requests(start: Any) -> None:
    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "max_parallel_requests": 1, "alias": "a"})},
        models=[model_entry("m", mock_latency_ms=400)],
    )
    results: list[Any] = []

    def call() -> None:
        try:
            results.append(gw.openai("sk-a").chat.completions.create(model="m", messages=HI))
        except openai.RateLimitError as exc:
            results.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(refused) == 2 and "Max parallel request limit reached for key 'a'" in refused[0].message


def test_deployment_rpm_moves_to_the_other_deployment_then_429(start: Any) -> None:
    models = [model_entry("m", rpm=1, mock_response="first"), model_entry("m", rpm=1, mock_response="second")]
    models[1]["model_info"] = {"id": "second"}
    gw = start(models=models, spend={"rate_limit_window_seconds": 60})
    client = gw.openai(MASTER)
    answers = {client.chat.completions.create(model="m", messages=HI).choices[0].message.content for _ in range(2)}
    assert answers == {"first", "second"}
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="m", messages=HI)
    assert "rpm_limit is 1" in refused.value.message


def test_upstream_without_usage_is_estimated_and_flagged(start: Any) -> None:
    upstream = FakeUpstream().start()
    try:
        upstream.default = Reply(
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-x",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "12345678"}, "finish_reason": "stop"}
                ],
            }
        )
        models = [
            {
                "model_name": "m",
                "litellm_params": {
                    "model": "openai/gpt-x",
                    "api_base": upstream.base_url,
                    "api_key": "sk-upstream",
                    "input_cost_per_token": 0.000001,
                    "output_cost_per_token": 0.000002,
                },
            }
        ]
        gw = start(models=models)
        raw = gw.openai(MASTER).chat.completions.with_raw_response.create(model="m", messages=HI)
        # 7 prompt tokens ("hi" by the shipped tokenizer and the chat framing) + 3 completion tokens ("12345678"
        # by the same tokenizer), counted by the gateway and flagged estimated
        assert raw.headers["x-litellm-response-cost"] == "0.000013"
        assert raw.parse().usage.completion_tokens == 3
        found = rows(gw)
        assert found[0]["usage_estimated"] is True and found[0]["completion_tokens"] == 3
    finally:
        upstream.stop()


def test_one_worker_without_redis_refuses_several_workers(start: Any) -> None:
    gw = start()
    assert "spend" in gw.gateway.single_worker_reasons


@pytest.mark.parametrize("policy", ["closed", "open"])
def test_unreachable_redis_follows_the_failure_policy_and_is_counted(start: Any, policy: str) -> None:
    from gateway.testing import free_port

    gw = start(
        {"sk-a": key("hash-a", {"scope": "key", "id": "hash-a", "rpm_limit": 5})},
        spend={
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
            "redis_failure_policy": policy,
            "redis_timeout_seconds": 0.5,
        },
    )
    client = gw.openai("sk-a")
    if policy == "closed":
        with pytest.raises(openai.InternalServerError) as refused:
            client.chat.completions.create(model="m", messages=HI)
        assert refused.value.status_code == 503 and "redis_failure_policy: closed" in refused.value.message
    else:
        client.chat.completions.create(model="m", messages=HI)
    assert admin(gw, "/spend/ledger/status")["stats"]["counter_failures"] == 1
    assert "spend" not in gw.gateway.single_worker_reasons  # shared counters: several workers are fine
