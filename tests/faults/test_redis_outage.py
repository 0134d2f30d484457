"""Redis (budget and rate-limit counters) killed under load and started again, empty.

The documented policy (gateway-spend's README, "Shared state"): with Redis unreachable a request is
refused with 503 and ``retry-after`` (``redis_failure_policy: closed``, the default) or let through
unlimited (``open``); after a restart the budget counters are re-seeded from the ledger, so a
restart refills no budget.  Every answered request still has exactly one ledger row.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from faults_support import (
    MESSAGES,
    Load,
    RedisServer,
    duplicates,
    gateway_config,
    mock_model,
    report,
    wait_for_ledger,
    wait_until,
)

COST = 0.000018  # "hi" + the mock's 7-token reply at the prices of mock_model


def chat(url: str, api_key: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json={"model": "m", "messages": MESSAGES, "max_tokens": 7},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )


@pytest.mark.parametrize("policy", ["closed", "open"])
def test_redis_killed_and_restarted_under_load(
    policy: str, database: str, redis: RedisServer, gateways: Any, tmp_path: Path
) -> None:
    config = gateway_config(
        database, redis.url, tmp_path / "wal", [mock_model("m")], redis_failure_policy=policy, redis_timeout_seconds=1
    )
    (gw,) = gateways(config)
    # a key whose budget is spent before the outage: the restart must not give it back
    spent = gw.admin("POST", "/key/generate", json={"max_budget": COST * 3, "key_alias": "spent"}).json()["key"]
    before = [chat(gw.url, spent) for _ in range(4)]
    assert [r.status_code for r in before] == [200, 200, 200, 422]
    loaded = gw.admin("POST", "/key/generate", json={"key_alias": "load", "rpm_limit": 100000}).json()["key"]

    load = Load([gw.url], api_key=loaded, clients=4, pause=0.01).start()
    wait_until(lambda: load.statuses()[200] >= 20, 30)
    down_at = load.now()
    redis.kill()
    time.sleep(4)  # the outage, under load
    restarted = RedisServer()
    restarted.port = redis.port
    up_at = load.now()
    restarted.start()
    redis.proc = restarted.proc  # the fixture kills it at the end
    wait_until(lambda: any(a.status == 200 and a.at > up_at for a in load.answers), 30)
    time.sleep(1)
    answers = load.stop()

    # answers to requests sent while it was down (a request admitted just before the kill may take up to
    # redis_timeout_seconds to settle: it is left out)
    during = [a for a in answers if down_at + 1.5 < a.at < up_at]
    after = [a for a in answers if a.at > up_at]
    first_ok = min((a.at for a in after if a.status == 200), default=float("nan"))
    statuses = sorted({a.status for a in during})
    assert during, "no request was answered during the outage"
    if policy == "closed":
        assert statuses == [503], statuses  # a refusal the client can retry, not a 500 or a hang
        assert {a.error_type for a in during} != {"not-json"}
    else:
        assert statuses == [200], statuses  # let through, unlimited
    assert after and after[-1].status == 200  # recovered
    # the restart refilled no budget: the spent key is still refused
    assert chat(gw.url, spent).status_code == 422

    answered = [a.call_id for a in answers if a.status] + [r.headers["x-litellm-call-id"] for r in before]
    rows = wait_for_ledger(database, {i for i in answered if i})
    load_rows = [r for r in rows if r in set(answered)]
    assert sorted(load_rows) == sorted(i for i in answered if i)
    assert duplicates(answered) == 0 and len(rows) == len(set(rows))
    report(
        f"redis outage ({policy})",
        requests_answered=len(answers),
        served_200=sum(a.status == 200 for a in answers),
        answered_during_outage=len(during),
        outage_statuses=dict(sorted({s: sum(a.status == s for a in during) for s in statuses}.items())),
        slowest_answer_during_outage_s=round(max(a.elapsed for a in during), 2),
        ledger_rows=len(rows),
        duplicates=duplicates(answered),
        recovery_s=round(first_ok - up_at, 2),
    )
