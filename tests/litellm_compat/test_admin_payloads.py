"""LiteLLM's admin payloads, as its docs show them, accepted and answered in its shapes.

Written from LiteLLM's public docs: "Virtual Keys" (docs/proxy/virtual_keys: ``/key/generate`` with
models, aliases, duration, metadata, team_id, max_budget; ``/key/info``), "Budgets, Rate Limits"
(docs/proxy/users: ``/team/new`` with ``members_with_roles`` and limits, ``/user/new``,
``budget_reset_at``), "Team-based routing" / "Access groups" (docs/proxy/model_access: names in
``models`` the config does not list, ``model_info.access_groups``) and the team member routes of its
API reference (``/team/member_add``, ``/team/member_update``, ``/team/member_delete``).  One gateway with
every installed plugin, keys and the ledger in SQLite, mock models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.testing import start_gateway

MASTER = "sk-1234"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("admin-payloads")
    monkeypatch_module.delenv("GATEWAY_LOAD_PLUGINS", raising=False)  # every installed plugin
    monkeypatch_module.setenv("LITELLM_SALT_KEY", "sk-salt-for-the-admin-payload-tests")
    mock = {"mock_response": "Hello from the mock."}
    config = {
        "model_list": [
            {"model_name": "gpt-3.5-turbo", "litellm_params": {"model": "mock/gpt-3.5-turbo", **mock}},
            {
                "model_name": "gpt-4",
                "litellm_params": {"model": "mock/gpt-4", **mock},
                "model_info": {"access_groups": ["beta-models"]},
            },
            {"model_name": "claude-2", "litellm_params": {"model": "mock/claude-2", **mock}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{folder / 'gateway.db'}"},
        "plugins": {"spend": {"wal_dir": str(folder / "wal")}},
    }
    running = start_gateway(config)
    try:
        yield running.base_url.removesuffix("/v1")
    finally:
        running.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def admin(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {MASTER}"}
    if method == "GET":
        return httpx.get(url + path, params=body, headers=headers, timeout=30)
    return httpx.post(url + path, json=body or {}, headers=headers, timeout=30)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def chat(url: str, key: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "what llm are you"}]}
    return httpx.post(url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_team_key_and_user_payloads_from_the_docs(url: str) -> None:
    team = ok(
        admin(
            url,
            "POST",
            "/team/new",
            {
                "team_alias": "my-new-team_4",
                "members_with_roles": [{"role": "admin", "user_id": "5c4a0aa3-a1e1-43dc-bd87-3c2da8382a3a"}],
                "rpm_limit": 99,
                "max_budget": 100,
                "budget_duration": "30d",
            },
        )
    )
    team_id = team["team_id"]
    key = ok(
        admin(
            url,
            "POST",
            "/key/generate",
            {
                "models": ["gpt-3.5-turbo", "gpt-4", "claude-2", "gpt-5-not-deployed-yet", "beta-models"],
                "aliases": {"my-gpt": "gpt-3.5-turbo"},
                "duration": "20m",
                "metadata": {"user": "ishaan@berri.ai"},
                "team_id": team_id,
                "max_budget": 10,
                "budget_duration": "30d",
            },
        )
    )
    assert key["key"].startswith("sk-") and key["expires"] is not None
    assert key["models"] == ["gpt-3.5-turbo", "gpt-4", "claude-2", "gpt-5-not-deployed-yet", "beta-models"]
    answer = chat(url, key["key"], "my-gpt")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Hello from the mock."

    info = ok(admin(url, "GET", "/key/info", {"key": key["key"]}))["info"]
    assert info["team_id"] == team_id and info["metadata"]["user"] == "ishaan@berri.ai"
    assert info["aliases"] == {"my-gpt": "gpt-3.5-turbo"} and info["budget_reset_at"] is not None
    team_info = ok(admin(url, "GET", "/team/info", {"team_id": team_id}))
    assert team_info["team_info"]["team_alias"] == "my-new-team_4"
    assert team_info["team_info"]["budget_reset_at"] is not None

    user = ok(
        admin(
            url,
            "POST",
            "/user/new",
            {
                "user_email": "krrish@berri.ai",
                "user_role": "internal_user",
                "models": ["gpt-3.5-turbo"],
                "aliases": {"cheap": "gpt-3.5-turbo"},
                "teams": [team_id],
                "max_budget": 5,
                "budget_duration": "1mo",
            },
        )
    )
    assert user["key"].startswith("sk-") and user["user_email"] == "krrish@berri.ai"
    assert chat(url, user["key"], "cheap").status_code == 200
    user_info = ok(admin(url, "GET", "/user/info", {"user_id": user["user_id"]}))
    assert user_info["user_info"]["budget_reset_at"] is not None
    assert [t["team_id"] for t in user_info["teams"]] == [team_id]


def test_team_member_routes_answer_with_litellms_statuses(url: str) -> None:
    team_id = ok(admin(url, "POST", "/team/new", {"team_alias": "members"}))["team_id"]
    added = admin(url, "POST", "/team/member_add", {"team_id": team_id, "member": {"role": "user", "user_id": "ann"}})
    assert [u["user_id"] for u in ok(added)["updated_users"]] == ["ann"]
    updated = ok(admin(url, "POST", "/team/member_update", {"team_id": team_id, "user_id": "ann", "role": "admin"}))
    assert updated["team_id"] == team_id and updated["user_id"] == "ann"
    ok(admin(url, "POST", "/team/member_delete", {"team_id": team_id, "user_id": "ann"}))
    not_a_member = admin(url, "POST", "/team/member_delete", {"team_id": team_id, "user_id": "ann"})
    assert not_a_member.status_code == 400, not_a_member.text


def test_access_groups_and_models_not_deployed_yet(url: str) -> None:
    group_key = ok(admin(url, "POST", "/key/generate", {"models": ["beta-models"]}))["key"]
    assert chat(url, group_key, "gpt-4").status_code == 200
    refused = chat(url, group_key, "claude-2")
    assert refused.status_code == 401 and refused.json()["error"]["param"] == "model"  # LiteLLM's status
    future_key = ok(admin(url, "POST", "/key/generate", {"models": ["gpt-5-not-deployed-yet"]}))["key"]
    assert chat(url, future_key, "gpt-3.5-turbo").status_code == 401
    listed = httpx.get(url + "/v1/models", headers={"Authorization": f"Bearer {group_key}"}, timeout=30).json()
    assert [m["id"] for m in listed["data"]] == ["gpt-4"]
