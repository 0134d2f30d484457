"""Message content for OpenAI-compatible local servers (issue 24, item 1).

llama.cpp's server (llama-cpp-python's too) and several others take message content only as a
string: a list of parts gets a 500 (``can only concatenate str (not "list") to str``).  Requests the
gateway translates (Anthropic's /v1/messages, the Responses API) send text-only content as a string;
an OpenAI client's own form passes unchanged unless the deployment sets ``content_format``.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from gateway import ConfigError, Gateway, fake_openai
from gateway.testing import FakeUpstream, RecordedRequest, Reply

MASTER = "sk-master"
LLAMA_CPP_ERROR = 'can only concatenate str (not "list") to str'


def strings_only(request: RecordedRequest) -> Reply:
    """Answer like llama.cpp's server: a 500 for any message whose content is not a string."""
    body = request.json
    for message in body.get("messages", []):
        if not isinstance(message.get("content"), (str, type(None))):
            return Reply(status=500, json={"error": {"message": LLAMA_CPP_ERROR, "type": "internal_server_error"}})
    prompt = fake_openai.prompt_tokens(body["messages"])
    if body.get("stream"):
        return Reply(stream=list(fake_openai.chat_chunks(body["model"], "Hi there.", prompt=prompt, with_usage=True)))
    return Reply(json=fake_openai.chat_completion(body["model"], "Hi there.", prompt=prompt))


@pytest.fixture
def llama_like(fake_upstream: FakeUpstream) -> FakeUpstream:
    fake_upstream.default = strings_only
    return fake_upstream


def config(upstream: FakeUpstream, **params: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "local",
                "litellm_params": {"model": "openai/smollm2", "api_base": upstream.base_url, **params},
            }
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }


ANTHROPIC_MESSAGES = [
    {"role": "user", "content": [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "there."}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
    {"role": "user", "content": [{"type": "text", "text": "Again.", "cache_control": {"type": "ephemeral"}}]},
]
SYSTEM = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
SENT_AS_STRINGS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello, there."},
    {"role": "assistant", "content": "Hi."},
    {"role": "user", "content": "Again."},
]


def test_anthropic_sdk_to_a_server_that_takes_only_strings(llama_like: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(config(llama_like))
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    reply = client.messages.create(model="local", max_tokens=20, system=SYSTEM, messages=ANTHROPIC_MESSAGES)
    assert reply.content[0].text == "Hi there." and reply.stop_reason == "end_turn"
    assert llama_like.requests[-1].json["messages"] == SENT_AS_STRINGS
    with client.messages.stream(model="local", max_tokens=20, system=SYSTEM, messages=ANTHROPIC_MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hi there." and final.usage.output_tokens == fake_openai.count_tokens("Hi there.")
    assert llama_like.requests[-1].json["messages"] == SENT_AS_STRINGS
    assert len(llama_like.requests) == 2  # no refusal, nothing retried


TEXT_PARTS = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "there.", "cache_control": {"type": "x"}}]


def test_an_openai_clients_parts_pass_as_sent_by_default(llama_like: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(config(llama_like))
    with pytest.raises(Exception, match="can only concatenate"):
        gw.openai().chat.completions.create(model="local", messages=[{"role": "user", "content": TEXT_PARTS}])
    assert llama_like.requests[-1].json["messages"] == [{"role": "user", "content": TEXT_PARTS}]


def test_content_format_string_joins_text_parts_and_keeps_lists_that_need_one(
    llama_like: FakeUpstream, gateway_factory: Any
) -> None:
    gw = gateway_factory(config(llama_like, content_format="string"))
    messages: list[Any] = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": TEXT_PARTS},
    ]
    answer = gw.openai().chat.completions.create(model="local", messages=messages)
    assert answer.choices[0].message.content == "Hi there."
    assert llama_like.requests[-1].json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello, there."},
    ]
    image = [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]
    llama_like.enqueue(Reply(json=fake_openai.chat_completion("smollm2", "A cat.", prompt=3)))
    gw.openai().chat.completions.create(model="local", messages=[{"role": "user", "content": image}])
    assert llama_like.requests[-1].json["messages"] == [{"role": "user", "content": image}]


def test_content_format_parts_sends_every_string_as_a_list(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    gw = gateway_factory(config(fake_upstream, content_format="parts"))
    gw.openai().chat.completions.create(
        model="local", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert fake_upstream.requests[-1].json["messages"] == [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    ]
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    client.messages.create(model="local", max_tokens=20, messages=[{"role": "user", "content": "Hi"}])
    assert fake_upstream.requests[-1].json["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]}
    ]


def test_an_unknown_content_format_is_refused_at_start_up(fake_upstream: FakeUpstream) -> None:
    with pytest.raises(ConfigError, match="content_format must be one of auto, string, parts, got 'str'"):
        Gateway(config(fake_upstream, content_format="str"))
