"""``/global/spend/report`` and ``/spend/logs``: LiteLLM's shapes, computed from the ledger (PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import gateway_mock
import gateway_spend
import httpx
import pytest
from spend_helpers import MASTER, key, model_entry
from spend_testauth import KeySpec, TestAuth

HI = [{"role": "user", "content": "hi"}]
KEYS = {
    "sk-a1": key("hash-a1", team_id="alpha", team_alias="Team Alpha"),
    "sk-a2": key("hash-a2", team_id="alpha", team_alias="Team Alpha"),
    "sk-b1": key("hash-b1", team_id="beta"),
    "sk-solo": key("hash-solo"),
}


@pytest.fixture
def gw(gateway_factory: Any, fresh_pg: str) -> Any:
    config = {
        "model_list": [model_entry("m"), model_entry("big", input_cost="0.00001", output_cost="0.00003")],
        "general_settings": {"master_key": MASTER, "database_url": fresh_pg},
        "plugins": {"spend": {"ship_interval_seconds": 0.05}},
    }
    auth = TestAuth({k: KeySpec.model_validate(v) for k, v in KEYS.items()})
    gateway = gateway_factory(
        config, plugins=[("mock", gateway_mock), ("spend", gateway_spend), auth], load_entrypoints=False
    )
    plan = {"sk-a1": ["m", "m", "big"], "sk-a2": ["big"], "sk-b1": ["m", "big", "big"], "sk-solo": ["m"]}
    for api_key, models in plan.items():
        for model in models:
            gateway.openai(api_key).chat.completions.create(model=model, messages=HI, user=f"customer-{api_key[-1]}")
    return gateway


def get(gw: Any, path: str, key: str = MASTER, **params: Any) -> httpx.Response:
    return httpx.get(gw.url + path, params=params, headers={"Authorization": f"Bearer {key}"})


def test_team_report_equals_the_sum_of_each_teams_ledger_rows(gw: Any) -> None:
    report = get(gw, "/global/spend/report", group_by="team").json()
    ledger = get(gw, "/spend/logs/v2", page_size=1000).json()["data"]
    assert len(ledger) == 8
    per_team: dict[Any, Decimal] = defaultdict(Decimal)
    for row in ledger:
        per_team[row["team_id"]] += Decimal(row["spend_exact"])
    [day] = report
    assert set(day) == {"group_by_day", "teams"}
    reported = {t["team_id"]: Decimal(t["total_spend_exact"]) for t in day["teams"]}
    assert reported == {"alpha": per_team["alpha"], "beta": per_team["beta"], None: per_team[None]}
    # named as LiteLLM names them: the alias, else the id; spend of no team is "Unassigned Team"
    assert {t["team_id"]: t["team_name"] for t in day["teams"]} == {
        "alpha": "Team Alpha",
        "beta": "beta",
        None: "Unassigned Team",
    }
    alpha = next(t for t in day["teams"] if t["team_id"] == "alpha")
    assert {(m["model"], m["api_key"]) for m in alpha["metadata"]} == {
        ("m", "hash-a1"),
        ("big", "hash-a1"),
        ("big", "hash-a2"),
    }
    assert all(set(m) == {"model", "api_key", "spend", "total_tokens"} for m in alpha["metadata"])


def test_api_key_and_customer_reports(gw: Any) -> None:
    by_key = {e["api_key"]: e for e in get(gw, "/global/spend/report", group_by="api_key").json()}
    assert set(by_key) == {"hash-a1", "hash-a2", "hash-b1", "hash-solo"}
    a1 = by_key["hash-a1"]
    # 2 x m (18 micro-dollars) + 1 x big (4 x 10 + 8 x 30 = 280 micro-dollars: its reply is 8 tokens)
    assert Decimal(a1["total_cost_exact"]) == Decimal("0.000316")
    assert a1["total_input_tokens"] == 12 and a1["total_output_tokens"] == 22
    assert {m["model"] for m in a1["model_details"]} == {"m", "big"}
    [day] = get(gw, "/global/spend/report", group_by="customer").json()
    assert {c["customer"] for c in day["customers"]} == {"customer-1", "customer-2", "customer-o"}
    filtered = get(gw, "/global/spend/report", group_by="team", team_id="beta").json()
    assert [t["team_name"] for t in filtered[0]["teams"]] == ["beta"]


def test_spend_logs_filters_and_pages(gw: Any) -> None:
    rows = get(gw, "/spend/logs", api_key="hash-b1").json()
    assert len(rows) == 3 and {r["api_key"] for r in rows} == {"hash-b1"}
    one = get(gw, "/spend/logs", request_id=rows[0]["request_id"]).json()
    assert [r["request_id"] for r in one] == [rows[0]["request_id"]]
    pages = [get(gw, "/spend/logs/v2", page=p, page_size=3).json() for p in (1, 2, 3)]
    assert [len(p["data"]) for p in pages] == [3, 3, 2] and pages[0]["total"] == 8 and pages[0]["total_pages"] == 3
    assert len({r["request_id"] for p in pages for r in p["data"]}) == 8
    assert get(gw, "/spend/logs", team_id="alpha", start_date="2000-01-01", end_date="2000-01-02").json() == []


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/global/spend/report", {"group_by": "planet"}, "group_by"),
        ("/global/spend/report", {"start_date": "yesterday"}, "start_date"),
        ("/spend/logs/v2", {"page_size": "0"}, "page_size"),
    ],
)
def test_bad_report_parameters_are_400_naming_the_parameter(
    gw: Any, path: str, params: dict[str, str], param: str
) -> None:
    response = get(gw, path, **params)
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_reports_need_an_admin_key(gw: Any) -> None:
    assert get(gw, "/global/spend/report", key="sk-a1").status_code == 403
    assert get(gw, "/spend/logs", key="sk-a1").status_code == 403
