"""What a new operator meets in the first hour (issue 21): the banner, one-line start-up errors
with their fix and exit status 2, bare ``gateway``, ``--help``/``--version``, a plugin's route
without the plugin, and a test run that ends with pytest's summary."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.testing import free_port, in_process_client

GATEWAY = str(Path(sys.executable).with_name("gateway"))
MASTER = "sk-first-hour"
MOCK_CONFIG = {
    "model_list": [
        {"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o", "mock_response": "Hello!"}},
        {"model_name": "gpt-4o-mini", "litellm_params": {"model": "mock/gpt-4o-mini", "mock_response": "Hi!"}},
    ],
    "general_settings": {"master_key": MASTER},
}


def _env(**extra: str) -> dict[str, str]:
    """The environment without a config, database or Redis; every installed plugin loads unless
    ``GATEWAY_LOAD_PLUGINS`` is given (core's conftest narrows it to openai and mock)."""
    drop = ("GATEWAY_CONFIG", "CONFIG_FILE_PATH", "REDIS_URL", "DATABASE_URL", "GATEWAY_LOAD_PLUGINS")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GATEWAY, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=_env(**env))


def _config(tmp_path: Path, config: dict[str, Any] = MOCK_CONFIG) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The process failed with status 2 and said why in exactly one line (no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_bare_gateway_says_how_to_start_and_leaves_nothing_behind(tmp_path: Path) -> None:
    line = _one_error_line(_run([], tmp_path))
    assert "no config file" in line and "--config FILE" in line and "make run" in line
    assert list(tmp_path.iterdir()) == []  # no gateway.db in the current folder


def test_version_and_help_show_the_serve_options(tmp_path: Path) -> None:
    version = _run(["--version"], tmp_path)
    from gateway import __version__

    assert version.returncode == 0 and version.stdout.startswith(f"gateway {__version__}")
    help_text = _run(["--help"], tmp_path)
    assert help_text.returncode == 0
    for option in ("--config", "--port", "--host", "--workers", "check-config", "new-plugin", "--version"):
        assert option in help_text.stdout


def test_a_missing_or_malformed_config_is_one_line(tmp_path: Path) -> None:
    missing = _one_error_line(_run(["--config", "nope.yaml"], tmp_path))
    assert "nope.yaml" in missing and "does not exist" in missing
    (tmp_path / "bad.yaml").write_text("model_list:\n  - model_name: [\n")
    malformed = _one_error_line(_run(["--config", "bad.yaml"], tmp_path))
    assert "bad.yaml line" in malformed and "not valid YAML" in malformed


def test_a_port_in_use_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(["--config", str(_config(tmp_path)), "--port", str(port)], tmp_path, GATEWAY_LOAD_PLUGINS="mock")
    line = _one_error_line(result)
    assert f"port {port} on 127.0.0.1 is already in use" in line and "--port" in line
    assert "listening" not in result.stderr


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = _run(
        ["--config", str(_config(tmp_path)), "--port", str(free_port())],
        tmp_path,
        GATEWAY_LOAD_PLUGINS="mock,virtual_keys",
        DATABASE_URL=f"postgresql://gw:hunter2@127.0.0.1:{port}/gateway",
    )
    line = _one_error_line(result)
    assert f"cannot reach the database postgresql://gw:***@127.0.0.1:{port}/gateway" in line
    assert "DATABASE_URL" in line and "hunter2" not in result.stderr


def test_an_unreachable_redis_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    result = _run(
        ["--config", str(_config(tmp_path)), "--port", str(free_port())],
        tmp_path,
        GATEWAY_LOAD_PLUGINS="mock",
        REDIS_URL=f"redis://:hunter2@127.0.0.1:{port}",
    )
    line = _one_error_line(result)
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{port}" in line and "REDIS_URL" in line
    assert "hunter2" not in result.stderr


def test_a_failure_of_the_apps_own_start_up_is_one_line(tmp_path: Path) -> None:
    # past the checks before serving: the SQLite file's folder cannot be made (a file is in the way)
    (tmp_path / "taken").write_text("")
    result_env = _env(GATEWAY_LOAD_PLUGINS="mock,virtual_keys", DATABASE_URL=f"sqlite:///{tmp_path}/taken/gateway.db")
    result = subprocess.run(
        [GATEWAY, "--config", str(_config(tmp_path)), "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=result_env,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and "cannot open the database" in lines[0] and "DATABASE_URL" in lines[0], lines
    assert "listening" not in result.stderr
    # with worker processes: each says it in one line, and the supervisor exits with 2 too
    workers = subprocess.run(
        [*result.args, "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=result_env
    )
    assert workers.returncode == 2 and "Traceback" not in workers.stderr, workers.stderr
    errors = [line for line in workers.stderr.splitlines() if "cannot open the database" in line]
    assert 1 <= len(errors) <= 2 and "failed to start" not in workers.stderr


def test_the_banner_names_the_url_models_and_only_the_active_plugins(tmp_path: Path) -> None:
    config = _config(tmp_path)
    port = free_port()
    # every installed plugin loads; only mock serves this config (virtual keys and spend would too)
    proc = subprocess.Popen(
        [GATEWAY, "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        env=_env(GATEWAY_DISABLE_PLUGINS="virtual_keys,spend,responses,model_store"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("Ctrl+C to stop" in line for line in lines):
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
        banner = {line.split()[0]: line.strip() for line in lines if line.strip()}
        assert banner["gateway"].endswith(f"listening on http://localhost:{port}"), lines
        # the URL the banner shows answers (the port was bound before the banner)
        answer = httpx.post(
            f"http://localhost:{port}/v1/chat/completions",
            headers={"authorization": f"Bearer {MASTER}"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert answer.status_code == 200
        assert banner["models"] == "models    gpt-4o, gpt-4o-mini"
        active = banner["plugins"].removeprefix("plugins").split("(")[0].replace(",", " ").split()
        assert "mock" in active and "openai" not in active and "gemini" not in active
        assert banner["database"].startswith("database  ")
        assert banner["redis"].startswith("redis     none")
        assert banner["config"] == f"config    {config}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.redis
@pytest.mark.anyio
async def test_readiness_says_unhealthy_while_the_shared_redis_is_down() -> None:
    down = {"model_list": [], "router_settings": {"redis_url": f"redis://127.0.0.1:{free_port()}"}}
    async with in_process_client(down) as client:
        ready = await client.get("/health/readiness")
        assert ready.status_code == 503 and ready.json() == {"status": "unhealthy", "redis": "unreachable"}
    up = {"model_list": [], "router_settings": {"redis_url": "redis://127.0.0.1:6379/0"}}
    async with in_process_client(up) as client:
        ready = await client.get("/health/readiness")
        assert ready.status_code == 200 and ready.json() == {"status": "healthy"}


@pytest.mark.anyio
async def test_a_route_of_a_plugin_that_is_not_installed_names_the_package() -> None:
    # no plugin loaded: as on an installation without gateway-anthropic or gateway-cache
    async with in_process_client({"general_settings": {"master_key": MASTER}}) as client:
        messages = await client.post("/v1/messages", json={"model": "claude", "max_tokens": 5, "messages": []})
        assert messages.status_code == 404
        body = messages.json()  # Anthropic's envelope: the Anthropic SDK shows the message
        assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
        assert "gateway-anthropic, which is not installed: pip install gateway-anthropic" in body["error"]["message"]
        cache = await client.get("/cache/ping")
        assert cache.status_code == 404 and cache.json()["error"]["code"] == "plugin_not_installed"
        assert "pip install gateway-cache" in cache.json()["error"]["message"]
        keys = await client.post("/key/generate", json={})
        assert "pip install gateway-virtual-keys" in keys.json()["error"]["message"]
        other = await client.get("/no/such/route")
        assert other.status_code == 404 and "pip install" not in other.text


def test_a_test_run_ends_with_the_summary_not_the_access_log(tmp_path: Path) -> None:
    # a gateway left serving when its test ends used to print its queued access lines at exit
    (tmp_path / "test_left_running.py").write_text(
        "from gateway.testing import start_gateway\n"
        f"CONFIG = {MOCK_CONFIG!r}\n"
        "def test_requests():\n"
        "    gw = start_gateway(CONFIG)\n"
        "    client = gw.openai()\n"
        "    for _ in range(5):\n"
        "        client.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': 'hi'}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(GATEWAY_LOAD_PLUGINS="mock", GATEWAY_LOG_FORMAT="json"),
    )
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 0, output
    assert "1 passed" in output[-1] and '"event"' not in output[-1], output[-3:]


def test_a_sink_or_guardrail_the_config_names_makes_its_plugin_active(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway._app import create_app
    from gateway._banner import active_plugins
    from gateway._gateway import Gateway

    pytest.importorskip("gateway_prometheus")
    pytest.importorskip("gateway_content_filter")
    monkeypatch.delenv("GATEWAY_LOAD_PLUGINS")  # every installed plugin loads
    config = {
        **MOCK_CONFIG,
        "litellm_settings": {"callbacks": ["prometheus"]},
        "guardrails": [
            {
                "guardrail_name": "words",
                "litellm_params": {"guardrail": "content_filter", "mode": "pre_call", "blocked_words": ["x"]},
            }
        ],
    }
    gateway = Gateway(config)
    create_app(gateway)
    active = active_plugins(gateway)
    assert {"mock", "prometheus", "content_filter"} <= set(active)
    # installed, but nothing in this config uses them
    assert not {"openai", "gemini", "langfuse", "otel", "lakera", "presidio", "cache"} & set(active)


def test_make_run_installs_what_the_embedded_default_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Makefile's RUN_MEMBERS serve every model of examples/default.yaml and each is used."""
    import tomllib

    from gateway._app import create_app
    from gateway._banner import active_plugins
    from gateway._gateway import Gateway

    root = Path(__file__).resolve().parents[2]
    line = next(line for line in (root / "Makefile").read_text().splitlines() if line.startswith("RUN_MEMBERS"))
    folders = line.split("=", 1)[1].split()
    assert folders[0] == "core"
    entry_points = [
        name
        for folder in folders[1:]
        for name in tomllib.loads((root / folder / "pyproject.toml").read_text())["project"]["entry-points"]["gateway"]
    ]
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", ",".join(entry_points))
    gateway = Gateway(root / "examples" / "default.yaml")
    assert gateway.deployments and all(d.unavailable is None for d in gateway.deployments)
    create_app(gateway)
    assert sorted(active_plugins(gateway)) == sorted(entry_points)  # nothing installed for nothing
