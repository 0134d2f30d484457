"""Azure OpenAI's routes, driven by the official ``openai.AzureOpenAI`` client.

``/openai/deployments/{deployment}/chat/completions`` (and ``/completions``, ``/embeddings``) with
``?api-version=``: the deployment in the path is the model group, the ``api-key`` header is the
credential.  https://learn.microsoft.com/azure/ai-services/openai/reference
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from gateway import Principal, fake_openai, hookimpl
from gateway.testing import FakeUpstream

from .conftest import MASTER, openai_config

API_VERSION = "2024-10-21"
ONLY_EMBEDDINGS = "sk-only-embeddings"
MESSAGES = [{"role": "user", "content": "Say hello"}]


class OnlyEmbeddings:
    gateway_plugin_name = "only_embeddings"

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        if api_key == ONLY_EMBEDDINGS:
            return Principal(id="k1", kind="virtual_key", models=frozenset({"text-embedding-3-small"}))
        return None


@pytest.fixture
def gateway(fake_upstream: FakeUpstream, gateway_factory: Any) -> Any:
    return gateway_factory(openai_config(fake_upstream), plugins=[OnlyEmbeddings()])


def azure(gateway: Any, key: str = MASTER, **kwargs: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=gateway.url, api_key=key, api_version=API_VERSION, max_retries=0, **kwargs)


def test_chat_completions_on_the_deployment_route(gateway: Any, fake_upstream: FakeUpstream) -> None:
    reply = azure(gateway).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert reply.choices[0].message.content == fake_upstream.content
    assert reply.usage is not None and reply.usage.prompt_tokens == fake_openai.prompt_tokens(MESSAGES)
    assert fake_upstream.requests[-1].path == "/v1/chat/completions"
    assert fake_upstream.requests[-1].json["model"] == "gpt-4o"


def test_the_deployment_in_the_path_is_the_model(gateway: Any, fake_upstream: FakeUpstream) -> None:
    """A client bound to a deployment (``azure_deployment``) may name any model in the body: the path wins."""
    client = azure(gateway, azure_deployment="gpt-4o")
    reply = client.chat.completions.create(model="whatever-the-body-says", messages=MESSAGES)
    assert reply.choices[0].message.content == fake_upstream.content
    # and a body with no model at all, as Azure's REST examples send it
    raw = httpx.post(
        gateway.url + f"/openai/deployments/gpt-4o/chat/completions?api-version={API_VERSION}",
        headers={"api-key": MASTER},
        json={"messages": MESSAGES},
    )
    assert raw.status_code == 200 and raw.json()["choices"][0]["message"]["content"] == fake_upstream.content
    # the path is percent-decoded once, by the server, like any path
    encoded = httpx.post(
        gateway.url + f"/openai/deployments/gpt%2D4o/chat/completions?api-version={API_VERSION}",
        headers={"api-key": MASTER},
        json={"messages": MESSAGES},
    )
    assert encoded.status_code == 200, encoded.text


def test_streaming_on_the_deployment_route(gateway: Any, fake_upstream: FakeUpstream) -> None:
    stream = azure(gateway).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == fake_upstream.content


def test_embeddings_and_completions_on_the_deployment_routes(gateway: Any, fake_upstream: FakeUpstream) -> None:
    client = azure(gateway)
    emb = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [d.embedding for d in emb.data] == [fake_openai.embedding_vector("a"), fake_openai.embedding_vector("b")]
    assert fake_upstream.requests[-1].path == "/v1/embeddings"
    text = client.completions.create(model="gpt-4o", prompt="Once upon a time")
    assert text.choices[0].text == fake_upstream.content
    assert fake_upstream.requests[-1].path == "/v1/completions"


def test_the_api_key_header_is_the_credential_and_keys_keep_their_limits(gateway: Any) -> None:
    restricted = azure(gateway, ONLY_EMBEDDINGS)
    assert restricted.embeddings.create(model="text-embedding-3-small", input="a").data
    with pytest.raises(openai.AuthenticationError) as denied:
        restricted.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert denied.value.body["type"] == "key_model_access_denied"
    with pytest.raises(openai.AuthenticationError):
        azure(gateway, "sk-wrong").chat.completions.create(model="gpt-4o", messages=MESSAGES)


def test_an_unknown_deployment_is_an_openai_404_naming_it(gateway: Any) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        azure(gateway).chat.completions.create(model="no-such-deployment", messages=MESSAGES)
    assert "no-such-deployment" in missing.value.body["message"]
    assert missing.value.body["param"] == "model"
