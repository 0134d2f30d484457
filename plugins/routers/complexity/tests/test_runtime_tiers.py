"""The router follows its tiers' model groups when the deployments change at runtime: a group added
with ``/model/new`` (gateway-model-store, ``store_model_in_db`` on SQLite and PostgreSQL) takes its
tier's requests at once, and a group deleted (``/model/delete``, or ``POST /config/reload`` of a
file without it) hands its tier to the nearest served one instead of failing the request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.testing import FakeUpstream, postgres_database

MASTER = "sk-complexity-runtime-0123456789"
ARCHITECTURE_ASK = (
    "We are splitting our Django monolith into microservices. First, propose the service boundaries and the "
    "database-per-service layout; then design the Kafka event flow between the order, payment and inventory "
    "services, explain how you keep the data consistent without distributed transactions, and finally write the "
    "Python code for the outbox publisher with retries and idempotency keys."
)
TIERS = {"SIMPLE": "small", "MEDIUM": "medium", "COMPLEX": "strong"}


def router_entry(name: str = "smart-router", **tiers: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": "auto_router/complexity_router",
            "complexity_router_config": {"tiers": tiers or TIERS},
        },
    }


def tier_model(name: str, upstream: FakeUpstream, model_id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model_name": name,
        "litellm_params": {"model": f"openai/{name}-upstream", "api_base": upstream.base_url, "api_key": "sk-up"},
    }
    if model_id is not None:
        entry["model_info"] = {"id": model_id}
    return entry


def ask(url: str, content: str, model: str = "smart-router") -> tuple[str, str]:
    """(the upstream model that answered, the tier the router chose)."""
    answer = httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER}"},
        json={"model": model, "messages": [{"role": "user", "content": content}]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    tier = dict(p.split("=", 1) for p in answer.headers["x-gateway-complexity"].split("; "))["tier"]
    return answer.json()["model"], tier


def admin(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, headers={"Authorization": f"Bearer {MASTER}"}, json=body, timeout=30)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    with postgres_database("complexity_runtime") as url:
        yield url


def test_a_tier_group_added_and_deleted_with_the_model_api_is_followed(
    database_url: str, gateway_factory: Any, fake_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:  # the database first: it is dropped after the gateway stopped
    pytest.importorskip("gateway_model_store")  # the plugin that serves /model/new
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "openai,complexity_router,model_store")
    monkeypatch.setenv("LITELLM_SALT_KEY", "salt-for-the-complexity-runtime-tests")
    config = {
        # the COMPLEX tier names a group the file does not define: it may be stored in the database
        "model_list": [router_entry(SIMPLE="small", COMPLEX="strong"), tier_model("small", fake_upstream)],
        "general_settings": {"master_key": MASTER, "database_url": database_url, "store_model_in_db": True},
    }
    url = gateway_factory(config, load_entrypoints=True).url
    assert ask(url, ARCHITECTURE_ASK) == ("small-upstream", "SIMPLE")  # strong is not served yet

    added = admin(url, "/model/new", tier_model("strong", fake_upstream, model_id="strong-1"))
    assert added.status_code == 200, added.text
    assert ask(url, ARCHITECTURE_ASK) == ("strong-upstream", "COMPLEX")
    assert ask(url, "hi") == ("small-upstream", "SIMPLE")

    deleted = admin(url, "/model/delete", {"id": "strong-1"})
    assert deleted.status_code == 200, deleted.text
    assert ask(url, ARCHITECTURE_ASK) == ("small-upstream", "SIMPLE")  # not a 404 for the deleted group
    assert [r.json["model"] for r in fake_upstream.requests] == [
        "small-upstream",
        "strong-upstream",
        "small-upstream",
        "small-upstream",
    ]


def test_a_reload_that_deletes_tier_groups_sends_their_tiers_to_the_nearest_served_one(
    gateway_factory: Any, fake_upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "openai,complexity_router")
    path = tmp_path / "gateway.yaml"
    models = [router_entry(), *(tier_model(name, fake_upstream) for name in TIERS.values())]

    def write(model_list: list[dict[str, Any]]) -> None:
        path.write_text(yaml.safe_dump({"model_list": model_list, "general_settings": {"master_key": MASTER}}))

    write(models)
    url = gateway_factory(str(path), load_entrypoints=True).url
    assert ask(url, ARCHITECTURE_ASK) == ("strong-upstream", "COMPLEX")

    def reload(model_list: list[dict[str, Any]]) -> None:
        write(model_list)
        answer = admin(url, "/config/reload", {})
        assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text

    reload([m for m in models if m["model_name"] != "strong"])
    assert ask(url, ARCHITECTURE_ASK) == ("medium-upstream", "MEDIUM")  # the nearest tier still served
    reload(models)  # back again: its tier is its own once more
    assert ask(url, ARCHITECTURE_ASK) == ("strong-upstream", "COMPLEX")
    # a router added by a reload is served at once, with the tiers it names
    reload([*models, router_entry("house-router", SIMPLE="small", COMPLEX="medium")])
    assert ask(url, ARCHITECTURE_ASK, model="house-router") == ("medium-upstream", "COMPLEX")

    reload([models[0]])  # the router alone: no tier can be served
    refused = admin(
        url, "/v1/chat/completions", {"model": "smart-router", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert refused.status_code == 503, refused.text
    message = refused.json()["error"]["message"]
    assert "smart-router" in message and "SIMPLE: small" in message and "COMPLEX: strong" in message
