"""``/v1/messages/count_tokens`` follows the deployments when they change at runtime (``POST
/config/reload`` of a changed file; gateway-model-store's ``/model/new`` goes through the same
listener): a group given an ``anthropic/`` deployment is counted by that upstream, a group whose
``anthropic/`` deployment is gone is counted here, a deleted group is unknown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import yaml
from gateway_anthropic.testing import FakeAnthropic, count_request_tokens

from gateway import tokens
from gateway.testing import FakeUpstream

MASTER = "sk-test-master"
MESSAGES = [{"role": "user", "content": "What is the weather in Paris today?"}]


@pytest.fixture
def from_file(start: Any, tmp_path: Path) -> Callable[[dict[str, Any]], tuple[Any, Callable[[dict[str, Any]], None]]]:
    """``from_file(config)`` -> (gateway started from a YAML file, ``reload(config)``: rewrite it, reload)."""
    path = tmp_path / "gateway.yaml"

    def run(config: dict[str, Any]) -> tuple[Any, Callable[[dict[str, Any]], None]]:
        path.write_text(yaml.safe_dump(config))
        gw = start(str(path))

        def reload(changed: dict[str, Any]) -> None:
            path.write_text(yaml.safe_dump(changed))
            answer = httpx.post(gw.url + "/config/reload", headers={"Authorization": f"Bearer {MASTER}"})
            assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text

        return gw, reload

    return run


def client(gw: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)


def test_an_anthropic_deployment_added_at_runtime_counts_its_group_upstream(
    from_file: Any, make_config: Any, anthropic_server: FakeAnthropic, fake_upstream: FakeUpstream
) -> None:
    gw, reload = from_file(make_config(None, fake_upstream))  # gpt only
    with pytest.raises(anthropic.NotFoundError):
        client(gw).messages.count_tokens(model="claude", messages=MESSAGES)
    reload(make_config(anthropic_server, fake_upstream))  # claude -> anthropic/claude-sonnet-4-5
    counted = client(gw).messages.count_tokens(model="claude", messages=MESSAGES)
    sent = anthropic_server.requests[-1]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.json["model"] == "claude-sonnet-4-5" and sent.headers["x-api-key"] == "sk-ant-test"
    assert counted.input_tokens == count_request_tokens(sent.json)  # the upstream's count, as it answered
    assert anthropic_server.rejections == []


def test_a_group_whose_anthropic_deployment_is_deleted_at_runtime_is_counted_here(
    from_file: Any, make_config: Any, anthropic_server: FakeAnthropic, fake_upstream: FakeUpstream
) -> None:
    config = make_config(anthropic_server, fake_upstream)
    gw, reload = from_file(config)
    client(gw).messages.count_tokens(model="claude", messages=MESSAGES)
    assert len(anthropic_server.requests) == 1  # counted upstream while it is an anthropic/ group
    # the anthropic/ deployment is deleted; the group name now serves an OpenAI-format model
    claude = next(e for e in config["model_list"] if e["model_name"] == "claude")
    claude["litellm_params"] = {"model": "openai/gpt-4o", "api_base": fake_upstream.base_url, "api_key": "sk-up"}
    reload(config)
    counted = client(gw).messages.count_tokens(model="claude", messages=MESSAGES)
    assert counted.input_tokens == tokens.count_text(MESSAGES[0]["content"]) + tokens.TOKENS_PER_MESSAGE + 3
    assert len(anthropic_server.requests) == 1 and fake_upstream.requests == []  # nothing called upstream
    config["model_list"] = [e for e in config["model_list"] if e["model_name"] != "claude"]
    reload(config)  # the group is gone altogether
    with pytest.raises(anthropic.NotFoundError) as unknown:
        client(gw).messages.count_tokens(model="claude", messages=MESSAGES)
    assert unknown.value.body["type"] == "error" and "claude" in unknown.value.body["error"]["message"]
    assert len(anthropic_server.requests) == 1
