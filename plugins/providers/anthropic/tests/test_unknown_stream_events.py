"""Anthropic streams: event types the gateway does not know are ignored, never refused.

Anthropic's versioning policy says new event types may be added to a stream and clients should
handle unknown ones gracefully (https://docs.anthropic.com/en/api/versioning,
https://docs.anthropic.com/en/docs/build-with-claude/streaming).  Checked on both paths:

* an Anthropic client on ``/v1/messages`` gets the upstream's events as they came, the unknown one
  included (its SDK skips it), and the answer is complete;
* an OpenAI client gets the answer translated, the unknown event skipped
  (``test_provider_stream.py::test_unknown_event_types_are_ignored``), usage included.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from gateway_anthropic.testing import AnthropicReply, FakeAnthropic, message, message_events

MASTER = "sk-test-master"
MYSTERY = ("mystery_event", {"type": "mystery_event", "detail": {"nested": [1, 2]}})


@pytest.fixture
def gw(start: Any, make_config: Any, anthropic_server: FakeAnthropic) -> Any:
    return start(make_config(anthropic_server))


def events_with_mysteries() -> list[Any]:
    """The stream of a complete message with unknown events before, inside and after its blocks."""
    events = message_events(message("Hello there, friend.", input_tokens=11, output_tokens=5))
    for at in (len(events) - 1, 3, 1, 0):
        events.insert(at, MYSTERY)
    return events


def test_an_anthropic_client_gets_the_whole_answer_and_the_unknown_events(
    gw: Any, anthropic_server: FakeAnthropic
) -> None:
    anthropic_server.enqueue(AnthropicReply(events=events_with_mysteries()))
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER, max_retries=0)
    with client.messages.stream(model="claude", max_tokens=50, messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Hello there, friend."
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("end_turn", 11, 5)

    anthropic_server.enqueue(AnthropicReply(events=events_with_mysteries()))
    raw = httpx.post(
        gw.url + "/v1/messages",
        headers={"x-api-key": MASTER},
        json={"model": "claude", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert raw.status_code == 200
    assert raw.text.count("event: mystery_event") == 4  # passed on unchanged, as the upstream sent them
    assert "event: error" not in raw.text and raw.text.rstrip().endswith('{"type":"message_stop"}')


def test_an_openai_client_gets_the_translated_answer_with_usage(gw: Any, anthropic_server: FakeAnthropic) -> None:
    anthropic_server.enqueue(AnthropicReply(events=events_with_mysteries()))
    chunks = list(
        gw.openai().chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there, friend."
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (11, 5)
