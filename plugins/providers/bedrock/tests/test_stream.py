"""ConverseStream: AWS event-stream frames decoded as they arrive and translated into OpenAI chunks.

Events: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html;
framing: https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html (see ``gateway_bedrock.testing``).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from gateway_bedrock.testing import BedrockReply, FakeBedrock, encode_message, event, exception, text_stream

USER = [{"role": "user", "content": "Hi"}]


def collect_text(stream: Any) -> tuple[str, list[Any]]:
    chunks = list(stream)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks


@pytest.mark.parametrize("piece_size", [None, 7], ids=["whole-frames", "frames-split-across-reads"])
def test_stream_text_with_usage_at_the_end(proxy: Any, bedrock: FakeBedrock, piece_size: int | None) -> None:
    usage = {"inputTokens": 11, "outputTokens": 3, "cacheReadInputTokens": 4, "totalTokens": 18}
    bedrock.enqueue(BedrockReply(events=text_stream("Hel", "lo", "!", usage=usage), piece_size=piece_size))
    stream = proxy.openai().chat.completions.create(
        model="claude-bedrock", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    text, chunks = collect_text(stream)
    assert text == "Hello!"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (15, 3)
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 4
    assert bedrock.requests[-1].raw_path.endswith("/converse-stream")
    assert bedrock.requests[-1].headers["accept"] == "application/vnd.amazon.eventstream"


def test_stream_with_tool_calls(proxy: Any, bedrock: FakeBedrock) -> None:
    events = [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Checking."}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "lookup"}}},
        ),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"q": '}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '"a"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_b", "name": "lookup"}}},
        ),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"q": "b"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event("messageStop", {"stopReason": "tool_use"}),
        event(
            "metadata",
            {"usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42}, "metrics": {"latencyMs": 9}},
        ),
    ]
    bedrock.enqueue(BedrockReply(events=events))
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
    }
    stream = proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER, tools=[tool], stream=True)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    text = ""
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                entry["name"] += (call.function.name or "") if call.function else ""
                entry["arguments"] += (call.function.arguments or "") if call.function else ""
            finish = choice.finish_reason or finish
    assert text == "Checking." and finish == "tool_calls"
    assert calls == {
        0: {"id": "tooluse_a", "name": "lookup", "arguments": '{"q": "a"}'},
        1: {"id": "tooluse_b", "name": "lookup", "arguments": '{"q": "b"}'},
    }


def test_first_chunk_reaches_the_client_before_the_upstream_finished(proxy: Any, bedrock: FakeBedrock) -> None:
    reply = BedrockReply(events=text_stream("first", " second"), pause_after=2)
    bedrock.enqueue(reply)
    stream = proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER, stream=True)
    first = next(iter(stream))
    # the upstream holds back everything after "first" until we say so: nothing was buffered
    assert first.choices[0].delta.content == "first" and bedrock.finished_streams == 0
    reply.resume.set()
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == " second"
    assert bedrock.finished_streams == 1


def stream_error(proxy: Any) -> openai.APIError:
    """The error the client sees: an error status when nothing was sent yet, else an error event in the stream."""
    with pytest.raises(openai.APIError) as caught:
        for _ in proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER, stream=True):
            pass
    return caught.value


def corrupt(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])


START = event("messageStart", {"role": "assistant"})
DELTA = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "partial"}})


@pytest.mark.parametrize(
    ("events", "cut_after", "expected"),
    [
        ([START, DELTA, DELTA], 2, "bedrock closed the stream early"),
        ([START, DELTA], None, "ended the stream before messageStop"),
        ([START, DELTA[:20]], None, "the stream ended in the middle of a message"),
        ([START, corrupt(DELTA)], None, "message checksum mismatch"),
        ([START, event("surpriseEvent", {})], None, "unknown stream event type 'surpriseEvent'"),
        (
            [START, encode_message({":message-type": "event", ":event-type": "contentBlockDelta"}, b"{oops")],
            None,
            "not JSON",
        ),
        (
            [START, DELTA, exception("throttlingException", "Too many tokens, please wait.")],
            None,
            "Too many tokens, please wait.",
        ),
        (
            [START, exception("modelStreamErrorException", "The model failed mid-stream.")],
            None,
            "The model failed mid-stream.",
        ),
    ],
    ids=[
        "truncated",
        "no-message-stop",
        "cut-inside-a-frame",
        "bad-crc",
        "unknown-event",
        "garbled-payload",
        "throttled",
        "model-error",
    ],
)
def test_broken_streams_end_with_a_clean_error(
    proxy: Any, bedrock: FakeBedrock, events: list[bytes], cut_after: int | None, expected: str
) -> None:
    bedrock.enqueue(BedrockReply(events=events, cut_after=cut_after))
    assert expected in str(stream_error(proxy))
    # the gateway keeps serving
    assert proxy.openai().chat.completions.create(model="claude-bedrock", messages=USER).choices[0].message.content
