"""Real clients a migrating team already runs, against the gateway as `make run` starts it.

The gateway is a real process (``gateway --config examples/default.yaml``: mock models, master key
``sk-1234``, every installed plugin), with no ``drop_params``.  The clients are the real ones, installed
by ``make clients`` (which ``make test`` runs), nothing is downloaded here:

* the LiteLLM Python SDK (``litellm_proxy/<model>``, LiteLLM's documented way to call its proxy), in its
  own venv ``.venv-litellm/`` (it needs openai<3), driven through ``litellm_sdk_client.py``;
* the Claude Code CLI (npm ``@anthropic-ai/claude-code``, ``claude -p``) with ``ANTHROPIC_BASE_URL``
  pointing at the gateway.  It sends the fields of the newest Messages API (``context_management``,
  adaptive ``thinking``, ``output_config``) and a list of ``anthropic-beta`` flags on every turn;
* the Codex CLI (npm ``@openai/codex``, ``codex exec``) with a model provider whose ``base_url`` is the
  gateway and ``wire_api = "responses"``: it speaks only the Responses API (gateway-responses), sends
  namespaced function tools, and runs the shell commands the model asks for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / ".venv" / "bin" / "gateway"
LITELLM_PYTHON = ROOT / ".venv-litellm" / "bin" / "python"
CLAUDE = ROOT / "node_modules" / ".bin" / "claude"
CODEX = ROOT / "node_modules" / ".bin" / "codex"
DEFAULT_CONFIG = ROOT / "examples" / "default.yaml"
MASTER = "sk-1234"  # examples/default.yaml's master key
#: the model Claude Code (the version in package.json) asks for when given none
CLAUDE_CODE_DEFAULT_MODEL = "claude-opus-5-5"
#: what the default config's mock models answer
GPT_4O = "Hello from the mock gpt-4o!"
GPT_4O_MINI = "Hello from the mock gpt-4o-mini!"
#: settings a developer's machine may carry that would change what the gateway under test is
HOST_SETTINGS = ("DATABASE_URL", "REDIS_URL", "GATEWAY_LOAD_PLUGINS", "GATEWAY_CONFIG", "LITELLM_MASTER_KEY")


class GatewayProcess:
    """``gateway --config <file> --port <free port>`` as a child process, run in ``workdir`` (where the
    default config keeps its SQLite database), its log lines in ``workdir / "gateway.log"``."""

    def __init__(self, config: Path, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.log = workdir / "gateway.log"
        environ = {k: v for k, v in os.environ.items() if k not in HOST_SETTINGS}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(GATEWAY), "--config", str(config), "--port", str(self.port)],
                cwd=workdir,
                env={**environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the gateway did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/health/readiness", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_logged(self) -> list[dict[str, Any]]:
        """The access lines (``"event": "request"``) the gateway has written so far."""
        lines = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{") and '"event":"request"' in line.replace(" ", ""):
                lines.append(json.loads(line))
        return lines

    def wait_for_requests(self, after: int, count: int) -> list[dict[str, Any]]:
        """The access lines written after the first ``after`` ones, once there are ``count`` of them
        (they are written in batches, a moment after the answer)."""
        deadline = time.monotonic() + 10
        while True:
            new = self.requests_logged()[after:]
            if len(new) >= count or time.monotonic() > deadline:
                return new
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def default_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The gateway exactly as ``make run`` starts it: the default config file, unchanged, in a fresh
    directory (its database is created next to it)."""
    workdir = tmp_path_factory.mktemp("default-gateway")
    config = workdir / "default.yaml"
    shutil.copyfile(DEFAULT_CONFIG, config)
    assert "drop_params" not in config.read_text()
    gateway = GatewayProcess(config, workdir)
    yield gateway
    gateway.stop()


# --- the LiteLLM Python SDK ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm_sdk(default_gateway: GatewayProcess) -> dict[str, Any]:
    """What the LiteLLM SDK's calls returned (``litellm_sdk_client.py``), one entry per call."""
    assert LITELLM_PYTHON.exists(), f"{LITELLM_PYTHON} is missing: run `make clients` (make test does)"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(default_gateway.log.parent),
        # LiteLLM's documented switch: use the bundled price list, never fetch one at import
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    script = Path(__file__).with_name("litellm_sdk_client.py")
    done = subprocess.run(
        [str(LITELLM_PYTHON), str(script), default_gateway.url, MASTER],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["litellm"] == "1.106.12"
    return result


def sdk_call(litellm_sdk: dict[str, Any], name: str) -> dict[str, Any]:
    call: dict[str, Any] = litellm_sdk[name]
    assert "error" not in call, f"litellm {name} failed: {call.get('error')}\n{call.get('traceback')}"
    return call


def test_litellm_sdk_completion_through_litellm_proxy(litellm_sdk: dict[str, Any]) -> None:
    call = sdk_call(litellm_sdk, "completion")
    assert call["content"] == GPT_4O
    assert call["finish_reason"] == "stop"
    assert call["total_tokens"] > 0


def test_litellm_sdk_streams_with_usage(litellm_sdk: dict[str, Any]) -> None:
    call = sdk_call(litellm_sdk, "streaming")
    assert call["content"] == GPT_4O_MINI
    assert call["finish_reason"] == "stop"
    assert call["total_tokens"] is not None and call["total_tokens"] > 0


def test_litellm_sdk_acompletion_answers_and_streams(litellm_sdk: dict[str, Any]) -> None:
    call = sdk_call(litellm_sdk, "acompletion")
    assert call["content"] == GPT_4O
    assert call["streamed"] == GPT_4O


def test_litellm_sdk_embedding(litellm_sdk: dict[str, Any]) -> None:
    call = sdk_call(litellm_sdk, "embedding")
    assert call["dimensions"] > 0
    assert call["prompt_tokens"] > 0


# --- the Claude Code CLI ---------------------------------------------------------------------------


def run_claude(base_url: str, home: Path, model: str | None, **auth: str) -> subprocess.CompletedProcess[str]:
    """``claude -p`` as a script runs it: one turn, no terminal, its own HOME, nothing sent anywhere but
    ``ANTHROPIC_BASE_URL`` (no auto-update, telemetry or error reports)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed here, so `make clients` could not install the Claude Code CLI")
    assert CLAUDE.exists(), f"{CLAUDE} is missing: run `make clients` (make test does)"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        **auth,
    }
    return subprocess.run(
        [str(CLAUDE), "-p", "say hi", *(["--model", model] if model else []), "--output-format", "json"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def claude_result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, f"claude exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["is_error"] is False, result
    return result


@pytest.mark.parametrize(
    ("auth", "model", "reply"),
    [
        # the key as x-api-key, as Anthropic's own clients send it
        ({"ANTHROPIC_API_KEY": MASTER}, "gpt-4o", GPT_4O),
        # the key as a bearer token, as LiteLLM's Claude Code guide sets it up
        ({"ANTHROPIC_AUTH_TOKEN": MASTER}, "gpt-4o-mini", GPT_4O_MINI),
    ],
    ids=["x-api-key", "bearer"],
)
def test_claude_code_completes_a_turn_on_the_default_config(
    default_gateway: GatewayProcess, tmp_path: Path, auth: dict[str, str], model: str, reply: str
) -> None:
    before = len(default_gateway.requests_logged())
    result = claude_result(run_claude(default_gateway.url, tmp_path / "home", model, **auth))
    assert result["result"] == reply
    assert result["num_turns"] == 1
    assert result["usage"]["output_tokens"] > 0
    # the turn was served by the gateway, streamed (Claude Code streams every turn), with no refusal first
    served = default_gateway.wait_for_requests(before, 1)
    assert [(line["model"], line["status"], line["stream"]) for line in served] == [(model, 200, True)]


def test_claude_code_with_no_model_flag_uses_a_model_group_alias(tmp_path: Path) -> None:
    """Claude Code asks for a Claude model by its own name unless told otherwise; one line in the file
    (``router_settings.model_group_alias``, as in LiteLLM) serves it from a model group of the config,
    as the migration doc says."""
    config = tmp_path / "default.yaml"
    aliased = {"router_settings": {"model_group_alias": {CLAUDE_CODE_DEFAULT_MODEL: "gpt-4o"}}}
    config.write_text(DEFAULT_CONFIG.read_text() + yaml.safe_dump(aliased))
    gateway = GatewayProcess(config, tmp_path)
    try:
        done = run_claude(gateway.url, tmp_path / "home", None, ANTHROPIC_API_KEY=MASTER)
        served = gateway.wait_for_requests(0, 1)
    finally:
        gateway.stop()
    assert claude_result(done)["result"] == GPT_4O
    assert [(line["model"], line["model_group"], line["status"]) for line in served] == [
        (CLAUDE_CODE_DEFAULT_MODEL, "gpt-4o", 200)
    ], f"Claude Code asked for another model: update CLAUDE_CODE_DEFAULT_MODEL ({served})"


def test_claude_code_fields_reach_an_anthropic_upstream_unchanged(tmp_path: Path) -> None:
    """Through a same-format (Anthropic) deployment, what Claude Code sends arrives as it sent it:
    the gateway neither refuses nor drops the newer fields, with no ``drop_params``."""
    from gateway_anthropic.testing import FakeAnthropic

    with FakeAnthropic(text="Hi from the fake Anthropic.") as upstream:
        config = tmp_path / "config.yaml"
        deployment = {"model": "anthropic/claude-sonnet-4-5", "api_key": upstream.api_key, "api_base": upstream.url}
        config.write_text(
            yaml.safe_dump(
                {
                    "model_list": [{"model_name": "claude-sonnet", "litellm_params": deployment}],
                    "general_settings": {"master_key": MASTER},
                }
            )
        )
        gateway = GatewayProcess(config, tmp_path, GATEWAY_LOAD_PLUGINS="anthropic")
        try:
            result = claude_result(
                run_claude(gateway.url, tmp_path / "home", "claude-sonnet", ANTHROPIC_API_KEY=MASTER)
            )
        finally:
            gateway.stop()
        assert result["result"] == "Hi from the fake Anthropic."
        assert upstream.rejections == []
        (sent,) = upstream.requests
        body = sent.json
        assert body["model"] == "claude-sonnet-4-5"
        assert body["stream"] is True
        # the fields the Messages API added lately, as Claude Code sent them (the fake validates their shape)
        assert body["context_management"]["edits"], body.get("context_management")
        assert body["thinking"]["type"] == "adaptive"
        assert "effort" in body["output_config"]
        assert "context-management-2025-06-27" in sent.headers["anthropic-beta"].split(",")


# --- the Codex CLI ---------------------------------------------------------------------------------


def run_codex(base_url: str, home: Path, model: str, prompt: str) -> list[dict[str, Any]]:
    """``codex exec`` as a script runs it: one turn, its events as JSON lines, its own HOME and
    CODEX_HOME, the gateway as its only model provider (``wire_api = "responses"``), commands run
    without a sandbox (the test's directory is the workspace).  Web search is turned off: it is a
    built-in tool of OpenAI's API, which a model reached through chat completions cannot run (the
    gateway refuses it naming the deployment)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed here, so `make clients` could not install the Codex CLI")
    assert CODEX.exists(), f"{CODEX} is missing: run `make clients` (make test does)"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f'''model = "{model}"
model_provider = "gateway"
web_search = "disabled"

[model_providers.gateway]
name = "LLM gateway"
base_url = "{base_url}/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
'''
    )
    workspace = home / "workspace"
    workspace.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "CODEX_HOME": str(codex_home),
           "GATEWAY_API_KEY": MASTER}  # fmt: skip
    done = subprocess.run(
        [str(CODEX), "exec", "--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
         "--cd", str(workspace), prompt],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, f"codex exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert not [e for e in events if e["type"] in ("error", "turn.failed")], done.stdout
    assert events[-1]["type"] == "turn.completed", done.stdout
    return events


def completed(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == kind]


def test_codex_completes_a_turn_on_the_default_config(default_gateway: GatewayProcess, tmp_path: Path) -> None:
    before = len(default_gateway.requests_logged())
    events = run_codex(default_gateway.url, tmp_path / "home", "gpt-4o", "say hi")
    assert [item["text"] for item in completed(events, "agent_message")] == [GPT_4O]
    assert events[-1]["usage"]["output_tokens"] > 0
    served = default_gateway.wait_for_requests(before, 1)
    assert [(line["model"], line["status"], line["stream"]) for line in served] == [("gpt-4o", 200, True)]


#: what the scripted model has Codex run, and what it says once it has the output
COMMAND = "echo codex-ran-this > proof.txt && cat proof.txt"
DONE = "The command printed codex-ran-this."


def _openai_script(request: Any) -> Any:
    """An OpenAI-format model: a call of Codex's shell tool (``exec_command``), then, given its output, text."""
    from gateway import fake_openai
    from gateway.testing import Reply

    body = request.json
    if body["messages"][-1]["role"] == "tool":
        assert "codex-ran-this" in body["messages"][-1]["content"]
        return Reply(stream=list(fake_openai.chat_chunks(body["model"], DONE, prompt=10, with_usage=True)))
    assert "exec_command" in [tool["function"]["name"] for tool in body["tools"]]
    base = {"id": "chatcmpl-codex", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
    call = {"index": 0, "id": "call_codex_1", "type": "function",
            "function": {"name": "exec_command", "arguments": json.dumps({"cmd": COMMAND})}}  # fmt: skip
    return Reply(
        stream=[
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            {**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}},
        ]
    )  # fmt: skip


def _anthropic_script(body: dict[str, Any]) -> Any:
    """The same model speaking Anthropic's format (the fake server checks every request as Anthropic's API does)."""
    from gateway_anthropic.testing import AnthropicReply, message

    last = body["messages"][-1]["content"]
    results = (
        [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(last, list) else []
    )
    if results:
        assert "codex-ran-this" in json.dumps(results[0]["content"])
        return AnthropicReply(json=message(DONE, model=body["model"]))
    assert "exec_command" in [tool["name"] for tool in body["tools"]]
    use = {"type": "tool_use", "id": "toolu_codex_1", "name": "exec_command", "input": {"cmd": COMMAND}}
    return AnthropicReply(json=message([use], stop_reason="tool_use", model=body["model"]))


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_codex_runs_a_tool_call_through_the_gateway(tmp_path: Path, upstream: str) -> None:
    """The default config plus one scripted model (an OpenAI-format or an Anthropic upstream): the model
    asks for a shell command, Codex runs it and sends its output back, the model answers with text."""
    from gateway_anthropic.testing import FakeAnthropic

    from gateway.testing import FakeUpstream

    server: Any = FakeUpstream() if upstream == "openai" else FakeAnthropic()
    server.default = _openai_script if upstream == "openai" else _anthropic_script
    with server:
        if upstream == "openai":
            params = {"model": "openai/scripted", "api_base": server.base_url, "api_key": "sk-upstream"}
        else:
            params = {"model": "anthropic/claude-scripted", "api_base": server.url, "api_key": server.api_key}
        config = tmp_path / "default.yaml"
        scripted = yaml.safe_load(DEFAULT_CONFIG.read_text())
        scripted["model_list"].append({"model_name": "scripted", "litellm_params": params})
        config.write_text(yaml.safe_dump(scripted))
        gateway = GatewayProcess(config, tmp_path)
        try:
            events = run_codex(gateway.url, tmp_path / "home", "scripted", "write proof.txt")
            served = gateway.wait_for_requests(0, 2)
        finally:
            gateway.stop()
    (command,) = completed(events, "command_execution")
    assert COMMAND in command["command"] and command["exit_code"] == 0
    assert "codex-ran-this" in command["aggregated_output"]
    assert (tmp_path / "home" / "workspace" / "proof.txt").read_text() == "codex-ran-this\n"
    assert [item["text"] for item in completed(events, "agent_message")] == [DONE]
    assert [(line["model"], line["status"], line["stream"]) for line in served] == [("scripted", 200, True)] * 2
    if upstream == "anthropic":
        assert server.rejections == []
