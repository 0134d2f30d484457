"""The seed walkthrough, call for call: curl (no Content-Type), the OpenAI SDK, /key/info, /team/info.

Source: shared/reference/seed-litellm-in-practice.txt ("Virtual Keys" and "Cost Governance").
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import openai
import orjson
import pytest
from vk_testkit import MASTER

SEED_BODY = '{"user_id":"alice@","team_id":"engineering","models":["gpt-4o"],"max_budget":200}'


def curl_generate(url: str) -> dict[str, Any]:
    """The seed's command, character for character (curl -d sends a form Content-Type)."""
    completed = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{url}/key/generate", "-H", f"Authorization: Bearer {MASTER}", "-d", SEED_BODY],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return orjson.loads(completed.stdout)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_seed_sequence_works_end_to_end(gateway_for: Any) -> None:
    running, api = gateway_for()
    generated = curl_generate(running.url)
    key = generated["key"]
    assert key.startswith("sk-") and len(key) >= 35
    assert generated["user_id"] == "alice@" and generated["team_id"] == "engineering"
    assert generated["models"] == ["gpt-4o"] and generated["max_budget"] == 200

    client = openai.OpenAI(base_url=running.base_url, api_key=key, max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "Hello from echo"
    with pytest.raises(openai.AuthenticationError):  # 401, as LiteLLM answers a model outside the key's
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    assert [m.id for m in client.models.list()] == ["gpt-4o"]

    info = api.ok("GET", "/key/info", {"key": key})
    assert info["info"]["team_id"] == "engineering" and info["info"]["max_budget"] == 200
    assert info["info"]["spend"] == 0 and info["info"]["models"] == ["gpt-4o"]
    team = api.ok("GET", "/team/info", {"team_id": "engineering"})
    assert team["team_id"] == "engineering"
    assert [k["token_id"] for k in team["keys"]] == [generated["token_id"]]
    assert team["team_info"]["spend"] == 0
