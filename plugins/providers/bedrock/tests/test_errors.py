"""Bedrock errors mapped to OpenAI-shaped answers, and bad input refused before any upstream call.

Errors: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
(the name travels in ``x-amzn-ErrorType``, the text in ``{"message": ...}``).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from gateway_bedrock.testing import BedrockReply, FakeBedrock, bedrock_config

USER = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    ("status", "name", "client_status", "error_type"),
    [
        (400, "ValidationException", 400, "invalid_request_error"),
        (429, "ThrottlingException", 429, "rate_limit_error"),
        # a model that is not ready answers 429 on the wire but is an availability problem, not a rate limit
        (429, "ModelNotReadyException", 503, "service_unavailable"),
        (503, "ServiceUnavailableException", 503, "service_unavailable"),
        (500, "InternalServerException", 500, "upstream_error"),
        (408, "ModelTimeoutException", 504, "timeout"),
        (424, "ModelErrorException", 502, "upstream_error"),
        # the gateway's AWS identity is refused: not the client's fault
        (403, "AccessDeniedException", 502, "upstream_auth_error"),
    ],
)
def test_bedrock_exceptions_keep_their_class(
    proxy: Any, bedrock: FakeBedrock, status: int, name: str, client_status: int, error_type: str
) -> None:
    bedrock.enqueue(BedrockReply(status=status, error_type=name, json={"message": f"{name} happened"}))
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert caught.value.status_code == client_status
    assert caught.value.body["type"] == error_type
    assert (
        f"bedrock returned {name}" in caught.value.body["message"]
        and f"{name} happened" in caught.value.body["message"]
    )


def test_streaming_request_refused_upstream_is_an_error_status(proxy: Any, bedrock: FakeBedrock) -> None:
    bedrock.enqueue(BedrockReply(status=429, error_type="ThrottlingException", json={"message": "slow down"}))
    with pytest.raises(openai.RateLimitError):
        proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER, stream=True)


def test_wrong_secret_fails_the_signature_check_as_a_gateway_error(bedrock: FakeBedrock, gateway_factory: Any) -> None:
    import gateway_bedrock

    config = bedrock_config(bedrock)
    config["model_list"][0]["litellm_params"]["aws_secret_access_key"] = "not-the-secret"
    gw = gateway_factory(config, plugins=[gateway_bedrock], load_entrypoints=False)
    with pytest.raises(openai.APIStatusError) as caught:
        gw.openai().chat.completions.create(model="claude-bedrock", messages=USER)
    assert caught.value.status_code == 502 and "InvalidSignatureException" in caught.value.body["message"]
    assert "not-the-secret" not in caught.value.body["message"]


def refused(proxy: Any, bedrock: FakeBedrock, **request: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.openai().chat.completions.create(model="claude-bedrock", **request)
    assert bedrock.hits == 0, "bad input must be refused before any upstream call"
    return caught.value


def test_unsupported_parameter_is_a_400_naming_it_and_the_provider(proxy: Any, bedrock: FakeBedrock) -> None:
    error = refused(proxy, bedrock, messages=USER, response_format={"type": "json_object"})
    assert error.body["param"] == "response_format"
    assert "bedrock does not support the parameter 'response_format'" in error.body["message"]
    assert refused(proxy, bedrock, messages=USER, seed=7).body["param"] == "seed"


def test_drop_params_drops_with_a_warning_header(dropping_proxy: Any, bedrock: FakeBedrock) -> None:
    raw = dropping_proxy.openai().chat.completions.with_raw_response.create(
        model="claude-bedrock", messages=USER, seed=7, presence_penalty=0.5, temperature=0.2
    )
    assert raw.parse().choices[0].message.content == "Hello from Bedrock."
    assert raw.headers["x-gateway-dropped-params"] == "presence_penalty,seed"
    assert bedrock.requests[-1].body["inferenceConfig"] == {"temperature": 0.2}


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        (
            {"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}},
            "tools[0].function.parameters",
        ),
        (
            {"type": "function", "function": {"name": "has space", "parameters": {"type": "object"}}},
            "tools[0].function.name",
        ),
        (
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": []}}},
            "tools[0].function.parameters.properties",
        ),
        ({"type": "retrieval"}, "tools[0]"),
    ],
    ids=["not-object", "bad-name", "bad-properties", "not-a-function"],
)
def test_invalid_tool_schemas_are_refused(proxy: Any, bedrock: FakeBedrock, tool: dict[str, Any], param: str) -> None:
    assert refused(proxy, bedrock, messages=USER, tools=[tool]).body["param"] == param


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://example.com/cat.png", "Bedrock takes image bytes, not URLs"),
        ("data:image/bmp;base64,Qk0=", "image type 'image/bmp' is not supported"),
    ],
)
def test_images_bedrock_cannot_take_are_refused(proxy: Any, bedrock: FakeBedrock, url: str, says: str) -> None:
    content = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}]
    error = refused(proxy, bedrock, messages=[{"role": "user", "content": content}])
    assert says in error.body["message"] and error.body["param"] == "messages[0].content[1].image_url"


@pytest.mark.parametrize(
    ("messages", "param", "says"),
    [
        ([{"role": "system", "content": "Be brief."}], "messages", "at least one non-empty user message"),
        ([{"role": "user", "content": "   "}], "messages", "at least one non-empty user message"),
        (
            [{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Hi"}],
            "messages[0]",
            "must start with a user message",
        ),
        (
            [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "t1", "content": "1"},
            ],
            "tools",
            "needs the tool definitions",
        ),
        (
            [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
                },
            ],
            "messages[1].tool_calls[0].function.arguments",
            "not valid JSON",
        ),
    ],
    ids=["only-system", "blank", "assistant-first", "tools-missing", "bad-arguments"],
)
def test_conversations_bedrock_would_refuse_are_refused_here(
    proxy: Any, bedrock: FakeBedrock, messages: list[Any], param: str, says: str
) -> None:
    error = refused(proxy, bedrock, messages=messages)
    assert error.body["param"] == param and says in error.body["message"]


def test_misconfigured_deployments_fail_at_start_up() -> None:
    import gateway_bedrock

    from gateway import ConfigError, Gateway

    config = {
        "model_list": [
            {"model_name": "a", "litellm_params": {"model": "bedrock/amazon.nova-lite-v1:0"}},
            {
                "model_name": "b",
                "litellm_params": {"model": "bedrock/invoke/amazon.nova-lite-v1:0", "aws_region_name": "us-east-1"},
            },
            {
                "model_name": "c",
                "litellm_params": {
                    "model": "bedrock/amazon.nova-lite-v1:0",
                    "aws_region_name": "us-east-1",
                    "aws_access_key_id": "AKID",
                },
            },
        ],
        "general_settings": {"master_key": "sk-m"},
    }
    with pytest.raises(ConfigError) as caught:
        Gateway(config, plugins=[gateway_bedrock], load_entrypoints=False)
    message = str(caught.value)
    assert "model_list[0].litellm_params: bedrock deployments need a region" in message
    assert "model_list[1].litellm_params: gateway-bedrock speaks the Converse API only" in message
    assert "model_list[2].litellm_params: set both aws_access_key_id and aws_secret_access_key" in message
    assert "AKID" not in message
