"""Streaming: Gemini's ``streamGenerateContent?alt=sse`` translated into OpenAI chunks as events arrive.

Each SSE ``data:`` event is one ``GenerateContentResponse``
(https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent); the last one
carries ``finishReason`` and the complete ``usageMetadata``.  Errors mid-stream are
``{"error": {...}}`` events (https://ai.google.dev/gemini-api/docs/troubleshooting).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from gateway_gemini.testing import FakeGemini, GeminiReply

USAGE = {"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 18}


def event(*parts: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    data: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.0-flash"}
    if usage:
        data["usageMetadata"] = usage
    return data


def test_stream_text_with_usage_at_the_end(proxy: Any, gemini: FakeGemini) -> None:
    gemini.enqueue(
        GeminiReply(
            events=[event({"text": "Hel"}), event({"text": "lo"}), event({"text": "!"}, finish="STOP", usage=USAGE)]
        )
    )
    stream = proxy.openai().chat.completions.create(
        model="gemini-flash",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello!"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 12 and chunks[-1].usage.completion_tokens == 6
    sent = gemini.requests[-1]
    assert sent.path.endswith(":streamGenerateContent") and sent.query == {"alt": "sse"}


def test_stream_without_include_usage_hides_the_usage_chunk(proxy: Any, gemini: FakeGemini) -> None:
    gemini.enqueue(GeminiReply(events=[event({"text": "ok"}, finish="MAX_TOKENS", usage=USAGE)]))
    chunks = list(
        proxy.openai().chat.completions.create(
            model="gemini-flash", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stream_with_tool_calls(proxy: Any, gemini: FakeGemini) -> None:
    gemini.enqueue(
        GeminiReply(
            events=[
                event({"text": "Checking."}),
                event(
                    {"functionCall": {"name": "lookup", "args": {"q": "a"}}},
                    {"functionCall": {"name": "lookup", "args": {"q": "b"}}},
                ),
                event(finish="STOP", usage=USAGE),
            ]
        )
    )
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
    }
    stream = proxy.openai().chat.completions.create(
        model="gemini-flash", messages=[{"role": "user", "content": "find"}], tools=[tool], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert [(c["name"], c["arguments"]) for c in calls.values()] == [("lookup", '{"q":"a"}'), ("lookup", '{"q":"b"}')]
    assert all(c["id"].startswith("call_") for c in calls.values()) and calls[0]["id"] != calls[1]["id"]


def test_first_chunk_reaches_the_client_before_the_upstream_finished(proxy: Any, gemini: FakeGemini) -> None:
    reply = GeminiReply(
        events=[event({"text": "first"}), event({"text": " second"}, finish="STOP", usage=USAGE)], pause_after=1
    )
    gemini.enqueue(reply)
    stream = proxy.openai().chat.completions.create(
        model="gemini-flash", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    first = next(iter(stream))
    # the upstream is still holding back its second event until we say so: nothing was buffered
    assert first.choices[0].delta.content == "first" and gemini.finished_streams == 0
    reply.resume.set()
    rest = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert rest == " second" and gemini.finished_streams == 1


def stream_error(proxy: Any) -> openai.APIError:
    """The error the client sees: an error status when nothing was sent yet, else an error event in the stream."""
    with pytest.raises(openai.APIError) as caught:
        for _ in proxy.openai().chat.completions.create(
            model="gemini-flash", messages=[{"role": "user", "content": "Hi"}], stream=True
        ):
            pass
    return caught.value


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            GeminiReply(events=[event({"text": "a"}), event({"text": "b"}), event({"text": "c"})], cut_after=1),
            "gemini closed the stream early",
        ),
        (GeminiReply(events=[event({"text": "a"})]), "no finishReason"),
        (GeminiReply(events=[event({"text": "a"}), b"data: {not json\r\n\r\n"]), "not JSON"),
        (GeminiReply(events=[b"event: surprise\r\ndata: {}\r\n\r\n"]), "unknown stream event type 'surprise'"),
        (
            GeminiReply(
                events=[
                    event({"text": "a"}),
                    {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}},
                ]
            ),
            "The model is overloaded.",
        ),
    ],
    ids=["truncated", "ended-early", "garbled", "unknown-event", "error-event"],
)
def test_broken_streams_end_with_a_clean_error(
    proxy: Any, gemini: FakeGemini, reply: GeminiReply, expected: str
) -> None:
    gemini.enqueue(reply)
    error = stream_error(proxy)
    assert expected in str(error)
    # the gateway keeps serving
    assert (
        proxy.openai()
        .chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": "x"}])
        .choices[0]
        .message.content
    )
