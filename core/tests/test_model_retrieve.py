"""``GET /v1/models/{model}``: one model in OpenAI's shape, only for a caller that may use it.

Driven by the official ``openai`` SDK (``client.models.retrieve``); a key is restricted by the
``gateway_auth`` hook, the way gateway-virtual-keys restricts one.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from gateway import Principal, hookimpl
from gateway.testing import FakeUpstream

from .conftest import MASTER, openai_config

RESTRICTED = "sk-only-embeddings"


class RestrictedKeys:
    gateway_plugin_name = "restricted_keys"

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        if api_key == RESTRICTED:
            return Principal(id="k1", kind="virtual_key", models=frozenset({"text-embedding-3-small"}))
        return None


@pytest.fixture
def gateway(fake_upstream: FakeUpstream, gateway_factory: Any) -> Any:
    config = openai_config(fake_upstream, router_settings={"model_group_alias": {"fast": "gpt-4o"}})
    return gateway_factory(config, plugins=[RestrictedKeys()])


def test_a_model_is_retrieved_in_openais_shape(gateway: Any) -> None:
    model = gateway.openai().models.retrieve("gpt-4o")
    assert (model.id, model.object, model.owned_by) == ("gpt-4o", "model", "openai")
    listed = {m.id: m for m in gateway.openai().models.list()}
    assert model == listed["gpt-4o"]
    # an alias is a model the caller may name: it is found too, as /v1/models lists it
    assert gateway.openai().models.retrieve("fast").id == "fast"
    raw = httpx.get(gateway.url + "/models/gpt-4o", headers={"Authorization": f"Bearer {MASTER}"})
    assert raw.status_code == 200 and raw.json()["id"] == "gpt-4o"


def test_an_unknown_model_is_an_openai_404(gateway: Any) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        gateway.openai().models.retrieve("gpt-5-nope")
    body = err.value.body
    assert (body["code"], body["param"], body["type"]) == ("model_not_found", "model", "invalid_request_error")
    assert "/v1/models" in body["message"]


def test_a_key_sees_only_the_models_it_may_use(gateway: Any) -> None:
    client = gateway.openai(api_key=RESTRICTED)
    assert [m.id for m in client.models.list()] == ["text-embedding-3-small"]
    assert client.models.retrieve("text-embedding-3-small").id == "text-embedding-3-small"
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("gpt-4o")  # exists, but not for this key: the same 404 as an unknown name
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        gateway.openai(api_key="sk-wrong").models.retrieve("gpt-4o")


def test_a_model_name_with_a_slash_is_one_name(gateway: Any) -> None:
    missing = httpx.get(gateway.base_url + "/models/openai/gpt-4o", headers={"Authorization": f"Bearer {MASTER}"})
    assert missing.status_code == 404
    assert "'openai/gpt-4o'" in missing.json()["error"]["message"]
