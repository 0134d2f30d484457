"""``POST /v1/responses`` with the official ``openai`` SDK as the client, bridged to every provider.

Three backends: the mock provider, an OpenAI-format chat-only upstream (``gateway.testing.FakeUpstream``)
and the validating Anthropic server (``gateway_anthropic.testing.FakeAnthropic``).  Shapes: the
``openai`` SDK's ``types.responses`` (it parses every answer and event below) and
https://platform.openai.com/docs/api-reference/responses.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import orjson
import pytest
from gateway_anthropic.testing import AnthropicReply, FakeAnthropic, message
from responses_helpers import MASTER, MOCK_REPLY

from gateway.testing import FakeUpstream, Reply, RunningGateway

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def client(gw: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=MASTER, max_retries=0)


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip


def tool_call_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-tool", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me look.",
            "tool_calls": [{"id": "call_1", "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 9, "total_tokens": 51,
                  "prompt_tokens_details": {"cached_tokens": 10},
                  "completion_tokens_details": {"reasoning_tokens": 3}},
    }  # fmt: skip


def sse_events(gw: RunningGateway, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The raw event stream: (event name, data) pairs, as they came."""
    with httpx.stream("POST", gw.base_url + "/responses", json={**body, "stream": True}, timeout=30,
                      headers={"Authorization": f"Bearer {MASTER}"}) as answer:  # fmt: skip
        assert answer.status_code == 200, answer.read()
        raw = answer.read().decode()
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], orjson.loads(lines["data"])))
    return events


def test_a_string_input_on_the_mock_model(gw: RunningGateway) -> None:
    response = client(gw).responses.create(model="mock", input="Hi there", instructions="Be brief.")
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == MOCK_REPLY
    assert [item.type for item in response.output] == ["message"]
    assert response.instructions == "Be brief."
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_the_stream_is_the_documented_event_sequence(gw: RunningGateway) -> None:
    events = sse_events(gw, {"model": "mock", "input": "Hi there"})
    names = [name for name, _ in events]
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]  # fmt: skip
    assert set(names[4:-4]) == {"response.output_text.delta"}
    assert names[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]  # fmt: skip
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(data["type"] == name for name, data in events)
    text = "".join(data["delta"] for name, data in events if name == "response.output_text.delta")
    assert text == MOCK_REPLY
    completed = events[-1][1]["response"]
    assert completed["id"] == events[0][1]["response"]["id"]
    assert completed["output"][0]["content"][0]["text"] == MOCK_REPLY
    assert completed["usage"]["output_tokens"] > 0


def test_the_sdk_stream_on_the_mock_model(gw: RunningGateway) -> None:
    with client(gw).responses.stream(model="mock", input="Hi there") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == MOCK_REPLY
    assert final.usage is not None and final.usage.total_tokens > 0


def test_items_tools_and_options_reach_a_chat_only_upstream(gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.enqueue(Reply(json=tool_call_completion()))
    raw = client(gw).responses.with_raw_response.create(
        model="gpt",
        instructions="You are a weather bot.",
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Use the tool."}]},
            {"type": "function_call", "call_id": "call_0", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
            {"type": "function_call_output", "call_id": "call_0", "output": "4 C"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "4 C in Oslo."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "And Paris?"}]},
        ],
        tools=[WEATHER],
        tool_choice="auto",
        max_output_tokens=300,
        temperature=0.2,
        top_p=0.9,
        text={"format": {"type": "json_schema", "name": "weather", "schema": {"type": "object"}, "strict": True}},
        reasoning={"effort": "low", "summary": "auto"},
    )
    response = raw.parse()
    sent = fake_upstream.requests[-1].json
    assert sent["messages"] == [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "4 C"},
        {"role": "assistant", "content": "4 C in Oslo."},
        {"role": "user", "content": "And Paris?"},
    ]  # fmt: skip
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": WEATHER["parameters"]}}]  # fmt: skip
    assert (sent["tool_choice"], sent["max_tokens"], sent["temperature"], sent["top_p"]) == ("auto", 300, 0.2, 0.9)
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "weather", "schema": {"type": "object"}, "strict": True}}  # fmt: skip
    assert sent["reasoning_effort"] == "low"
    # the summary cannot be asked of a chat upstream: said, not silently ignored
    assert "reasoning.summary" in raw.headers["x-gateway-dropped-params"]
    assert [item.type for item in response.output] == ["message", "function_call"]
    assert response.output_text == "Let me look."
    call = response.output[1]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_1", "get_weather", '{"city": "Paris"}')
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (42, 9, 51)
    assert response.usage.input_tokens_details.cached_tokens == 10
    assert response.usage.output_tokens_details.reasoning_tokens == 3


def test_a_streamed_tool_call_from_a_chat_only_upstream(gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    usage = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [],
             "usage": {"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17}}  # fmt: skip
    fake_upstream.enqueue(Reply(stream=[
        chunk({"role": "assistant", "content": "Checking. "}),
        chunk({"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
        chunk({}, "tool_calls"),
        usage,
    ]))  # fmt: skip
    with client(gw).responses.stream(model="gpt", input="Weather in Oslo?", tools=[WEATHER]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds.count("response.function_call_arguments.delta") == 2
    assert "response.function_call_arguments.done" in kinds
    assert final.output_text == "Checking. "
    call = final.output[-1]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_9", "get_weather", '{"city": "Oslo"}')
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (11, 6)
    assert fake_upstream.requests[-1].json["stream"] is True


def anthropic_tool_answer() -> AnthropicReply:
    return AnthropicReply(json=message([
        {"type": "text", "text": "Let me check the weather for you."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}},
    ], stop_reason="tool_use", model="claude-sonnet-4-5", input_tokens=31))  # fmt: skip


def test_an_anthropic_stream_reassembles_to_the_non_stream_answer(
    gw: RunningGateway, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(anthropic_tool_answer(), anthropic_tool_answer())
    sdk = client(gw)
    whole = sdk.responses.create(model="claude", input="Weather in Paris?", tools=[WEATHER], max_output_tokens=500)
    with sdk.responses.stream(model="claude", input="Weather in Paris?", tools=[WEATHER],
                              max_output_tokens=500) as stream:  # fmt: skip
        text = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        streamed = stream.get_final_response()

    def shape(response: Any) -> list[Any]:
        return [(i.type, i.call_id, i.name, orjson.loads(i.arguments)) if i.type == "function_call"
                else (i.type, i.content[0].text) for i in response.output]  # fmt: skip

    assert (
        shape(whole)
        == shape(streamed)
        == [
            ("message", "Let me check the weather for you."),
            ("function_call", "toolu_01", "get_weather", {"city": "Paris", "unit": "c"}),
        ]
    )
    assert text == whole.output_text
    assert whole.usage is not None and streamed.usage is not None
    assert whole.usage.input_tokens == streamed.usage.input_tokens == 31
    assert whole.usage.output_tokens == streamed.usage.output_tokens
    sent = anthropic_server.requests[-1].json
    assert sent["tools"][0]["name"] == "get_weather" and sent["max_tokens"] == 500


def test_a_tool_result_and_reasoning_go_back_to_anthropic(gw: RunningGateway, anthropic_server: FakeAnthropic) -> None:
    client(gw).responses.create(
        model="claude",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Ask the tool."}],
             "encrypted_content": "sig-123"},
            {"type": "function_call", "call_id": "toolu_01", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "toolu_01", "output": "18 C"},
        ],
        tools=[WEATHER],
    )  # fmt: skip
    sent = anthropic_server.requests[-1].json
    assert sent["messages"][1]["role"] == "assistant"
    blocks = sent["messages"][1]["content"]
    assert {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}} in blocks
    assert any(b["type"] == "thinking" and b.get("signature") == "sig-123" for b in blocks)
    assert sent["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18 C"}]}  # fmt: skip


@pytest.mark.parametrize(("model", "deployment"), [("gpt", "openai/gpt-4o"), ("claude", "anthropic/claude-sonnet-4-5"),
                                                   ("mock", "mock/gpt-4o")])  # fmt: skip
def test_a_built_in_tool_is_refused_naming_the_tool_and_the_deployment(
    gw: RunningGateway, model: str, deployment: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(gw).responses.create(model=model, input="News today?", tools=[WEATHER, {"type": "web_search"}])
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["param"] == "tools.1"
    assert "'web_search'" in error["message"] and deployment in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "mock"}, "input"),
        ({"model": "mock", "input": 42}, "input"),
        ({"input": "hi"}, "model"),
        ({"model": "mock", "input": "hi", "max_output_tokens": "many"}, "max_output_tokens"),
        ({"model": "mock", "input": [{"type": "function_call", "name": "f"}]}, "input.0"),
        ({"model": "mock", "input": "hi", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"model": "mock", "input": "hi", "tool_choice": 3}, "tool_choice"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(gw: RunningGateway, body: dict[str, Any], param: str) -> None:
    answer = httpx.post(
        gw.base_url + "/responses", json=body, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param and param.split(".")[0] in error["message"]


def test_no_key_is_a_401_in_openai_shape(gw: RunningGateway) -> None:
    answer = httpx.post(gw.base_url + "/responses", json={"model": "mock", "input": "hi"}, timeout=10)
    assert answer.status_code == 401
    assert "message" in answer.json()["error"]


def test_namespaced_tools_are_function_tools_and_calls_name_their_namespace(
    gw: RunningGateway, fake_upstream: FakeUpstream
) -> None:
    """The Codex CLI groups some function tools in a ``namespace`` tool: upstream they are plain
    function tools, and a call of one names its namespace again."""
    completion = tool_call_completion()
    completion["choices"][0]["message"]["tool_calls"][0]["function"]["name"] = "spawn_agent"
    fake_upstream.enqueue(Reply(json=completion))
    spawn = {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}
    response = client(gw).responses.create(
        model="gpt",
        input="Start a helper.",
        tools=[WEATHER, {"type": "namespace", "name": "multi_agent_v1", "description": "agents", "tools": [spawn]}],
    )
    sent = fake_upstream.requests[-1].json
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["get_weather", "spawn_agent"]
    call = response.output[-1]
    assert call.type == "function_call" and call.name == "spawn_agent" and call.namespace == "multi_agent_v1"


def test_the_web_search_refusal_tells_codex_users_the_setting(gw: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(gw).responses.create(model="gpt", input="News?", tools=[{"type": "web_search"}])
    assert 'web_search = "disabled"' in str(refused.value)


def test_anthropic_thinking_is_a_reasoning_item_that_can_go_back(
    gw: RunningGateway, anthropic_server: FakeAnthropic
) -> None:
    blocks = [{"type": "thinking", "thinking": "Paris is in France.", "signature": "sig-abc"},
              {"type": "text", "text": "It is sunny."}]  # fmt: skip
    anthropic_server.enqueue(AnthropicReply(json=message(blocks)), AnthropicReply(json=message(blocks)))
    sdk = client(gw)
    whole = sdk.responses.create(model="claude", input="Weather?", reasoning={"effort": "low"}, max_output_tokens=4000)
    with sdk.responses.stream(model="claude", input="Weather?", reasoning={"effort": "low"},
                              max_output_tokens=4000) as stream:  # fmt: skip
        kinds = [event.type for event in stream]
        streamed = stream.get_final_response()
    assert "thinking" in anthropic_server.requests[-1].json  # the effort became a thinking budget
    for response in (whole, streamed):
        reasoning, answer = response.output
        assert reasoning.type == "reasoning" and reasoning.encrypted_content == "sig-abc"
        assert [s.text for s in reasoning.summary] == ["Paris is in France."]
        assert answer.type == "message" and response.output_text == "It is sunny."
    assert "response.reasoning_summary_text.delta" in kinds
    # sent back, the reasoning item is the signed thinking block it came from
    sdk.responses.create(model="claude", input=[{"role": "user", "content": "Weather?"},
                                                whole.output[0].model_dump(exclude_none=True),
                                                {"role": "assistant", "content": "It is sunny."},
                                                {"role": "user", "content": "Thanks"}],
                         reasoning={"effort": "low"}, max_output_tokens=4000)  # fmt: skip
    assert anthropic_server.requests[-1].json["messages"][1]["content"][0] == {
        "type": "thinking", "thinking": "Paris is in France.", "signature": "sig-abc"}  # fmt: skip


def test_a_stream_broken_upstream_ends_with_response_failed(gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    pieces = [chunk({"role": "assistant", "content": f"w{i} "}) for i in range(6)]
    fake_upstream.enqueue(Reply(stream=pieces, break_after=3))
    events = sse_events(gw, {"model": "gpt", "input": "Hi"})
    assert events[-1][0] == "response.failed"
    failed = events[-1][1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"]
    text = "".join(data["delta"] for name, data in events if name == "response.output_text.delta")
    assert text == "w0 w1 w2 "
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))


def test_prompt_cache_figures_from_anthropic(gw: RunningGateway, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(AnthropicReply(json=message("Hi.", input_tokens=10, cache_read=5, cache_creation=7)))
    usage = client(gw).responses.create(model="claude", input="Hi").usage
    assert usage is not None
    assert (usage.input_tokens_details.cached_tokens, usage.input_tokens_details.cache_write_tokens) == (5, 7)
    assert usage.input_tokens == 10 + 5 + 7  # cached and written tokens are part of the input, as OpenAI counts them


def test_redacted_thinking_is_a_reasoning_item_without_summary_that_goes_back(
    gw: RunningGateway, anthropic_server: FakeAnthropic
) -> None:
    blocks = [{"type": "redacted_thinking", "data": "enc-xyz"}, {"type": "text", "text": "Done."}]
    anthropic_server.enqueue(AnthropicReply(json=message(blocks)))
    sdk = client(gw)
    answer = sdk.responses.create(model="claude", input="Hi", max_output_tokens=4000, reasoning={"effort": "low"})
    reasoning = answer.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary == [] and reasoning.encrypted_content == "enc-xyz"
    sdk.responses.create(model="claude", max_output_tokens=4000, reasoning={"effort": "low"}, input=[
        {"role": "user", "content": "Hi"}, reasoning.model_dump(exclude_none=True),
        {"role": "assistant", "content": "Done."}, {"role": "user", "content": "Again"}])  # fmt: skip
    sent = anthropic_server.requests[-1].json["messages"][1]["content"][0]
    assert sent == {"type": "redacted_thinking", "data": "enc-xyz"}


def test_streamed_reasoning_from_chunks(gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    """Reasoning text, a signature and a redacted block in an upstream's chunks become reasoning items."""
    fake_upstream.enqueue(Reply(stream=[
        chunk({"role": "assistant", "reasoning_content": "Step one. "}),
        chunk({"reasoning_content": "Step two."}),
        chunk({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "sig-1"}]}),
        chunk({"thinking_blocks": [{"type": "redacted_thinking", "data": "enc-2"}]}),
        chunk({"content": "Answer."}),
        chunk({}, "stop"),
    ]))  # fmt: skip
    with client(gw).responses.stream(model="gpt", input="Think") as stream:
        final = stream.get_final_response()
    first, second, answer = final.output
    assert first.type == "reasoning" and [s.text for s in first.summary] == ["Step one. Step two."]
    assert first.encrypted_content == "sig-1"
    assert second.type == "reasoning" and second.summary == [] and second.encrypted_content == "enc-2"
    assert answer.type == "message" and final.output_text == "Answer."
