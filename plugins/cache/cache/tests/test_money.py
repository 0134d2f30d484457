"""A hit in the ledger: ``cache_hit: true``, the configured hit cost (0 by default), and what it saved;
it never consumes a budget as an upstream call does."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cache_helpers import MASTER

from gateway.testing import postgres_database

PRICES = {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002}


def _rows(gw: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        gw.url + "/spend/logs/v2", params={"page_size": 100}, headers={"Authorization": f"Bearer {MASTER}"}
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ledger database of its own: a SQLite file, or a fresh PostgreSQL database (127.0.0.1:5432)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    with postgres_database("cache_test") as url:
        yield url


@pytest.mark.parametrize("hit_cost", [None, "0.0001"])
def test_a_hit_is_in_the_ledger_at_the_hit_cost_with_what_it_saved(
    cache_gateway: Any, fake_upstream: Any, ledger_url: str, hit_cost: str | None
) -> None:
    import gateway_spend

    gw = cache_gateway(
        {"type": "local"},
        plugin={"hit_cost": hit_cost} if hit_cost else None,
        extra=(("spend", gateway_spend),),
        general={"database_url": ledger_url},
        plugins={"spend": {"ship_interval_seconds": 0.05}},
        prices=PRICES,
    )
    client = gw.openai()
    miss = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    hit = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert len(fake_upstream.requests) == 1
    paid = Decimal(miss.headers["x-litellm-response-cost"])
    assert paid > 0
    assert Decimal(hit.headers["x-litellm-response-cost"]) == Decimal(hit_cost or 0)

    rows = {row["request_id"]: row for row in _rows(gw)}
    hit_row = next(r for r in rows.values() if r["cache_hit"] in (True, "True"))
    miss_row = next(r for r in rows.values() if r["cache_hit"] in (False, "False"))
    assert Decimal(str(hit_row["spend"])) == Decimal(hit_cost or 0)
    assert Decimal(str(miss_row["spend"])) == paid
    note = hit_row["metadata"]["annotations"]["cache"]
    assert note["hit"] is True
    saved = paid - Decimal(hit_cost or 0)
    assert Decimal(note["saved_cost"]) == saved
    assert Decimal(str(hit_row["saved_spend"])) == saved and miss_row["saved_spend"] == 0

    # the spend report shows what the cache saved, per model
    report = httpx.get(
        gw.url + "/global/spend/report",
        params={"group_by": "model", "start_date": "2000-01-01", "end_date": "2999-12-31"},
        headers={"Authorization": f"Bearer {MASTER}"},
    )
    assert report.status_code == 200, report.text
    (model,) = report.json()
    assert model["model"] == "gpt-4o" and model["api_requests"] == 2
    assert Decimal(str(model["total_saved_by_cache"])) == saved


def test_hits_do_not_consume_a_budget_the_upstream_calls_would_exceed(
    cache_gateway: Any, fake_upstream: Any, tmp_path: Path
) -> None:
    import gateway_spend
    import openai

    gw = cache_gateway(
        {"type": "local"},
        extra=(("spend", gateway_spend),),
        general={"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        plugins={"spend": {"ship_interval_seconds": 0.05}},
        prices=PRICES,
        litellm={"max_budget": 0.07},
    )
    client = gw.openai(api_key="sk-solo-1")

    def call(content: str) -> Any:
        return client.chat.completions.with_raw_response.create(
            model="gpt-4o", max_tokens=20, messages=[{"role": "user", "content": content}]
        )

    cost = Decimal(call("hi").headers["x-litellm-response-cost"])
    assert Decimal("0.01") < cost < Decimal("0.025")  # three such calls are over the budget
    for _ in range(20):
        assert Decimal(call("hi").headers["x-litellm-response-cost"]) == 0
    assert len(fake_upstream.requests) == 1
    # the budget still holds for upstream calls
    call("another question")
    with pytest.raises(openai.APIStatusError):
        for n in range(3):
            call(f"question {n}")


def test_prometheus_counts_hits_misses_and_saved_cost(cache_gateway: Any, fake_upstream: Any, tmp_path: Path) -> None:
    import time

    import gateway_prometheus
    import gateway_spend
    from prometheus_client.parser import text_string_to_metric_families

    gw = cache_gateway(
        {"type": "local"},
        extra=(("spend", gateway_spend), ("prometheus", gateway_prometheus)),
        general={"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        plugins={"spend": {"ship_interval_seconds": 0.05}},
        prices=PRICES,
        litellm={"callbacks": ["prometheus"]},
    )
    client = gw.openai()
    paid = Decimal(
        client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        ).headers["x-litellm-response-cost"]
    )
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])

    def value(text: str, name: str) -> float:
        return sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == name and s.labels.get("model_group") == "gpt-4o"
        )

    deadline = time.monotonic() + 10
    while True:  # the metrics are updated off the request path
        text = httpx.get(gw.url + "/metrics", headers={"Authorization": f"Bearer {MASTER}"}).text
        if value(text, "litellm_cache_hits_metric_total") >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert value(text, "litellm_cache_hits_metric_total") == 3
    assert value(text, "litellm_cache_misses_metric_total") == 1
    assert Decimal(str(value(text, "gateway_cache_saved_spend_metric_total"))).quantize(Decimal("1e-9")) == (
        3 * paid
    ).quantize(Decimal("1e-9"))
