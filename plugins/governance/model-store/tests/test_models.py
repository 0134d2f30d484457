"""/model/new, /model/update, /model/delete on SQLite and PostgreSQL: served at once, reported by
/model/info and /model_group/info without credentials, refused with a 400 that names the field
(nothing stored), and only for admin keys."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from ms_testkit import MASTER
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.testing import FakeUpstream

pytestmark = pytest.mark.anyio
SECRET = "sk-upstream-secret-never-shown-0001"
LOAD = "openai,model_store,virtual_keys"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def only_these_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", LOAD)
    monkeypatch.setenv("LITELLM_SALT_KEY", "salt-for-the-model-store-tests")


def config(database_url: str, upstream: FakeUpstream, **general: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "from-yaml",
                "litellm_params": {"model": "openai/yaml-model", "api_key": "sk-yaml", "api_base": upstream.base_url},
                "model_info": {"id": "yaml-1"},
            }
        ],
        "general_settings": {
            "master_key": MASTER,
            "database_url": database_url,
            "store_model_in_db": True,
            **general,
        },
        "plugins": {"virtual_keys": {"revocation_wait": False}},
    }


def new_body(upstream: FakeUpstream, name: str = "runtime-model", **params: Any) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": "openai/upstream-model",
            "api_key": SECRET,
            "api_base": upstream.base_url,
            "rpm": 60,
            "input_cost_per_token": 0.000001,
            **params,
        },
        "model_info": {"id": "m-1", "mode": "chat"},
    }


async def chat(client: Any, model: str) -> Any:
    return await client.post(
        "/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
    )


async def stored_rows(database_url: str) -> list[Any]:
    url = database_url.replace("sqlite://", "sqlite+aiosqlite://").replace("postgresql://", "postgresql+asyncpg://")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.text("SELECT model_id, litellm_params FROM ms_models"))).all())
    finally:
        await engine.dispose()


async def test_a_model_added_updated_and_deleted_is_served_at_once(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        assert (await chat(client, "runtime-model")).status_code == 404

        created = await client.post("/model/new", json=new_body(fake_upstream))
        assert created.status_code == 200, created.text
        assert created.json()["model_id"] == "m-1"
        assert SECRET not in created.text

        answer = await chat(client, "runtime-model")
        assert answer.status_code == 200, answer.text
        upstream_call = fake_upstream.requests[-1]
        assert upstream_call.json["model"] == "upstream-model"
        assert upstream_call.headers["authorization"] == f"Bearer {SECRET}"

        # credentials are stored encrypted: the row holds neither the key nor the base URL in clear
        ((model_id, sealed),) = await stored_rows(database_url)
        assert model_id == "m-1" and SECRET not in sealed and fake_upstream.base_url not in sealed

        updated = await client.post(
            "/model/update", json={"model_info": {"id": "m-1"}, "litellm_params": {"model": "openai/other-model"}}
        )
        assert updated.status_code == 200, updated.text
        assert (await chat(client, "runtime-model")).status_code == 200
        assert fake_upstream.requests[-1].json["model"] == "other-model"
        assert fake_upstream.requests[-1].headers["authorization"] == f"Bearer {SECRET}"  # merged, key kept

        deleted = await client.post("/model/delete", json={"id": "m-1"})
        assert deleted.status_code == 200
        assert deleted.json() == {"message": "Model: m-1 deleted successfully"}
        gone = await chat(client, "runtime-model")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
        assert await stored_rows(database_url) == []
        assert (await client.post("/model/delete", json={"id": "m-1"})).status_code == 404


async def test_model_info_reports_prices_limits_health_and_cooldown_without_secrets(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        assert (await client.post("/model/new", json=new_body(fake_upstream))).status_code == 200
        info = await client.get("/model/info")
        assert info.status_code == 200
        assert SECRET not in info.text and "sk-yaml" not in info.text
        by_id = {entry["model_info"]["id"]: entry for entry in info.json()["data"]}
        stored = by_id["m-1"]
        assert stored["model_name"] == "runtime-model"
        assert stored["litellm_params"]["model"] == "openai/upstream-model"
        assert stored["litellm_params"]["api_base"] == fake_upstream.base_url
        assert "api_key" not in stored["litellm_params"]
        assert stored["model_info"]["db_model"] is True
        assert stored["model_info"]["input_cost_per_token"] == 0.000001
        assert stored["model_info"]["rpm"] == 60
        assert stored["model_info"]["cooldown_seconds_left"] is None
        assert by_id["yaml-1"]["model_info"]["db_model"] is False

        one = await client.get("/v1/model/info", params={"litellm_model_id": "m-1"})
        assert [e["model_info"]["id"] for e in one.json()["data"]] == ["m-1"]

        # a live check (admin /health) is then reported as the deployment's health
        assert (await client.get("/health", params={"model": "runtime-model"})).status_code == 200
        checked = (await client.get("/model/info", params={"litellm_model_id": "m-1"})).json()["data"][0]
        assert checked["model_info"]["health"]["healthy"] is True

        groups = await client.get("/model_group/info", params={"model_group": "runtime-model"})
        (group,) = groups.json()["data"]
        assert group["model_group"] == "runtime-model"
        assert group["providers"] == ["openai"]
        assert group["rpm"] == 60 and group["input_cost_per_token"] == 0.000001
        assert group["deployments_cooling_down"] == [] and group["deployments_unhealthy"] == []


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (
            {"model_name": "x", "litellm_params": {"model": "nosuchprovider/m", "api_key": "k"}},
            "litellm_params.model",
            "no installed plugin serves the provider 'nosuchprovider'",
        ),
        ({"model_name": "x", "litellm_params": {"model": "openai/gpt-4o"}}, "litellm_params.api_key", "no credentials"),
        (
            {"model_name": "x", "litellm_params": {"model": "openai/m", "api_key": "k", "rpm": -1}},
            "litellm_params.rpm",
            "greater than or equal to 0",
        ),
        (
            {"model_name": "x", "litellm_params": {"model": "openai/m", "api_key": "k", "tyop": 1}},
            "litellm_params.tyop",
            "unknown key",
        ),
        ({"model_name": "x"}, "litellm_params.model", "litellm_params.model is required"),
        ({"litellm_params": {"model": "openai/m", "api_key": "k"}}, "model_name", "model_name is required"),
        (
            {"model_name": "x", "litellm_params": {"model": "openai/m", "api_key": "os.environ/MS_TEST_UNSET_VAR"}},
            "litellm_params.api_key",
            "MS_TEST_UNSET_VAR",
        ),
        (
            {"model_name": "from-yaml", "litellm_params": {"model": "openai/m", "api_key": "k"}},
            "model_name",
            "config file",
        ),
        (
            {
                "model_name": "x",
                "litellm_params": {"model": "openai/m", "api_key": "k"},
                "model_info": {"id": "yaml-1"},
            },
            "model_info.id",
            "config file",
        ),
        (
            {"model_name": "x", "litellm_params": {"model": "openai/m", "api_key": "k"}, "extra": 1},
            "extra",
            "unknown field",
        ),
    ],
)
async def test_a_model_that_cannot_be_served_is_refused_and_nothing_is_stored(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str, body: dict[str, Any], param: str, words: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        answer = await client.post("/model/new", json=body)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["param"] == param
        assert words in error["message"]
        assert error["message"] != "k"
        assert await stored_rows(database_url) == []
        assert [e["model_name"] for e in (await client.get("/model/info")).json()["data"]] == ["from-yaml"]


async def test_the_config_files_models_are_not_changed_through_the_api(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        update = await client.post("/model/update", json={"model_info": {"id": "yaml-1"}, "litellm_params": {"rpm": 1}})
        assert update.status_code == 400 and "config file" in update.json()["error"]["message"]
        delete = await client.post("/model/delete", json={"id": "yaml-1"})
        assert delete.status_code == 400 and "reload" in delete.json()["error"]["message"]
        assert (await chat(client, "from-yaml")).status_code == 200
        missing = await client.post("/model/update", json={"model_info": {"id": "nope"}, "litellm_params": {"rpm": 1}})
        assert missing.status_code == 404


async def test_without_store_model_in_db_the_routes_say_how_to_turn_it_on(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(
        config(database_url, fake_upstream, store_model_in_db=False), load_entrypoints=True
    ) as client:
        answer = await client.post("/model/new", json=new_body(fake_upstream))
        assert answer.status_code == 400
        assert "store_model_in_db: true" in answer.json()["error"]["message"]


async def key_for(client: Any, **fields: Any) -> str:
    answer = await client.post("/key/generate", json=fields)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["key"])


async def test_only_admins_change_models_and_every_key_reads_the_ones_it_may_use(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        assert (await client.post("/model/new", json=new_body(fake_upstream))).status_code == 200
        for role in ("proxy_admin", "internal_user", "internal_user_viewer"):
            assert (await client.post("/user/new", json={"user_id": f"u-{role}", "user_role": role})).status_code == 200
        team = await client.post(
            "/team/new",
            json={"team_id": "t-1", "members_with_roles": [{"role": "admin", "user_id": "u-internal_user"}]},
        )
        assert team.status_code == 200, team.text
        org = await client.post("/organization/new", json={"organization_id": "o-1", "organization_alias": "o-1"})
        assert org.status_code == 200, org.text
        boss = await client.post(
            "/organization/member_add",
            json={"organization_id": "o-1", "member": {"user_id": "u-org-admin", "role": "org_admin"}},
        )
        assert boss.status_code == 200, boss.text
        callers = {
            "proxy admin": (await key_for(client, user_id="u-proxy_admin"), 200),
            "org admin": (await key_for(client, user_id="u-org-admin"), 403),
            "team admin": (await key_for(client, user_id="u-internal_user", team_id="t-1"), 403),
            "internal user": (await key_for(client, user_id="u-internal_user_viewer"), 403),
            "plain key": (await key_for(client, models=["from-yaml"]), 403),
        }
        for who, (key, status) in callers.items():
            headers = {"authorization": f"Bearer {key}"}
            body = new_body(fake_upstream, name=f"by-{who.replace(' ', '-')}")
            body["model_info"] = {"id": f"id-{who.replace(' ', '-')}"}
            answer = await client.post("/model/new", json=body, headers=headers)
            assert answer.status_code == status, (who, answer.text)
            for path, payload in (("/model/update", {"model_info": {"id": "m-1"}}), ("/model/delete", {"id": "m-1"})):
                assert (await client.post(path, json=payload, headers=headers)).status_code == (
                    status if status == 403 else 200
                ), (who, path)
            if status == 200:  # the admin deleted m-1 above: put it back for the next caller
                assert (await client.post("/model/new", json=new_body(fake_upstream))).status_code == 200
        anonymous = {"authorization": ""}
        assert (await client.post("/model/new", json=new_body(fake_upstream), headers=anonymous)).status_code == 401

        # reading: a key sees the model groups it may use, an admin every one
        plain_key = callers["plain key"][0]
        seen = await client.get("/model/info", headers={"authorization": f"Bearer {plain_key}"})
        assert seen.status_code == 200
        assert {e["model_name"] for e in seen.json()["data"]} == {"from-yaml"}
        everything = await client.get("/model/info")
        assert {"from-yaml", "runtime-model"} <= {e["model_name"] for e in everything.json()["data"]}
        assert (await client.get("/model/info", headers=anonymous)).status_code == 401


async def test_concurrent_adds_of_one_id_store_it_once(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        answers = await asyncio.gather(*(client.post("/model/new", json=new_body(fake_upstream)) for _ in range(5)))
        assert sorted(a.status_code for a in answers) == [200, 400, 400, 400, 400]
        assert len(await stored_rows(database_url)) == 1


async def test_v1_models_lists_a_model_added_at_runtime_with_its_access_groups(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        body = new_body(fake_upstream)
        body["model_info"]["access_groups"] = ["runtime-team"]
        assert (await client.post("/model/new", json=body)).status_code == 200
        listed = await client.get("/v1/models", params={"include_model_access_groups": "true"})
        by_id = {m["id"]: m for m in listed.json()["data"]}
        assert by_id["runtime-model"]["owned_by"] == "openai"
        assert "runtime-team" in by_id
        assert (await client.post("/model/delete", json={"id": "m-1"})).status_code == 200
        names = {
            m["id"]
            for m in (await client.get("/v1/models", params={"include_model_access_groups": "true"})).json()["data"]
        }
        assert "runtime-model" not in names and "runtime-team" not in names


async def test_a_model_added_at_runtime_is_priced_for_budgets(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gateway-spend indexes prices at start-up; a runtime model's price reaches it (a budget that the
    model's price exceeds refuses the request before any upstream call, as for the file's models)."""
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", LOAD + ",spend")
    settings = config(database_url, fake_upstream)
    settings["plugins"]["spend"] = {"wal_dir": str(tmp_path / "wal")}
    async with gateway_client(settings, load_entrypoints=True) as client:
        dear = new_body(fake_upstream, name="dear-model", input_cost_per_token=1.0, output_cost_per_token=1.0)
        assert (await client.post("/model/new", json=dear)).status_code == 200
        key = await key_for(client, max_budget=0.5)
        calls = len(fake_upstream.requests)
        refused = await client.post(
            "/v1/chat/completions",
            json={"model": "dear-model", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": f"Bearer {key}"},
        )
        assert refused.status_code == 422, refused.text
        assert "budget" in refused.json()["error"]["message"].lower()
        assert len(fake_upstream.requests) == calls


async def test_a_stored_model_another_salt_key_cannot_open_is_reported_and_not_served(
    gateway_client: Any, fake_upstream: FakeUpstream, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        assert (await client.post("/model/new", json=new_body(fake_upstream))).status_code == 200
    monkeypatch.setenv("LITELLM_SALT_KEY", "another-salt")
    async with gateway_client(config(database_url, fake_upstream), load_entrypoints=True) as client:
        assert (await chat(client, "runtime-model")).status_code == 404
        assert (await chat(client, "from-yaml")).status_code == 200
        details = (await client.get("/health/readiness/details")).json()
        assert details["model_store"]["not_served"] == {
            "m-1": "cannot be decrypted with this salt key (was LITELLM_SALT_KEY changed?)"
        }
        assert SECRET not in str(details)
