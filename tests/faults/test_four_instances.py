"""Four gateway instances, no balancer: the clients spread their calls, one key's budget and rpm hold.

Four ``gateway`` processes share one PostgreSQL database (keys, ledger) and one Redis (counters);
each client request goes to the next instance in turn, all of them at once, while background
traffic keeps every instance busy.  A budget that fits exactly k calls admits k; an ``rpm_limit``
of r admits r.  Every answered request, admitted or refused, has one ledger row.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from faults_support import (
    MESSAGES,
    Load,
    duplicates,
    gateway_config,
    ledger_statuses,
    mock_model,
    report,
    wait_for_ledger,
    wait_until,
)

COST_PICO = 18_000_000  # "hi" (4 tokens at $0.000001) + the 7-token reply (at $0.000002) = $0.000018
K = 12  # calls the budget pays for
RPM = 40
BURST = 120


async def burst(urls: list[str], api_key: str) -> list[tuple[int, str | None, str]]:
    """BURST concurrent calls, the i-th to ``urls[i % 4]``: (status, call id, error type) each."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=BURST)) as client:

        async def one(url: str) -> tuple[int, str | None, str]:
            response = await client.post(
                url + "/v1/chat/completions",
                json={"model": "m", "messages": MESSAGES, "max_tokens": 7},
                headers={"Authorization": f"Bearer {api_key}"},
            )
            kind = "" if response.status_code == 200 else str(response.json()["error"]["type"])
            return response.status_code, response.headers.get("x-litellm-call-id"), kind

        return await asyncio.gather(*(one(urls[i % len(urls)]) for i in range(BURST)))


def test_four_instances_without_a_balancer_admit_no_more_than_one_keys_budget_and_rpm(
    database: str, redis: Any, gateways: Any, tmp_path: Path
) -> None:
    config = gateway_config(database, redis.url, tmp_path / "wal", [mock_model("m")])
    instances = gateways(config, count=4)
    urls = [gw.url for gw in instances]
    first = instances[0]
    budget_key = first.admin(
        "POST", "/key/generate", json={"key_alias": "budget", "max_budget": COST_PICO * K / 1e12}
    ).json()["key"]
    rpm_key = first.admin("POST", "/key/generate", json={"key_alias": "rpm", "rpm_limit": RPM}).json()["key"]

    load = Load(urls, clients=4, pause=0.01).start()  # background traffic on every instance
    wait_until(lambda: load.statuses()[200] >= 20, 30)
    started = time.monotonic()
    budget_answers = asyncio.run(burst(urls, budget_key))
    rpm_answers = asyncio.run(burst(urls, rpm_key))
    bursts_s = time.monotonic() - started
    background = load.stop()

    budget_ok = sum(status == 200 for status, _, _ in budget_answers)
    rpm_ok = sum(status == 200 for status, _, _ in rpm_answers)
    ids = [a.call_id for a in background] + [i for _, i, _ in budget_answers + rpm_answers]
    wait_for_ledger(database, {i for i in ids if i})
    rows = ledger_statuses(database)
    budget_spend = sum(rows[i][2] for _, i, _ in budget_answers if i in rows)
    report(
        "4 instances",
        budget_admitted=f"{budget_ok} of {BURST} (budget for {K})",
        rpm_admitted=f"{rpm_ok} of {BURST} (rpm_limit {RPM})",
        background_served=sum(a.status == 200 for a in background),
        bursts_s=round(bursts_s, 2),
        ledger_rows=len(rows),
        duplicates=duplicates(ids),
        budget_key_spend_pico=f"{budget_spend} (limit {COST_PICO * K})",
    )
    assert budget_ok == K  # the exact number of calls the budget pays for, never more
    assert {kind for status, _, kind in budget_answers if status != 200} == {"budget_exceeded"}
    assert rpm_ok == RPM  # every slot of the window is usable, none beyond it
    assert {status for status, _, _ in rpm_answers if status != 200} == {429}
    assert {a.status for a in background} == {200}
    assert sorted(rows) == sorted(i for i in ids if i) and duplicates(ids) == 0
    assert budget_spend == COST_PICO * K
