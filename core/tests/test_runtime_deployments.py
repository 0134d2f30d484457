"""Deployments added at runtime (Gateway.build_deployment + set_runtime_deployments, the API
gateway-model-store uses) reach what was built from the deployments at start-up: the routing
strategies' own indexes (prices for cost-based routing)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway import Gateway, RequestContext


def runtime_entry(name: str, price: float) -> dict[str, Any]:
    return {
        "model_name": "runtime",
        "litellm_params": {
            "model": f"openai/{name}",
            "api_key": "k",
            "api_base": "http://127.0.0.1:9/v1",
            "input_cost_per_token": price,
            "output_cost_per_token": price,
        },
        "model_info": {"id": name},
    }


@pytest.fixture(autouse=True)
def only_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "openai")


def test_cost_based_routing_prices_deployments_added_at_runtime() -> None:
    gateway = Gateway(
        {
            "model_list": [{"model_name": "yaml", "litellm_params": {"model": "openai/y", "api_key": "k"}}],
            "router_settings": {"routing_strategy": "cost-based-routing"},
        }
    )
    gateway.set_runtime_deployments(
        "test", [gateway.build_deployment(runtime_entry(n, p)) for n, p in (("dear", 0.01), ("cheap", 0.000001))]
    )
    for _ in range(20):  # without the runtime prices both are unpriced and come in random order
        ctx = RequestContext(request_id="r", endpoint="chat", body={}, headers={})
        ctx.requested_model = ctx.model_group = "runtime"
        assert [d.id for d in gateway.router.plan(ctx)] == ["cheap", "dear"]


def test_the_config_file_wins_over_a_runtime_deployment_of_its_group() -> None:
    gateway = Gateway(
        {"model_list": [{"model_name": "runtime", "litellm_params": {"model": "openai/y", "api_key": "k"}}]}
    )
    gateway.set_runtime_deployments("test", [gateway.build_deployment(runtime_entry("other", 0.0))])
    assert [d.model for d in gateway.router.groups["runtime"]] == ["y"]
    gateway.set_runtime_deployments("test", [])
    assert [d.model for d in gateway.deployments] == ["y"]
