"""Upstreams that hang, reset the connection, or send half a stream, while other traffic is served.

The broken upstreams are raw TCP servers in the test (:class:`BrokenUpstream`), so the gateway
meets the failure at the socket, as it would on a real network.  Each failure becomes an
OpenAI-shaped error within the deployment's ``timeout`` times its attempts (504 for a hang, 502
for a reset or a body cut short; a stream already started ends with an error event and
``[DONE]`` instead of a silent cut), the healthy model keeps answering 200 meanwhile, and every
request, failed or not, has exactly one ledger row.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from faults_support import (
    MASTER,
    MESSAGES,
    BrokenUpstream,
    Load,
    duplicates,
    gateway_config,
    ledger_statuses,
    mock_model,
    report,
    wait_for_ledger,
    wait_until,
)

TIMEOUT = 1  # the broken deployments' timeout and stream_timeout, seconds
BEHAVIOURS = ("hang", "reset", "half")


def broken_model(name: str, upstream: BrokenUpstream) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": "openai/gpt-x",
            "api_base": upstream.base_url,
            "api_key": "sk-upstream",
            "timeout": TIMEOUT,
            "stream_timeout": TIMEOUT,
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
        },
    }


async def call(url: str, model: str, stream: bool) -> tuple[str, bool, int, str | None, float, bytes]:
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=60) as client:
        async with client.stream(
            "POST",
            url + "/v1/chat/completions",
            json={"model": model, "messages": MESSAGES, "stream": stream, "max_tokens": 7},
            headers={"Authorization": f"Bearer {MASTER}"},
        ) as response:
            body = await response.aread()
            return (
                model,
                stream,
                response.status_code,
                response.headers.get("x-litellm-call-id"),
                time.monotonic() - start,
                body,
            )


async def broken_calls(url: str, per_case: int) -> list[tuple[str, bool, int, str | None, float, bytes]]:
    cases = [(model, stream) for model in BEHAVIOURS for stream in (False, True) for _ in range(per_case)]
    return await asyncio.gather(*(call(url, model, stream) for model, stream in cases))


def error_of(stream: bool, body: bytes) -> dict[str, Any]:
    """The OpenAI-shaped error of an answer: the JSON body, or a stream's last data event before [DONE]."""
    if not stream or body.lstrip().startswith(b"{"):
        return dict(json.loads(body)["error"])
    events = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: ")]
    assert events[-1] == b"[DONE]", body[-300:]
    return dict(json.loads(events[-2])["error"])


def test_hanging_resetting_and_half_streaming_upstreams_under_load(
    database: str, redis: Any, gateways: Any, tmp_path: Path
) -> None:
    upstreams = {behaviour: BrokenUpstream(behaviour).start() for behaviour in BEHAVIOURS}
    try:
        models = [mock_model("m")] + [broken_model(name, up) for name, up in upstreams.items()]
        config = gateway_config(database, redis.url, tmp_path / "wal", models)
        (gw,) = gateways(config, plugins="mock,openai,virtual_keys,spend")
        load = Load([gw.url], clients=2, pause=0.01).start()
        wait_until(lambda: load.statuses()[200] >= 10, 30)
        started = load.now()
        broken = asyncio.run(broken_calls(gw.url, per_case=3))
        ended = load.now()
        time.sleep(0.5)
        answers = load.stop()

        during = [a for a in answers if started < a.at < ended]
        expected_status = {"hang": 504, "reset": 502, "half": 502}
        for model, stream, status, call_id, _, body in broken:
            error = error_of(stream, body)
            if model == "half" and stream:  # the stream had started: its 200 stays, the error event says why
                assert status == 200 and b'"content":"Half "' in body
                assert error["type"] == "upstream_error" and "closed the stream early" in error["message"]
            else:
                assert status == expected_status[model], (model, stream, status, body)
                assert error["type"] == ("timeout" if model == "hang" else "upstream_error")
            assert call_id
        assert {a.status for a in answers} == {200} and during  # the healthy model answered throughout

        ids = [a.call_id for a in answers] + [b[3] for b in broken]
        wait_for_ledger(database, {i for i in ids if i})
        rows = ledger_statuses(database)
        assert sorted(rows) == sorted(i for i in ids if i) and duplicates(ids) == 0
        assert all(rows[b[3]][0] == "failure" for b in broken if b[3]), {rows[b[3]] for b in broken if b[3]}

        slowest = {m: round(max(b[4] for b in broken if b[0] == m), 2) for m in BEHAVIOURS}
        report(
            "upstream faults",
            healthy_requests_served=len(answers),
            healthy_served_during_faults=len(during),
            broken_requests=len(broken),
            slowest_answer_s=slowest,
            upstream_connections={m: up.connections for m, up in upstreams.items()},
            ledger_rows=len(rows),
            duplicates=duplicates(ids),
        )
    finally:
        for upstream in upstreams.values():
            upstream.stop()
