"""Chat through a running gateway with the official ``openai`` SDK, against the local Bedrock Runtime.

Wire shapes are cited in ``gateway_bedrock.testing`` (Converse API reference and the pages listed there);
the fake server checks the SigV4 signature and refuses what Bedrock refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from gateway_bedrock.testing import (
    ACCESS_KEY,
    MODEL_ID,
    REGION,
    SESSION_TOKEN,
    BedrockReply,
    FakeBedrock,
    bedrock_config,
    converse_response,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
USER = [{"role": "user", "content": "Hi"}]


def test_plain_chat_is_signed_and_translated(proxy: Any, bedrock: FakeBedrock) -> None:
    reply = proxy.openai().chat.completions.create(
        model="claude-bedrock", messages=USER, max_tokens=64, temperature=0.3, top_p=0.9
    )
    assert reply.choices[0].message.content == "Hello from Bedrock."
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (9, 4, 13)
    sent = bedrock.requests[-1]
    # the model id's ':' is percent-encoded in the path, exactly as signed
    assert sent.raw_path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    assert sent.region == REGION and sent.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/"
    )
    assert sent.body == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.3, "topP": 0.9},
    }


def test_session_token_is_signed_and_sent(bedrock: FakeBedrock, gateway_factory: Any) -> None:
    import gateway_bedrock

    gw = gateway_factory(bedrock_config(bedrock, session_token=True), plugins=[gateway_bedrock], load_entrypoints=False)
    gw.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert bedrock.requests[-1].headers["x-amz-security-token"] == SESSION_TOKEN


def chain_config(bedrock: FakeBedrock, **params: Any) -> dict[str, Any]:
    """A config whose deployment names no keys and no region: both come from the standard AWS chain."""
    config = bedrock_config(bedrock)
    deployment = config["model_list"][0]["litellm_params"]
    for name in ("aws_access_key_id", "aws_secret_access_key", "aws_region_name"):
        del deployment[name]
    deployment.update(params)
    return config


def test_credentials_from_the_environment_chain(
    bedrock: FakeBedrock, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway_bedrock

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("AWS_REGION", REGION)
    config = chain_config(bedrock)
    gw = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    for _ in range(2):  # the second request reuses the cached credentials
        assert gw.openai().chat.completions.create(model="claude-bedrock", messages=USER).choices[0].message.content
    assert bedrock.requests[-1].region == REGION


def test_credentials_from_a_named_profile(
    bedrock: FakeBedrock, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import gateway_bedrock

    (tmp_path / "credentials").write_text(
        f"[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = test-secret-key\n"
    )
    (tmp_path / "config").write_text(f"[profile team]\nregion = {REGION}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    config = chain_config(bedrock, aws_profile_name="team")
    gw = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    assert gw.openai().chat.completions.create(model="claude-bedrock", messages=USER).choices[0].message.content
    assert bedrock.requests[-1].region == REGION


def test_temporary_credentials_are_refreshed_off_the_event_loop(
    bedrock: FakeBedrock, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A ``credential_process`` profile gives credentials that expire; botocore refreshes them when they near expiry."""
    import sys

    import gateway_bedrock

    calls = tmp_path / "calls"
    script = tmp_path / "creds.py"
    script.write_text(
        "import datetime, json, pathlib\n"
        f"p = pathlib.Path({str(calls)!r}); p.write_text(p.read_text() + 'x' if p.exists() else 'x')\n"
        "expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)\n"
        f"print(json.dumps({{'Version': 1, 'AccessKeyId': {ACCESS_KEY!r}, 'SecretAccessKey': 'test-secret-key',\n"
        f"                  'SessionToken': {SESSION_TOKEN!r}, 'Expiration': expires.isoformat()}}))\n"
    )
    (tmp_path / "config").write_text(
        f"[profile temp]\nregion = {REGION}\ncredential_process = {sys.executable} {script}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    config = chain_config(bedrock, aws_profile_name="temp")
    gw = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    counts = []
    for _ in range(2):
        assert gw.openai().chat.completions.create(model="claude-bedrock", messages=USER).choices[0].message.content
        counts.append(len(calls.read_text()))
    assert bedrock.requests[-1].headers["x-amz-security-token"] == SESSION_TOKEN
    # credentials that expire within botocore's refresh window are fetched again for the next request
    assert counts[1] == counts[0] + 1


def test_missing_credentials_is_a_clear_gateway_error(bedrock: FakeBedrock, gateway_factory: Any) -> None:
    import gateway_bedrock
    import openai

    config = bedrock_config(bedrock)
    params = config["model_list"][0]["litellm_params"]
    del params["aws_access_key_id"], params["aws_secret_access_key"]
    gw = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    with pytest.raises(openai.APIStatusError) as caught:
        gw.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert caught.value.status_code == 502 and "no AWS credentials found" in caught.value.body["message"]
    assert bedrock.hits == 0


def test_multi_turn_with_system(proxy: Any, bedrock: FakeBedrock) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "One."},
        {"role": "user", "content": [{"type": "text", "text": "Two."}]},
    ]
    proxy.openai().chat.completions.create(model="claude-bedrock", messages=messages, stop=["END"])
    body = bedrock.requests[-1].body
    assert body["system"] == [{"text": "Be brief."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Hello"}]},
        {"role": "assistant", "content": [{"text": "Hi."}]},
        {"role": "user", "content": [{"text": "One."}, {"text": "Two."}]},
    ]
    assert body["inferenceConfig"] == {"stopSequences": ["END"]}


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_tool_call_round_trip(proxy: Any, bedrock: FakeBedrock) -> None:
    bedrock.enqueue(
        BedrockReply(
            json=converse_response(
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "tooluse_2", "name": "get_weather", "input": {"city": "Oslo"}}},
                stop="tool_use",
            )
        )
    )
    client = proxy.openai()
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    first = client.chat.completions.create(
        model="claude-bedrock", messages=messages, tools=[WEATHER], tool_choice="required"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Let me check."
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        ("tooluse_1", "get_weather", '{"city":"Paris"}'),
        ("tooluse_2", "get_weather", '{"city":"Oslo"}'),
    ]
    assert bedrock.requests[-1].body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},
                }
            }
        ],
        "toolChoice": {"any": {}},
    }
    messages.append(choice.message.model_dump(exclude_none=True))
    messages += [
        {"role": "tool", "tool_call_id": "tooluse_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "tooluse_2", "content": "-3C"},
    ]
    second = client.chat.completions.create(
        model="claude-bedrock",
        messages=messages,
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert second.choices[0].message.content == "Hello from Bedrock."
    body = bedrock.requests[-1].body
    assert body["messages"][1]["content"][1] == {
        "toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}
    }
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "18C"}]}},
            {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "-3C"}]}},
        ],
    }
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}


def test_image_input_is_sent_as_bytes(proxy: Any, bedrock: FakeBedrock) -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    proxy.openai().chat.completions.create(model="claude-bedrock", messages=[{"role": "user", "content": content}])
    assert bedrock.requests[-1].body["messages"][0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": PNG}}
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reason_mapping(proxy: Any, bedrock: FakeBedrock, stop_reason: str, finish_reason: str) -> None:
    bedrock.enqueue(BedrockReply(json=converse_response({"text": "x"}, stop=stop_reason)))
    assert (
        proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER).choices[0].finish_reason
        == finish_reason
    )


def test_usage_counts_cache_reads_and_writes_in_the_prompt(proxy: Any, bedrock: FakeBedrock) -> None:
    usage = {
        "inputTokens": 10,
        "outputTokens": 5,
        "cacheReadInputTokens": 100,
        "cacheWriteInputTokens": 20,
        "totalTokens": 135,
    }
    bedrock.enqueue(BedrockReply(json=converse_response({"text": "x"}, usage=usage)))
    reply = proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (130, 5, 135)
    assert reply.usage.prompt_tokens_details.cached_tokens == 100
    assert reply.usage.prompt_tokens_details.model_extra["cache_creation_tokens"] == 20


def test_model_id_in_the_path_is_encoded(bedrock: FakeBedrock, gateway_factory: Any) -> None:
    import gateway_bedrock

    config = bedrock_config(bedrock)
    config["model_list"][0]["litellm_params"]["model"] = f"bedrock/converse/{MODEL_ID}"
    gw = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    gw.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert bedrock.requests[-1].raw_path == f"/model/{MODEL_ID.replace(':', '%3A')}/converse"


def test_a_bare_bedrock_model_id_is_bedrocks(bedrock: FakeBedrock, gateway_factory: Any) -> None:
    """LiteLLM reads ``model: anthropic.claude-...`` (no ``bedrock/``) as a Bedrock model id."""
    import gateway_bedrock

    config = bedrock_config(bedrock)
    config["model_list"][0]["litellm_params"]["model"] = MODEL_ID
    proxy = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    (deployment,) = proxy.gateway.deployments
    assert (deployment.provider, deployment.model) == ("bedrock", MODEL_ID)
    reply = proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert reply.choices[0].message.content == "Hello from Bedrock."
    assert bedrock.requests[-1].raw_path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"


def test_a_bedrock_wildcard_group_calls_the_requested_models_url(bedrock: FakeBedrock, gateway_factory: Any) -> None:
    import gateway_bedrock

    config = bedrock_config(bedrock)
    entry = config["model_list"][0]
    entry["model_name"] = "bedrock/*"
    entry["litellm_params"]["model"] = "bedrock/*"
    proxy = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    reply = proxy.openai().chat.completions.create(model=f"bedrock/{MODEL_ID}", messages=USER)
    assert reply.choices[0].message.content == "Hello from Bedrock."
    assert bedrock.requests[-1].raw_path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
