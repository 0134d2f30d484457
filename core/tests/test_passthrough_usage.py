"""Usage read from vendors' answers on pass-through routes, in the shapes their docs give.

The end-to-end tests (tests/test_passthrough.py) drive the SDKs through the gateway; these cover
the shapes no local server there sends: a stream cut anywhere between two network reads, an event
line too long to keep, Gemini's JSON-array stream, the Responses API's final event, Bedrock Converse.
"""

from __future__ import annotations

import orjson

from gateway._types import Usage
from gateway.http._passthrough_usage import MAX_LINE_BYTES, StreamUsage, usage_of_answer


def sse(*events: dict[str, object]) -> bytes:
    return b"".join(b"event: x\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


ANTHROPIC_STREAM = sse(
    {
        "type": "message_start",
        "message": {"usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 1}},
    },
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "the word usage, in text"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 30}},
    {"type": "message_stop"},
)


def test_an_anthropic_stream_split_at_every_byte_gives_the_same_usage() -> None:
    whole = StreamUsage()
    whole.feed(ANTHROPIC_STREAM)
    # OpenAI's semantics: the prompt counts cache reads; message_delta's count is the final output
    assert whole.usage == Usage(112, 30, 142, 100, 0)
    for cut in range(1, len(ANTHROPIC_STREAM)):
        scanner = StreamUsage()
        scanner.feed(ANTHROPIC_STREAM[:cut])
        scanner.feed(ANTHROPIC_STREAM[cut:])
        assert scanner.usage == whole.usage, cut


def test_a_line_too_long_to_keep_is_skipped_and_the_stream_still_read() -> None:
    scanner = StreamUsage()
    scanner.feed(b"data: " + b"x" * (MAX_LINE_BYTES + 10))
    scanner.feed(b"usage still part of the long line\n\n")
    scanner.feed(sse({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}))
    assert scanner.usage == Usage(3, 4, 7)


def test_the_responses_api_final_event() -> None:
    completed = {
        "type": "response.completed",
        "response": {
            "object": "response",
            "usage": {
                "input_tokens": 20,
                "input_tokens_details": {"cached_tokens": 5},
                "output_tokens": 9,
                "output_tokens_details": {"reasoning_tokens": 4},
                "total_tokens": 29,
            },
        },
    }
    scanner = StreamUsage()
    scanner.feed(sse({"type": "response.created", "response": {"usage": None}}, completed))
    assert scanner.usage == Usage(20, 9, 29, 5, 0, 4)


def test_gemini_json_array_stream_takes_the_last_usage() -> None:
    chunks = [
        {"candidates": [], "usageMetadata": {"promptTokenCount": 8}},
        {
            "candidates": [],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 6, "thoughtsTokenCount": 3},
        },
    ]
    assert usage_of_answer(chunks) == Usage(8, 9, 17, 0, 0, 3)


def test_bedrock_converse_and_answers_without_usage() -> None:
    converse = {"output": {}, "usage": {"inputTokens": 11, "outputTokens": 2, "cacheReadInputTokens": 4}}
    assert usage_of_answer(converse) == Usage(15, 2, 17, 4, 0)
    assert usage_of_answer({"data": [], "object": "list"}) is None
    assert usage_of_answer({"usage": "n/a", "type": 5}) is None
