"""``GET /health/readiness/details`` (admin): Redis, each plugin, and what plugins report through
``gateway.http.add_readiness_check``, with one status (503 when a part is down)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway import Principal, hookimpl
from gateway.http import add_readiness_check
from gateway.testing import FakeUpstream, free_port

from .conftest import MASTER, openai_config

AUTH = {"Authorization": f"Bearer {MASTER}"}
USER_KEY = "sk-readiness-user"
PATH = "/health/readiness/details"


class Reporting:
    """A plugin reporting one component, in the state the test chooses, and a plain key."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    @hookimpl
    def gateway_configure(self, gateway: Any) -> None:
        async def check() -> dict[str, Any]:
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

        add_readiness_check(gateway, "queue", check)

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        return Principal(id="user-key", kind="virtual_key") if api_key == USER_KEY else None


def test_details_report_each_part_and_each_plugin(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[("reporting", Reporting({"status": "ok", "depth": 3}))])
    answer = httpx.get(gw.url + PATH, headers=AUTH)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "healthy" and report["shutting_down"] is False
    assert report["queue"] == {"status": "ok", "depth": 3}
    assert report["redis"]["status"] == "not configured"
    assert report["database"]["status"] == "not used"
    assert report["plugins"]["openai"]["status"] == "loaded"
    assert report["plugins"]["master_key"]["builtin"] is True
    assert report["plugins"]["reporting"]["builtin"] is False


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": "unreachable", "error": "connection refused"}, "unreachable"),
        (RuntimeError("the queue's socket is closed"), "error"),
    ],
)
def test_a_part_that_is_down_makes_the_report_unhealthy(
    fake_upstream: FakeUpstream, gateway_factory: Any, answer: Any, expected: str
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[("reporting", Reporting(answer))])
    report = httpx.get(gw.url + PATH, headers=AUTH)
    assert report.status_code == 503
    assert report.json()["status"] == "unhealthy" and report.json()["queue"]["status"] == expected
    if isinstance(answer, Exception):
        assert report.json()["queue"]["error"] == "RuntimeError: the queue's socket is closed"


def test_redis_that_does_not_answer_is_reported(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    config = openai_config(fake_upstream, router_settings={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    gw = gateway_factory(config)
    report = httpx.get(gw.url + PATH, headers=AUTH, timeout=30)
    assert report.status_code == 503
    assert report.json()["redis"]["status"] == "unreachable"


def test_redis_that_answers_is_connected(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({exc})")
    gw = gateway_factory(openai_config(fake_upstream, router_settings={"redis_url": "redis://127.0.0.1:6379/0"}))
    report = httpx.get(gw.url + PATH, headers=AUTH, timeout=30)
    assert report.status_code == 200, report.text
    assert report.json()["redis"]["status"] == "connected"


def test_details_are_for_admins(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=[("reporting", Reporting({"status": "ok"}))])
    assert httpx.get(gw.url + PATH).status_code == 401
    refused = httpx.get(gw.url + PATH, headers={"Authorization": f"Bearer {USER_KEY}"})
    assert refused.status_code == 403
    assert "queue" not in refused.text


def test_a_reserved_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'redis' is reserved"):
        add_readiness_check(type("G", (), {"state": {}})(), "redis", lambda: None)  # type: ignore[arg-type]


def test_the_public_probe_answers_the_details_when_the_operator_allows_it(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = openai_config(fake_upstream, general_settings={"allow_public_health_readiness_details": True})
    gw = gateway_factory(config, plugins=[("reporting", Reporting({"status": "ok"}))])
    report = httpx.get(gw.url + "/health/readiness")  # no key
    assert report.status_code == 200
    assert report.json()["status"] == "healthy" and report.json()["queue"] == {"status": "ok"}
    assert report.json()["plugins"]["openai"]["status"] == "loaded"
