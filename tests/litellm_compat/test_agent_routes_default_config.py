"""Issue 17's routes with real clients on the default config (``make run``'s gateway: mock models,
the master key, every installed plugin): the ``anthropic`` SDK's ``messages.count_tokens``, the
``openai.AzureOpenAI`` client, and the ``openai`` SDK's ``models.retrieve``.
"""

# ruff: noqa: F811 - the gateway fixture imported from test_real_clients is used as a parameter of the same name

from __future__ import annotations

import sys
from pathlib import Path

import anthropic
import openai
import pytest

from gateway import tokens

# sibling test modules by their plain name: core/tests is a package named "tests", so
# "tests.<module>" does not name them reliably (it depends on the order pytest collects in)
sys.path.insert(0, str(Path(__file__).parent))
from test_real_clients import (  # noqa: F401 - fixture used by name
    GPT_4O,
    MASTER,
    GatewayProcess,
    default_gateway,
)

QUESTION = "Which files changed in the last commit?"


def test_anthropic_sdk_counts_tokens_of_a_mock_model(default_gateway: GatewayProcess) -> None:
    client = anthropic.Anthropic(base_url=default_gateway.url, api_key=MASTER, max_retries=0)
    counted = client.messages.count_tokens(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    # counted by the gateway with the tokenizer it ships: the text, the message's framing, the reply's priming
    assert counted.input_tokens == tokens.count_text(QUESTION) + tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="claude-unknown", messages=[{"role": "user", "content": QUESTION}])


def test_azure_openai_client_completes_a_turn(default_gateway: GatewayProcess) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=default_gateway.url, api_key=MASTER, api_version="2024-10-21", max_retries=0
    )
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert reply.choices[0].message.content == GPT_4O
    streamed = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == GPT_4O
    embedded = client.embeddings.create(model="text-embedding-3-small", input="a")
    assert len(embedded.data) == 1 and embedded.data[0].embedding


def test_openai_sdk_retrieves_a_model(default_gateway: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=default_gateway.url + "/v1", api_key=MASTER, max_retries=0)
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-5")
