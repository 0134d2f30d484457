"""Gemini errors mapped to OpenAI-shaped answers, and bad input refused before any upstream call.

Gemini's error body and codes: https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
(``{"error": {"code": 429, "message": ..., "status": "RESOURCE_EXHAUSTED"}}``).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from gateway_gemini.testing import FakeGemini, GeminiReply, error_body

USER = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    ("status", "message", "client_status", "error_type"),
    [
        (400, "Request contains an invalid argument.", 400, "invalid_request_error"),
        # the gateway's key lacks permission: not the client's fault, so a gateway-side 502
        (403, "Permission denied on resource project.", 502, "upstream_auth_error"),
        (429, "Resource has been exhausted (e.g. check quota).", 429, "rate_limit_error"),
        (500, "An internal error has occurred.", 500, "upstream_error"),
        (503, "The model is overloaded. Please try again later.", 503, "upstream_error"),
    ],
)
def test_upstream_errors_keep_their_class(
    proxy: Any, gemini: FakeGemini, status: int, message: str, client_status: int, error_type: str
) -> None:
    gemini.enqueue(GeminiReply(status=status, json=error_body(status, message)))
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.openai().chat.completions.create(model="gemini-flash", messages=USER)
    error = caught.value
    assert error.status_code == client_status
    assert error.body["type"] == error_type
    assert message in error.body["message"] and "gemini" in error.body["message"]


def test_streaming_request_refused_upstream_is_an_error_status_not_a_stream(proxy: Any, gemini: FakeGemini) -> None:
    gemini.enqueue(GeminiReply(status=429, json=error_body(429, "quota"), events=[]))
    with pytest.raises(openai.RateLimitError):
        proxy.openai().chat.completions.create(model="gemini-flash", messages=USER, stream=True)


def refused(proxy: Any, gemini: FakeGemini, **request: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        proxy.openai().chat.completions.create(model="gemini-flash", **request)
    assert gemini.requests == [], "bad input must be refused before any upstream call"
    return caught.value


def test_unsupported_parameter_is_a_400_naming_it_and_the_provider(proxy: Any, gemini: FakeGemini) -> None:
    error = refused(proxy, gemini, messages=USER, logit_bias={"50256": -100})
    assert error.body["param"] == "logit_bias"
    assert "gemini does not support the parameter 'logit_bias'" in error.body["message"]
    error = refused(proxy, gemini, messages=USER, n=2)
    assert error.body["param"] == "n"


def test_drop_params_drops_with_a_warning_header(dropping_proxy: Any, gemini: FakeGemini) -> None:
    raw = dropping_proxy.openai().chat.completions.with_raw_response.create(
        model="gemini-flash", messages=USER, logit_bias={"1": 1}, logprobs=True, temperature=0.1
    )
    assert raw.parse().choices[0].message.content == "Hello from Gemini."
    assert raw.headers["x-gateway-dropped-params"] == "logit_bias,logprobs"
    assert gemini.requests[-1].body["generationConfig"] == {"temperature": 0.1}


@pytest.mark.parametrize(
    ("tool", "param", "says"),
    [
        (
            {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}},
            "tools[0].function.parameters",
            "type 'object'",
        ),
        (
            {
                "type": "function",
                "function": {
                    "name": "9lives",
                    "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
            },
            "tools[0].function.name",
            "must start with a letter",
        ),
        (
            {
                "type": "function",
                "function": {
                    "name": "tree",
                    "parameters": {
                        "type": "object",
                        "properties": {"node": {"$ref": "#/$defs/node"}},
                        "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}},
                    },
                },
            },
            "tools[0].function.parameters.properties.node",
            "recursive",
        ),
        (
            {
                "type": "function",
                "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "tuple"}}}},
            },
            "tools[0].function.parameters.properties.a",
            "not a JSON schema type",
        ),
    ],
    ids=["not-object", "bad-name", "recursive", "bad-type"],
)
def test_invalid_tool_schemas_are_refused(
    proxy: Any, gemini: FakeGemini, tool: dict[str, Any], param: str, says: str
) -> None:
    error = refused(proxy, gemini, messages=USER, tools=[tool])
    assert error.body["param"].startswith(param) and says in error.body["message"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://example.com/cat.png", "Gemini cannot fetch image URLs"),
        ("data:image/gif;base64,R0lGODlhAQABAAAAACw=", "image type 'image/gif' is not supported"),
        ("data:image/png;base64,@@@not-base64@@@", "not contain valid base64"),
    ],
)
def test_images_gemini_cannot_take_are_refused(proxy: Any, gemini: FakeGemini, url: str, says: str) -> None:
    content = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}]
    error = refused(proxy, gemini, messages=[{"role": "user", "content": content}])
    assert says in error.body["message"] and error.body["param"].startswith("messages[0].content[1]")


def test_messages_without_any_turn_are_refused(proxy: Any, gemini: FakeGemini) -> None:
    error = refused(
        proxy, gemini, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": ""}]
    )
    assert error.body["param"] == "messages" and "at least one non-empty user message" in error.body["message"]
    refused(proxy, gemini, messages=[])


def test_tool_result_for_an_unknown_call_is_refused(proxy: Any, gemini: FakeGemini) -> None:
    messages = [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_nope", "content": "1"}]
    error = refused(proxy, gemini, messages=messages)
    assert error.body["param"] == "messages[1].tool_call_id"


def test_a_refused_gateway_key_is_a_gateway_error_not_the_clients(gemini: FakeGemini, gateway_factory: Any) -> None:
    """Gemini answers a bad key with 400 INVALID_ARGUMENT (API_KEY_INVALID); the client must not see a 400."""
    import gateway_gemini
    from gateway_gemini.testing import gemini_config

    config = gemini_config(gemini)
    config["model_list"][0]["litellm_params"]["api_key"] = "wrong-key"
    gw = gateway_factory(config, plugins=[gateway_gemini], load_entrypoints=False)
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            gw.openai().chat.completions.create(model="gemini-flash", messages=USER, stream=stream)
        assert caught.value.status_code == 502 and caught.value.body["type"] == "upstream_auth_error"
        assert "wrong-key" not in str(caught.value.body)


def test_a_deployment_without_a_key_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import gateway_gemini

    from gateway import ConfigError, Gateway

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    config = {
        "model_list": [
            {"model_name": "g", "litellm_params": {"model": "gemini/gemini-2.0-flash", "safety_setting": []}}
        ],
        "general_settings": {"master_key": "sk-m"},
    }
    with pytest.raises(ConfigError) as caught:
        Gateway(config, plugins=[gateway_gemini], load_entrypoints=False)
    assert "need api_key (for example os.environ/GEMINI_API_KEY)" in str(caught.value)
    assert "safety_setting: unknown key; did you mean 'safety_settings'?" in str(caught.value)
