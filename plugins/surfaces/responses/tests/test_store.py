"""``store`` and ``previous_response_id``: responses kept in the gateway's database, per key.

The ``openai`` SDK is the client; an OpenAI-format upstream (``FakeUpstream``) records what each
continued conversation sent.  Two gateway processes on one PostgreSQL database show that a
conversation started on one worker continues on another.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from responses_helpers import MASTER, config

from gateway.testing import FakeUpstream, Reply, RunningGateway, free_port, postgres_database


def client(gw: RunningGateway, key: str = MASTER) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)


def function_call_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                     "tool_calls": [{"id": "call_7", "type": "function",
                                     "function": {"name": "shell", "arguments": '{"command": ["ls"]}'}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }  # fmt: skip


def test_previous_response_id_continues_the_conversation(gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    sdk = client(gw)
    first = sdk.responses.create(model="gpt", input="My name is Ada.", instructions="Old instructions.")
    second = sdk.responses.create(
        model="gpt", input="What is my name?", previous_response_id=first.id, instructions="New instructions."
    )
    assert second.previous_response_id == first.id
    # the earlier turn, its answer, then the new input; the earlier instructions are not carried over
    assert fake_upstream.requests[-1].json["messages"] == [
        {"role": "system", "content": "New instructions."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": fake_upstream.content},
        {"role": "user", "content": "What is my name?"},
    ]
    third = sdk.responses.create(model="gpt", input="Thanks.", previous_response_id=second.id)
    assert len(fake_upstream.requests[-1].json["messages"]) == 5
    assert third.output_text == fake_upstream.content


def test_a_tool_output_continues_a_stored_function_call(gw: RunningGateway, fake_upstream: FakeUpstream) -> None:
    fake_upstream.enqueue(Reply(json=function_call_completion()))
    sdk = client(gw)
    tool = {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}}
    first = sdk.responses.create(model="gpt", input="List the files.", tools=[tool])
    call = first.output[0]
    assert call.type == "function_call" and call.call_id == "call_7"
    sdk.responses.create(
        model="gpt",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_7", "output": "README.md"}],
        tools=[tool],
    )
    assert fake_upstream.requests[-1].json["messages"] == [
        {"role": "user", "content": "List the files."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_7", "type": "function", "function": {"name": "shell", "arguments": '{"command": ["ls"]}'}}]},
        {"role": "tool", "tool_call_id": "call_7", "content": "README.md"},
    ]  # fmt: skip


def test_get_input_items_and_delete(gw: RunningGateway) -> None:
    sdk = client(gw)
    created = sdk.responses.create(
        model="mock",
        input=[
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "input_text", "text": "two"}]},
        ],
    )
    assert sdk.responses.retrieve(created.id).model_dump() == created.model_dump()
    items = list(sdk.responses.input_items.list(created.id, order="asc"))
    assert [(i.type, i.role, i.content[0].text) for i in items] == [
        ("message", "user", "one"),
        ("message", "user", "two"),
    ]
    assert all(i.id for i in items)
    newest_first = list(sdk.responses.input_items.list(created.id))  # OpenAI's default order: desc
    assert [i.id for i in newest_first] == [i.id for i in reversed(items)]
    page = sdk.responses.input_items.list(created.id, order="asc", limit=1)
    assert [i.id for i in page.data] == [items[0].id] and page.has_more
    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="mock", input="again", previous_response_id=created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(created.id)


def test_a_streamed_response_is_stored_when_complete(gw: RunningGateway) -> None:
    sdk = client(gw)
    with sdk.responses.stream(model="mock", input="Hi") as stream:
        final = stream.get_final_response()
    stored = sdk.responses.retrieve(final.id)
    assert stored.status == "completed" and stored.output_text == final.output_text
    assert stored.usage == final.usage


def test_store_false_keeps_nothing(gw: RunningGateway) -> None:
    sdk = client(gw)
    created = sdk.responses.create(model="mock", input="Hi", store=False)
    assert created.store is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="mock", input="again", previous_response_id=created.id)


def test_unknown_and_expired_ids_are_404_in_openai_shape(gw: RunningGateway, sqlite_url: str) -> None:
    sdk = client(gw)
    with pytest.raises(openai.NotFoundError) as unknown:
        sdk.responses.create(model="mock", input="Hi", previous_response_id="resp_doesnotexist")
    body = unknown.value.body
    assert isinstance(body, dict)
    assert body["param"] == "previous_response_id" and body["code"] == "previous_response_not_found"
    assert "resp_doesnotexist" in body["message"]
    created = sdk.responses.create(model="mock", input="Hi")
    with sqlite3.connect(sqlite_url.split(":///", 1)[1]) as db:  # its 30 days are over
        db.execute("UPDATE gateway_responses SET expires_at = '2000-01-01 00:00:00' WHERE id = ?", (created.id,))
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="mock", input="again", previous_response_id=created.id)
    answer = httpx.get(gw.base_url + "/responses/%00bad", headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "response_not_found"


def test_another_key_gets_404(start: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "responses,mock,virtual_keys")
    monkeypatch.delenv("REDIS_URL", raising=False)
    gw = start(config(sqlite_url))
    headers = {"Authorization": f"Bearer {MASTER}"}
    keys = [httpx.post(gw.url + "/key/generate", json={}, headers=headers, timeout=10).json()["key"] for _ in "ab"]
    owner, other = client(gw, keys[0]), client(gw, keys[1])
    created = owner.responses.create(model="mock", input="a secret")
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="mock", input="tell me", previous_response_id=created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(created.id)
    assert owner.responses.retrieve(created.id).id == created.id  # still there for its owner
    assert owner.responses.create(model="mock", input="more", previous_response_id=created.id).status == "completed"


# --------------------------------------------------------------------------- two workers


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("responses_test") as url:
        yield url


class Worker:
    """A real ``gateway`` process (the CLI) on its own port."""

    def __init__(self, config_path: Path, workdir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "responses,mock,openai"}
        env.pop("DATABASE_URL", None)
        self.log = open(workdir / f"gateway-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        gateway = Path(sys.executable).parent / "gateway"
        self.proc = subprocess.Popen([str(gateway), "--config", str(config_path), "--port", str(self.port)],
                                     cwd=workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, (workdir / f"gateway-{self.port}.log").read_text()
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def test_a_conversation_continues_on_another_worker(pg_url: str, tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(config(pg_url, openai=fake_upstream)))
    first_worker = Worker(config_path, tmp_path)
    try:
        second_worker = Worker(config_path, tmp_path)
        try:
            one = openai.OpenAI(base_url=first_worker.base_url, api_key=MASTER, max_retries=0)
            two = openai.OpenAI(base_url=second_worker.base_url, api_key=MASTER, max_retries=0)
            started = one.responses.create(model="gpt", input="My name is Ada.")
            two.responses.create(model="gpt", input="What is my name?", previous_response_id=started.id)
            assert [m["content"] for m in fake_upstream.requests[-1].json["messages"]] == [
                "My name is Ada.", fake_upstream.content, "What is my name?"]  # fmt: skip
            assert two.responses.retrieve(started.id).output_text == started.output_text
        finally:
            second_worker.stop()
    finally:
        first_worker.stop()


def test_expired_responses_are_deleted(start: Any, sqlite_url: str) -> None:
    """Each worker deletes expired rows when it starts and every hour after (reads never see them anyway)."""
    first = start(config(sqlite_url))
    kept, expired = (client(first).responses.create(model="mock", input=text) for text in ("keep", "expire"))
    path = sqlite_url.split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE gateway_responses SET expires_at = '2000-01-01 00:00:00' WHERE id = ?", (expired.id,))
    start(config(sqlite_url))  # another worker starts
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(path) as db:
            left = [row[0] for row in db.execute("SELECT id FROM gateway_responses")]
        if left == [kept.id] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert left == [kept.id]
