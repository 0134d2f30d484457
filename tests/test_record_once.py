"""Every model request is recorded exactly once (one log event, one ledger row), on every surface,
however it ends: a JSON answer, a stream, an upstream failing before its first byte or in the middle
of a stream, a client leaving mid-stream, a failed authentication, a malformed body.

One gateway with the spend ledger (SQLite) and the log collector serves every case; each request
carries its own ``x-request-id``, which the log event and the ledger row record as
``client_request_id``, so each case finds exactly its own records.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.testing import FakeUpstream, LogCollector, Reply, start_gateway

anthropic_testing = pytest.importorskip(
    "gateway_anthropic.testing", reason="the /v1/messages surface needs gateway-anthropic"
)
pytest.importorskip("gateway_spend", reason="the ledger is gateway-spend's")
pytest.importorskip("gateway_responses", reason="the /v1/responses surface needs gateway-responses")
AnthropicReply, FakeAnthropic = anthropic_testing.AnthropicReply, anthropic_testing.FakeAnthropic
message, message_events = anthropic_testing.message, anthropic_testing.message_events

MASTER = "sk-record-once"
CASES = ("json", "stream", "fails_before_first_byte", "fails_mid_stream", "client_leaves_mid_stream", "auth_fails",
         "malformed_body")  # fmt: skip


@dataclass
class World:
    url: str
    openai: FakeUpstream
    anthropic: Any
    collector: LogCollector
    release: threading.Event


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("record_once")
    openai, anthropic = FakeUpstream().start(), FakeAnthropic().start()
    collector = LogCollector()
    config = {
        "model_list": [
            {"model_name": "gpt", "litellm_params": {"model": "openai/gpt-4o", "api_base": openai.base_url, "api_key": "k"}},
            {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-x", "api_base": anthropic.url,
                                                        "api_key": anthropic.api_key}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp / 'ledger.db'}"},
        "router_settings": {"num_retries": 0},
        "plugins": {"spend": {"wal_dir": str(tmp / "wal"), "ship_interval_seconds": 0.05}},
    }  # fmt: skip
    import os

    os.environ["GATEWAY_LOAD_PLUGINS"] = "openai,anthropic,spend,responses"
    try:
        gw = start_gateway(config, plugins=[collector])
    finally:
        del os.environ["GATEWAY_LOAD_PLUGINS"]
    try:
        yield World(gw.url, openai, anthropic, collector, threading.Event())
    finally:
        gw.stop()
        openai.stop()
        anthropic.stop()


# --------------------------------------------------------------------------- the surfaces


@dataclass(frozen=True)
class Surface:
    name: str
    path: str
    body: dict[str, Any]
    streams: bool = True


SURFACES = [
    Surface("openai.chat", "/v1/chat/completions", {"model": "gpt", "messages": [{"role": "user", "content": "Hi"}]}),
    Surface("openai.completions", "/v1/completions", {"model": "gpt", "prompt": "Hi"}),
    Surface("openai.embeddings", "/v1/embeddings", {"model": "gpt", "input": "Hi"}, streams=False),
    Surface("anthropic.messages", "/v1/messages",
            {"model": "claude", "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}]}),
    Surface("openai.responses", "/v1/responses", {"model": "gpt", "input": "Hi"}),
    # a pass-through route (core): the same lifecycle's ends, without a surface's codec
    Surface("passthrough.anthropic", "/anthropic/v1/messages",
            {"model": "claude-x", "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}]}),
]  # fmt: skip


def _openai_chunks(surface: Surface) -> list[Any]:
    if surface.name == "openai.completions":
        return [{"id": "c", "object": "text_completion", "choices": [{"index": 0, "text": f"w{i} "}]} for i in range(6)]
    return [{"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": f"w{i} "}}]}
            for i in range(6)]  # fmt: skip


def _script(world: World, surface: Surface, case: str) -> None:
    """What the upstream does for this case."""
    if surface.name in ("anthropic.messages", "passthrough.anthropic"):
        events = message_events(message("one two three four five six"))
        if case == "fails_before_first_byte":
            world.anthropic.enqueue(
                AnthropicReply(status=500, json={"type": "error", "error": {"type": "api_error", "message": "boom"}})
            )
        elif case == "fails_mid_stream":
            world.anthropic.enqueue(AnthropicReply(events=events, break_after=3))
        elif case == "client_leaves_mid_stream":  # held after the first events until the test releases it
            world.anthropic.enqueue(AnthropicReply(events=events, gate=world.release, gate_at=3))
        return
    if case == "fails_before_first_byte":
        world.openai.enqueue(Reply(status=500, json={"error": {"message": "boom"}}))
    elif case == "fails_mid_stream":
        world.openai.enqueue(Reply(stream=_openai_chunks(surface), break_after=2))
    elif case == "client_leaves_mid_stream":
        world.openai.enqueue(Reply(stream=_openai_chunks(surface), chunk_delay=0.3))


def _send(world: World, surface: Surface, case: str, request_id: str) -> int | None:
    headers = {"Authorization": f"Bearer {MASTER}", "x-request-id": request_id}
    body = dict(surface.body)
    if case in ("stream", "fails_mid_stream", "client_leaves_mid_stream"):
        body["stream"] = True
    if case == "auth_fails":
        headers["Authorization"] = "Bearer sk-not-a-key"
    with httpx.Client(base_url=world.url, timeout=30) as client:
        if case == "malformed_body":
            return client.post(surface.path, content=b'{"model": "gpt", "messages": [', headers=headers).status_code
        if case == "client_leaves_mid_stream":
            with client.stream("POST", surface.path, json=body, headers=headers) as response:
                next(response.iter_raw())  # the first event arrived: now leave
            return None
        if body.get("stream"):
            with client.stream("POST", surface.path, json=body, headers=headers) as response:
                response.read()
                return response.status_code
        return client.post(surface.path, json=body, headers=headers).status_code


def _ledger_rows(world: World, request_id: str) -> list[dict[str, Any]]:
    found = httpx.get(world.url + "/spend/logs", params={"request_id": request_id},
                      headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)  # fmt: skip
    assert found.status_code == 200, found.text
    return [row for row in found.json() if row.get("client_request_id") == request_id]


def _records(world: World, request_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """This request's log events and ledger rows, once they stopped arriving (both are asynchronous)."""
    deadline = time.monotonic() + 10
    while True:
        events = [e for e in world.collector.events if e.get("client_request_id") == request_id]
        rows = _ledger_rows(world, request_id)
        if (events and rows) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # a second record would come right after the first: give it the chance
    events = [e for e in world.collector.events if e.get("client_request_id") == request_id]
    return events, _ledger_rows(world, request_id)


EXPECTED_STATUS = {"json": 200, "stream": 200, "fails_before_first_byte": 500, "fails_mid_stream": 200,
                   "auth_fails": 401, "malformed_body": 400}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_recorded_exactly_once(world: World, surface: Surface, case: str) -> None:
    if not surface.streams and "stream" in case:
        pytest.skip(f"{surface.name} does not stream")
    request_id = f"case-{uuid.uuid4().hex}"
    _script(world, surface, case)
    status = _send(world, surface, case, request_id)
    if case in EXPECTED_STATUS:
        assert status == EXPECTED_STATUS[case]
    events, rows = _records(world, request_id)
    assert len(events) == 1, f"{len(events)} log events"
    assert len(rows) == 1, f"{len(rows)} ledger rows"
    event = events[0]
    if case in ("json", "stream"):
        assert event["status"] == 200 and event["error_class"] is None and rows[0]["status"] == "success"
    else:
        assert rows[0]["status"] == "failure", rows[0]
    if case == "client_leaves_mid_stream":
        assert event["status"] == 499
        world.release.set()  # let a held fake stream finish (the gateway stopped reading it)
        world.release.clear()
    if case == "auth_fails":
        assert event["status"] == 401 and rows[0]["api_key"] == ""
