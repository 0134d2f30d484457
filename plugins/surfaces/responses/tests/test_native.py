"""Same-format pass-through: a deployment that serves the Responses API itself gets the request at
``{api_base}/responses`` as the client sent it, and its answer reaches the client unchanged.

The upstream is ``FakeUpstream`` scripted with Responses API answers (the shapes of the ``openai``
SDK's ``types.responses``, which parses them on the client's side).
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import orjson
import pytest
from gateway_responses.native import speaks_responses
from responses_helpers import MASTER, config

from gateway import Deployment, hookimpl
from gateway.chat import Text
from gateway.testing import FakeUpstream, LogCollector, Reply, RunningGateway

RESPONSE = {
    "id": "resp_upstream_1", "object": "response", "created_at": 1700000000, "status": "completed",
    "model": "gpt-5-2025", "output": [
        {"id": "msg_up_1", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Native hello.", "annotations": []}]},
        {"id": "fc_up_1", "type": "function_call", "status": "completed", "call_id": "call_up_1",
         "name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"},
    ],
    "usage": {"input_tokens": 21, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 8,
              "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 29},
    "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None, "incomplete_details": None,
    "instructions": None, "metadata": {}, "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}},
}  # fmt: skip


def events() -> list[bytes]:
    """The streamed form of RESPONSE, as OpenAI sends it."""
    created = {**RESPONSE, "status": "in_progress", "output": [], "usage": None}
    message, call = RESPONSE["output"]
    seq = iter(range(100))

    def event(kind: str, **data: Any) -> bytes:
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, "sequence_number": next(seq),
                                                                        **data}) + b"\n\n"  # fmt: skip

    return [
        event("response.created", response=created),
        event("response.in_progress", response=created),
        event("response.output_item.added", output_index=0, item={**message, "status": "in_progress", "content": []}),
        event("response.content_part.added", item_id="msg_up_1", output_index=0, content_index=0,
              part={"type": "output_text", "text": "", "annotations": []}),
        event("response.output_text.delta", item_id="msg_up_1", output_index=0, content_index=0, delta="Native ",
              logprobs=[]),
        event("response.output_text.delta", item_id="msg_up_1", output_index=0, content_index=0, delta="hello.",
              logprobs=[]),
        event("response.output_text.done", item_id="msg_up_1", output_index=0, content_index=0,
              text="Native hello.", logprobs=[]),
        event("response.content_part.done", item_id="msg_up_1", output_index=0, content_index=0,
              part=message["content"][0]),
        event("response.output_item.done", output_index=0, item=message),
        event("response.output_item.added", output_index=1, item={**call, "status": "in_progress", "arguments": ""}),
        event("response.function_call_arguments.delta", item_id="fc_up_1", output_index=1, delta="{\"city\": "),
        event("response.function_call_arguments.delta", item_id="fc_up_1", output_index=1, delta="\"Oslo\"}"),
        event("response.function_call_arguments.done", item_id="fc_up_1", output_index=1,
              arguments="{\"city\": \"Oslo\"}"),
        event("response.output_item.done", output_index=1, item=call),
        event("response.completed", response=RESPONSE),
    ]  # fmt: skip


@pytest.fixture
def native_gw(start: Any, sqlite_url: str, fake_upstream: FakeUpstream) -> RunningGateway:
    cfg = config(sqlite_url)
    cfg["model_list"].append({
        "model_name": "native",
        "litellm_params": {"model": "openai/gpt-5", "api_base": fake_upstream.base_url, "api_key": "sk-up"},
        "model_info": {"supported_endpoints": ["/v1/chat/completions", "/v1/responses"]},
    })  # fmt: skip
    return start(cfg)


def client(gw: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=MASTER, max_retries=0)


BODY: dict[str, Any] = {
    "model": "native",
    "input": [{"id": "msg_client_1", "type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "Weather in Oslo?"}]}],
    "instructions": "Be brief.",
    "tools": [{"type": "web_search"}, {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    "truncation": "auto",
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "k1",
    "some_future_field": {"x": 1},
    "fallbacks": ["native"],
}  # fmt: skip


def test_the_request_and_the_answer_pass_through_unchanged(
    native_gw: RunningGateway, fake_upstream: FakeUpstream
) -> None:
    raw = orjson.dumps(RESPONSE)
    fake_upstream.enqueue(Reply(body=raw, headers={"content-type": "application/json"}))
    answer = httpx.post(native_gw.base_url + "/responses", json=BODY, timeout=10,
                        headers={"Authorization": f"Bearer {MASTER}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.content == raw  # the upstream's bytes, as they came
    sent = fake_upstream.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.headers["authorization"] == "Bearer sk-up"
    # the client's body (a built-in tool, fields the gateway has never heard of), minus the gateway's own fields
    assert sent.json == {**{k: v for k, v in BODY.items() if k != "fallbacks"}, "model": "gpt-5"}
    stored = client(native_gw).responses.retrieve("resp_upstream_1")  # kept by the gateway, under its id
    assert stored.output_text == "Native hello." and stored.usage is not None and stored.usage.total_tokens == 29


def test_the_stream_passes_through_and_is_stored(native_gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.enqueue(Reply(stream=events(), done=False))
    with httpx.stream("POST", native_gw.base_url + "/responses", json={**BODY, "stream": True}, timeout=10,
                      headers={"Authorization": f"Bearer {MASTER}"}) as answer:  # fmt: skip
        assert answer.status_code == 200
        got = answer.read()
    assert got == b"".join(events())
    assert fake_upstream.requests[-1].json["stream"] is True
    fake_upstream.enqueue(Reply(stream=events(), done=False))
    with client(native_gw).responses.stream(model="native", input="Weather in Oslo?") as stream:
        final = stream.get_final_response()
    assert final.output_text == "Native hello."
    assert client(native_gw).responses.retrieve("resp_upstream_1").status == "completed"


def test_previous_response_id_sends_the_earlier_turns(native_gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.enqueue(Reply(json=RESPONSE), Reply(json={**RESPONSE, "id": "resp_upstream_2"}))
    sdk = client(native_gw)
    first = sdk.responses.create(model="native", input="Weather in Oslo?")
    sdk.responses.create(
        model="native", previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_up_1", "output": "4 C"}],
    )  # fmt: skip
    sent = fake_upstream.requests[-1].json
    assert "previous_response_id" not in sent  # the gateway keeps conversations: the upstream gets them whole
    assert [item.get("type", "message") for item in sent["input"]] == [
        "message", "message", "function_call", "function_call_output"]  # fmt: skip
    assert sent["input"][2]["call_id"] == "call_up_1"


class Masker:
    """A request hook that changes a text, as a PII guardrail does."""

    @hookimpl
    def gateway_pre_call(self, ctx: Any, gateway: Any) -> None:
        for _, part in ctx.request.iter_parts():
            if isinstance(part, Text):
                part.text = part.text.replace("Oslo", "[CITY]")


def test_a_hook_change_is_encoded_again(start: Any, sqlite_url: str, fake_upstream: FakeUpstream) -> None:
    cfg = config(sqlite_url)
    cfg["model_list"].append({"model_name": "native", "litellm_params": {
        "model": "openai/gpt-5", "api_base": fake_upstream.base_url, "api_key": "sk-up"},
        "model_info": {"supported_endpoints": ["/v1/responses"]}})  # fmt: skip
    gw = start(cfg, plugins=[Masker()])
    fake_upstream.enqueue(Reply(json=RESPONSE))
    client(gw).responses.create(model="native", instructions="Be brief.", input=[
        {"role": "user", "content": "Weather in Oslo?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "Oslo: 4 C"},
    ])  # fmt: skip
    sent = fake_upstream.requests[-1].json
    assert "instructions" not in sent
    assert sent["input"] == [
        {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in [CITY]?"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "[CITY]: 4 C"},
    ]


@pytest.mark.parametrize(
    ("provider", "params", "model_info", "native"),
    [
        ("openai", {}, {}, True),  # OpenAI's own API serves /responses
        ("openai", {"api_base": "http://vllm:8000/v1"}, {}, False),  # an OpenAI-compatible server: bridged
        ("hosted_vllm", {"api_base": "http://vllm:8000/v1"}, {"supported_endpoints": ["/v1/responses"]}, True),
        ("openai", {}, {"supported_endpoints": ["/v1/chat/completions"]}, False),  # the list decides
        ("anthropic", {}, {"supported_endpoints": ["/v1/responses"]}, False),  # not OpenAI's format
        ("azure", {"api_base": "https://x.openai.azure.com"}, {}, False),
    ],
)
def test_which_deployments_serve_the_responses_api(
    provider: str, params: dict[str, Any], model_info: dict[str, Any], native: bool
) -> None:
    deployment = Deployment("d1", "m", provider, "gpt-5", params, model_info)
    assert speaks_responses(deployment) is native


@pytest.mark.parametrize("stream", [False, True])
def test_usage_is_recorded_from_the_native_answer(
    start: Any, sqlite_url: str, fake_upstream: FakeUpstream, stream: bool
) -> None:
    """Cost, budgets and the ledger read the usage of the upstream's own answer (log event: its usage)."""
    collector = LogCollector()
    cfg = config(sqlite_url)
    cfg["model_list"].append({"model_name": "native", "litellm_params": {
        "model": "openai/gpt-5", "api_base": fake_upstream.base_url, "api_key": "sk-up"},
        "model_info": {"supported_endpoints": ["/v1/responses"]}})  # fmt: skip
    gw = start(cfg, plugins=[collector])
    fake_upstream.enqueue(Reply(stream=events(), done=False) if stream else Reply(json=RESPONSE))
    if stream:
        with client(gw).responses.stream(model="native", input="Hi") as answer:
            answer.get_final_response()
    else:
        client(gw).responses.create(model="native", input="Hi")
    (logged,) = collector.wait_for(1)
    assert (logged["status"], logged["stream"], logged["model_group"]) == (200, stream, "native")
    assert (logged["usage"]["prompt_tokens"], logged["usage"]["completion_tokens"]) == (21, 8)
