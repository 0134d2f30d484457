"""Plugin isolation: a plugin that raises inside a request hook costs that request only.

The client gets an OpenAI-shaped error that names the plugin, the hook and the request id, never
the exception's text (HTTP 500, ``type: plugin_error``); the gateway's log has the detail; the failure is in the request's log event; the next request is served
normally.  A ``gateway_log`` implementation that raises is invisible to the client.  Every test
goes through the real ASGI app (``gateway_client``) or a served gateway and the official SDK.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gateway_openai
import openai
import pytest

from gateway import RequestContext, hookimpl
from gateway.testing import FakeUpstream, LogCollector, ServerLogs

from .conftest import MASTER, openai_config

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


class Broken:
    """Raises ``ValueError`` in the hook named by the request's ``x-explode`` header."""

    gateway_plugin_name = "broken_plugin"

    @staticmethod
    def _maybe(ctx: RequestContext, hook: str) -> None:
        if ctx.headers.get("x-explode") == hook:
            raise ValueError(f"boom in {hook}")

    @hookimpl(tryfirst=True)  # before the master-key check, so it runs for every request
    def gateway_auth(self, ctx: RequestContext) -> None:
        self._maybe(ctx, "auth")

    @hookimpl
    async def gateway_pre_call(self, ctx: RequestContext) -> None:
        self._maybe(ctx, "pre_call")

    @hookimpl
    def gateway_route(self, ctx: RequestContext) -> None:
        self._maybe(ctx, "route")

    @hookimpl(tryfirst=True)
    async def gateway_call(self, ctx: RequestContext) -> None:
        self._maybe(ctx, "call")

    @hookimpl
    def gateway_post_call(self, ctx: RequestContext, response: Any) -> None:
        self._maybe(ctx, "post_call")
        if ctx.headers.get("x-explode") == "stream_chunk" and ctx.stream:
            response.chunks = self._explode_after_first(response.chunks)

    @staticmethod
    async def _explode_after_first(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        async for chunk in chunks:
            yield chunk
            raise ValueError("boom in a stream chunk")

    @hookimpl
    def gateway_log(self, event: Any) -> None:
        if event.ctx.headers.get("x-explode") == "log":
            raise ValueError("boom in log")


def plugins(*extra: Any) -> list[Any]:
    return [gateway_openai, Broken(), *extra]


@pytest.mark.anyio
@pytest.mark.parametrize("hook", ["auth", "pre_call", "route", "call", "post_call"])
async def test_a_plugin_raising_in_a_request_hook_gets_a_named_openai_error(
    hook: str, gateway_client: Any, fake_upstream: FakeUpstream, log_collector: LogCollector, server_logs: ServerLogs
) -> None:
    async with gateway_client(openai_config(fake_upstream), plugins=plugins(log_collector)) as client:
        failed = await client.post("/v1/chat/completions", json=CHAT, headers={"x-explode": hook})
        served = await client.post("/v1/chat/completions", json=CHAT)
    assert failed.status_code == 500
    error = failed.json()["error"]
    assert error["type"] == "plugin_error"
    # the plugin, the hook and the request are named; the exception's text is not (it may quote
    # request data or internal details): the gateway's log has it
    request_id = failed.headers["x-litellm-call-id"]
    assert error["message"] == (
        f"plugin 'broken_plugin' failed in gateway_{hook} while serving request {request_id}; "
        "the gateway's log has the details"
    )
    assert "boom" not in failed.text and "ValueError" not in failed.text
    assert error["provider_specific_fields"] == {"plugin": "broken_plugin", "hook": f"gateway_{hook}"}
    assert server_logs.named(
        "plugin_failed", plugin="broken_plugin", hook=f"gateway_{hook}", error=f"ValueError: boom in {hook}"
    )
    assert served.status_code == 200, served.text  # the next request is unaffected
    if hook != "auth":  # before auth there is no caller to account the request to
        event = log_collector.assert_logged(status=500)
        assert event["error_class"] == "PluginFailure" and "broken_plugin" in event["error_message"]


def test_a_streaming_post_call_failure_is_named_before_the_first_chunk(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=plugins(), load_entrypoints=False)
    client = gw.openai(default_headers={"x-explode": "post_call"})
    with pytest.raises(openai.InternalServerError) as caught:
        list(client.chat.completions.create(**CHAT, stream=True))
    assert caught.value.body["type"] == "plugin_error"
    assert "plugin 'broken_plugin' failed in gateway_post_call" in caught.value.message


def test_a_chunk_wrapper_failing_mid_stream_ends_the_stream_with_an_error_event(
    gateway_factory: Any, fake_upstream: FakeUpstream, log_collector: LogCollector
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=plugins(log_collector), load_entrypoints=False)
    stream = gw.openai(default_headers={"x-explode": "stream_chunk"}).chat.completions.create(**CHAT, stream=True)
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 1  # what was sent before the failure reached the client
    event = log_collector.assert_logged(status=500)
    assert event["stream"] is True
    # the next stream is whole
    chunks = list(gw.openai().chat.completions.create(**CHAT, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == fake_upstream.content


def test_a_chunk_wrapper_failing_mid_stream_is_named(gateway_factory: Any, fake_upstream: FakeUpstream) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=plugins(), load_entrypoints=False)
    stream = gw.openai(default_headers={"x-explode": "stream_chunk"}).chat.completions.create(**CHAT, stream=True)
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert "broken_plugin" in caught.value.message


def test_a_log_hook_failure_is_invisible_to_the_client_and_logged_with_the_plugin_name(
    gateway_factory: Any, fake_upstream: FakeUpstream, log_collector: LogCollector, server_logs: ServerLogs
) -> None:
    gw = gateway_factory(openai_config(fake_upstream), plugins=plugins(log_collector), load_entrypoints=False)
    reply = gw.openai(default_headers={"x-explode": "log"}).chat.completions.create(**CHAT)
    assert reply.choices[0].message.content == fake_upstream.content
    log_collector.wait_for(1)  # other sinks still get the event
    line = server_logs.wait_for("log_hook_failed", plugin="broken_plugin")
    assert "boom in log" in line["error"]


@pytest.mark.anyio
async def test_a_request_hook_failure_is_in_the_gateway_log_with_the_plugin_name(
    gateway_client: Any, fake_upstream: FakeUpstream, server_logs: ServerLogs
) -> None:
    async with gateway_client(openai_config(fake_upstream), plugins=plugins()) as client:
        await client.post("/v1/chat/completions", json=CHAT, headers={"x-explode": "pre_call"})
    assert server_logs.named("plugin_failed", plugin="broken_plugin", hook="gateway_pre_call")


def test_master_key_still_required_when_a_plugin_auth_hook_fails(
    gateway_factory: Any, fake_upstream: FakeUpstream
) -> None:
    """A broken auth plugin fails closed: the request is refused, never let through."""
    gw = gateway_factory(openai_config(fake_upstream), plugins=plugins(), load_entrypoints=False)
    with pytest.raises(openai.InternalServerError):
        gw.openai(api_key="sk-wrong", default_headers={"x-explode": "auth"}).chat.completions.create(**CHAT)
    assert fake_upstream.requests == []
    assert gw.openai(api_key=MASTER).chat.completions.create(**CHAT).choices


# --------------------------------------------------------------------------- gateway plugins --check


def fake_distribution(site: Path, dist: str, entry_name: str, module: str, source: str) -> None:
    """A minimal installed distribution (dist-info with a ``gateway`` entry point) and its module."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"  # escaped as installers write it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gateway]\n{entry_name} = {module}\n")
    (site / f"{module}.py").write_text(source)


def test_plugins_check_reports_each_import_cost_and_fails_on_a_broken_plugin(tmp_path: Path) -> None:
    site = tmp_path / "site"
    fake_distribution(
        site,
        "gateway-slow-check",
        "slow_check",
        "slow_check_plugin",
        "import time\ntime.sleep(0.15)  # a heavy import at module level\n",
    )
    fake_distribution(
        site, "gateway-broken-check", "broken_check", "broken_check_plugin", "raise ImportError('needs libfoo')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "plugins", "--check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    slow = next(line for line in lines if line.startswith("slow_check "))
    cost = float(re.search(r"import ([\d.]+) ms", slow).group(1))  # type: ignore[union-attr]
    assert cost >= 150 and "slow: import heavy libraries inside the functions that use them" in slow
    broken = lines.index(next(line for line in lines if line.startswith("broken_check ")))
    assert "failed" in lines[broken] and "ImportError: needs libfoo" in lines[broken + 1]
    assert "plugin(s) failed to import: broken_check" in result.stdout
    assert re.search(r"start-up: \d+ ms to load everything", result.stdout)
