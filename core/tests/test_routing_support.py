"""Shared pieces of the router tests (this module holds no tests).

Every test runs a real gateway (``gateway_factory``) in front of several local OpenAI-compatible
servers (``FakeUpstream``), each answering with its own text so the answer says who served it.
The wire format is OpenAI's chat completions API
(https://platform.openai.com/docs/api-reference/chat/create, streaming:
https://platform.openai.com/docs/api-reference/chat-streaming).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import gateway_openai
import pytest

from gateway import fake_openai, hookimpl
from gateway.testing import FakeUpstream, RecordedRequest, Reply

from .conftest import MASTER

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def upstreams() -> Iterator[Callable[[int], list[FakeUpstream]]]:
    """``upstreams(n)`` starts n fake upstreams answering "from upstream <i>"; all stopped after the test."""
    started: list[FakeUpstream] = []

    def make(count: int) -> list[FakeUpstream]:
        new = [FakeUpstream(f"from upstream {len(started) + i}").start() for i in range(count)]
        started.extend(new)
        return new

    try:
        yield make
    finally:
        for upstream in started:
            upstream.stop()


def entry(group: str, upstream: FakeUpstream, **params: Any) -> dict[str, Any]:
    """One ``model_list`` entry: an OpenAI-format deployment at ``upstream``."""
    model_info = params.pop("model_info", {})
    return {
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.base_url, "api_key": "sk-up", **params},
        "model_info": model_info,
    }


def config(*entries: dict[str, Any], **router_settings: Any) -> dict[str, Any]:
    return {"model_list": list(entries), "general_settings": {"master_key": MASTER}, "router_settings": router_settings}


def start(gateway_factory: Any, cfg: dict[str, Any], plugins: tuple[Any, ...] = ()) -> Any:
    """A running gateway with only the kernel and the OpenAI provider (other installed plugins,
    such as rate limiters that also read ``rpm``, would change what these tests observe)."""
    return gateway_factory(cfg, plugins=[gateway_openai, *plugins], load_entrypoints=False)


def _answer(upstream: FakeUpstream, request: RecordedRequest, delay: float, chunk_delay: float = 0.0) -> Reply:
    data = request.json or {}
    prompt = fake_openai.prompt_tokens(data.get("messages") or [])
    if data.get("stream"):
        chunks = list(fake_openai.chat_chunks(data.get("model", "m"), upstream.content, prompt=prompt))
        return Reply(delay=delay, stream=chunks, chunk_delay=chunk_delay)
    return Reply(delay=delay, json=fake_openai.chat_completion(data.get("model", "m"), upstream.content, prompt=prompt))


def slow(upstream: FakeUpstream, seconds: float, chunk_delay: float = 0.0) -> FakeUpstream:
    """Answer every request correctly, after ``seconds`` (streams: ``chunk_delay`` between events)."""
    upstream.default = lambda request: _answer(upstream, request, seconds, chunk_delay)
    return upstream


def failing(
    upstream: FakeUpstream, status: int = 500, message: str = "upstream exploded", **error: Any
) -> FakeUpstream:
    """Answer every request with an OpenAI-shaped error."""
    upstream.default = Reply(status=status, json={"error": {"message": message, "type": "server_error", **error}})
    return upstream


def healthy(upstream: FakeUpstream) -> FakeUpstream:
    upstream.default = None
    return upstream


def served_by(text: str | None) -> str:
    return (text or "").rsplit(" ", 1)[-1]


def chat(proxy: Any, **kwargs: Any) -> tuple[str, dict[str, str]]:
    """One chat completion through the openai SDK: (answer text, response headers)."""
    raw = proxy.openai().chat.completions.with_raw_response.create(
        model=kwargs.pop("model", "primary"), messages=kwargs.pop("messages", MESSAGES), **kwargs
    )
    return raw.parse().choices[0].message.content, dict(raw.headers)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll (bounded) for something that happens in the background."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def not_near_minute_end(margin: float = 4.0) -> None:
    """Per-minute counters reset on the minute: start a counting test well inside one."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.1)


class Alerts:
    """A plugin that keeps every ``gateway_alert``."""

    gateway_plugin_name = "test_alerts"

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    @hookimpl
    def gateway_alert(self, alert: Any) -> None:
        self.alerts.append(alert.to_dict())
