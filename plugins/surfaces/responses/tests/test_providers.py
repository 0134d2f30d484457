"""The Responses API bridged to Gemini and Bedrock: a tool call comes back as a ``function_call``
item, streamed and not, and a tool's output goes back in each provider's own form (the fake servers
check every request as the vendors' APIs do)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from gateway_bedrock.testing import BedrockReply, FakeBedrock, bedrock_config, converse_response, event
from gateway_gemini.testing import FakeGemini, GeminiReply, gemini_config

from gateway.testing import RunningGateway

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
FOLLOW_UP = [
    {"role": "user", "content": "Weather in Paris?"},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "18 C"},
]


def gateway(start: Callable[..., RunningGateway], config: dict[str, Any], tmp_path: Path, plugin: str,
            monkeypatch: pytest.MonkeyPatch) -> openai.OpenAI:  # fmt: skip
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", f"responses,{plugin}")
    config["general_settings"]["database_url"] = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    gw = start(config)
    return openai.OpenAI(base_url=gw.base_url, api_key=config["general_settings"]["master_key"], max_retries=0)


def call_of(response: Any) -> tuple[str, dict[str, Any]]:
    (call,) = [item for item in response.output if item.type == "function_call"]
    return call.name, orjson.loads(call.arguments)


def test_gemini(start: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeGemini() as gemini:
        sdk = gateway(start, gemini_config(gemini), tmp_path, "gemini", monkeypatch)
        answer = {"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17}}  # fmt: skip
        gemini.enqueue(GeminiReply(json=answer), GeminiReply(events=[answer]))
        whole = sdk.responses.create(model="gemini-flash", input="Weather in Paris?", tools=[WEATHER])
        with sdk.responses.stream(model="gemini-flash", input="Weather in Paris?", tools=[WEATHER]) as stream:
            streamed = stream.get_final_response()
        assert call_of(whole) == call_of(streamed) == ("get_weather", {"city": "Paris"})
        assert whole.usage is not None and (whole.usage.input_tokens, whole.usage.output_tokens) == (12, 5)
        assert streamed.usage is not None and streamed.usage.total_tokens == 17
        assert gemini.requests[-1].body["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"

        final = sdk.responses.create(model="gemini-flash", input=FOLLOW_UP, tools=[WEATHER])  # type: ignore[arg-type]
        assert final.output_text == "Hello from Gemini."
        contents = gemini.requests[-1].body["contents"]
        assert contents[1]["parts"][0]["functionCall"]["name"] == "get_weather"
        assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_bedrock(start: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeBedrock() as bedrock:
        sdk = gateway(start, bedrock_config(bedrock), tmp_path, "bedrock", monkeypatch)
        use = {"toolUseId": "tooluse_1", "name": "get_weather"}
        bedrock.enqueue(
            BedrockReply(json=converse_response({"toolUse": {**use, "input": {"city": "Paris"}}}, stop="tool_use")),
            BedrockReply(events=[
                event("messageStart", {"role": "assistant"}),
                event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": use}}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"city": '}}}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '"Paris"}'}}}),
                event("contentBlockStop", {"contentBlockIndex": 0}),
                event("messageStop", {"stopReason": "tool_use"}),
                event("metadata", {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13},
                                   "metrics": {"latencyMs": 5}}),
            ]),
        )  # fmt: skip
        whole = sdk.responses.create(model="claude-bedrock", input="Weather in Paris?", tools=[WEATHER])
        with sdk.responses.stream(model="claude-bedrock", input="Weather in Paris?", tools=[WEATHER]) as stream:
            streamed = stream.get_final_response()
        assert call_of(whole) == call_of(streamed) == ("get_weather", {"city": "Paris"})
        assert [i.call_id for i in whole.output] == [i.call_id for i in streamed.output] == ["tooluse_1"]
        assert streamed.usage is not None and (streamed.usage.input_tokens, streamed.usage.output_tokens) == (9, 4)

        final = sdk.responses.create(model="claude-bedrock", input=FOLLOW_UP, tools=[WEATHER])  # type: ignore[arg-type]
        assert final.output_text == "Hello from Bedrock."
        messages = bedrock.requests[-1].body["messages"]
        assert messages[1]["content"][0]["toolUse"]["name"] == "get_weather"
        assert messages[2]["content"][0]["toolResult"]["toolUseId"] == "call_1"
