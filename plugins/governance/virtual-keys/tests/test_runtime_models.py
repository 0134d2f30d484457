"""Access groups follow the deployments when they change at runtime (``POST /config/reload`` of a
changed file; gateway-model-store's ``/model/new`` goes through the same listener): a key listing an
access group may use a model added to the group, and no longer a model taken out of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from vk_testkit import MASTER, Api, Database, start, vk_config


@pytest.fixture
def from_file(database: Database, tmp_path: Path) -> Any:
    """A gateway started from a YAML file; ``reload(config)`` rewrites the file and reloads it."""
    path = tmp_path / "gateway.yaml"
    config = vk_config(database.url)
    path.write_text(yaml.safe_dump(config))
    running = start(str(path))
    api = Api(running, MASTER)

    def reload(changed: dict[str, Any]) -> None:
        path.write_text(yaml.safe_dump(changed))
        answer = api.ok("POST", "/config/reload")
        assert answer["status"] == "ok", answer

    try:
        yield api, config, reload
    finally:
        api.close()
        running.stop()


def chat_as(api: Api, key: str, user: str, model: str) -> httpx.Response:
    """A request naming its customer (OpenAI's ``user``)."""
    return api.http.post(
        "/v1/chat/completions",
        json={"model": model, "user": user, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
    )


def eventually(answer: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Customers are re-read from the database after the change, off the reload's answer: ask until
    they are (a bound against hanging, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while (response := answer()).status_code != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return response


def echo_model(name: str, *access_groups: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {"model": f"echo/{name}"},
        "model_info": {"access_groups": list(access_groups)},
    }


def test_a_model_added_to_an_access_group_at_runtime_may_be_used_by_its_keys(from_file: Any) -> None:
    api, config, reload = from_file
    grouped = api.new_key(models=["chat-models"])["key"]
    assert api.chat(grouped, "gpt-4o").status_code == 200  # resolved now, with the group as it was
    api.ok("POST", "/customer/new", {"user_id": "shop-1", "models": ["chat-models"]})
    assert chat_as(api, grouped, "shop-1", "gpt-4o").status_code == 200
    config["model_list"].append(echo_model("gpt-5", "chat-models"))
    config["model_list"].append(echo_model("embedder", "other-models"))
    reload(config)
    answer = api.chat(grouped, "gpt-5")
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "gpt-5"
    assert api.chat(grouped, "embedder").status_code == 401  # served, but not in the key's group
    served = eventually(lambda: chat_as(api, grouped, "shop-1", "gpt-5"), 200)  # the customer's group too
    assert served.status_code == 200, served.text
    narrow = api.new_key(models=["other-models"])["key"]  # a key made after the change
    assert api.chat(narrow, "embedder").status_code == 200 and api.chat(narrow, "gpt-5").status_code == 401


def test_a_model_taken_out_of_an_access_group_at_runtime_is_refused_to_its_keys(from_file: Any) -> None:
    api, config, reload = from_file
    grouped = api.new_key(models=["chat-models"])["key"]
    assert api.chat(grouped, "claude-sonnet").status_code == 200
    for entry in config["model_list"]:
        if entry["model_name"] == "claude-sonnet":
            entry["model_info"]["access_groups"] = []  # still served, no longer in the group
    config["model_list"] = [e for e in config["model_list"] if e["model_name"] != "gpt-4o-mini"]  # deleted
    reload(config)
    denied = api.chat(grouped, "claude-sonnet")
    assert denied.status_code == 401, denied.text
    assert denied.json()["error"]["param"] == "model"
    gone = api.chat(grouped, "gpt-4o-mini")  # deleted: not served at all now
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"
    assert api.chat(grouped, "gpt-4o").status_code == 200  # the rest of the group stays
    everything = api.new_key()["key"]
    assert api.chat(everything, "claude-sonnet").status_code == 200
