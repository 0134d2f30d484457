"""The anonymous health probes answer whether to send traffic, and say nothing about the set-up."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.testing import FakeUpstream

from .conftest import MASTER, openai_config


def test_readiness_needs_no_key_and_lists_no_plugins(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream))
    ready = httpx.get(gw.url + "/health/readiness")
    assert ready.status_code == 200
    assert ready.json() == {"status": "healthy"}
    # neither anonymously nor with the master key: the plugin list is for a later admin-only route
    with_key = httpx.get(gw.url + "/health/readiness", headers={"authorization": f"Bearer {MASTER}"})
    assert with_key.json() == {"status": "healthy"}
    assert "openai" not in ready.text and "master_key" not in ready.text
    assert httpx.get(gw.url + "/health/liveliness").status_code == 200


def test_deployment_health_needs_a_key(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream))
    assert httpx.get(gw.url + "/health").status_code == 401
    health = httpx.get(gw.url + "/health", headers={"authorization": f"Bearer {MASTER}"})
    assert health.status_code == 200 and health.json()["healthy_count"] == 2
