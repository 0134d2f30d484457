"""Installable as users will install it (issue 21 item 5): wheels of core and a chosen subset of
plugins, installed into a fresh virtualenv outside the repository, serve requests; a plugin that
is not installed is named when its route is asked for; and a plugin made by ``gateway new-plugin``
installs its ``[test]`` extra from the same wheels (the gateway is not on PyPI yet).

The wheels are built here with the pinned build backend, as ``make dist`` builds them; their
third-party dependencies come from the package index pip is configured with (a mirror on CI), at
the versions of constraints.txt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.testing import free_port

pytestmark = pytest.mark.wheels

ROOT = Path(__file__).resolve().parents[1]
HATCHLING = Path(sys.executable).with_name("hatchling")
#: the subset installed: the embedded default's mock models and virtual keys, not the Anthropic surface
SUBSET = {
    "gateway": "core",
    "gateway-mock": "plugins/providers/mock",
    "gateway-virtual-keys": "plugins/governance/virtual-keys",
}
#: what the generated guardrail plugin's [test] extra needs besides core (its example test forwards to OpenAI's format)
PLUGIN_TEST_NEEDS = {"gateway-openai": "plugins/providers/openai"}
MASTER = "sk-from-wheels"


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the repo's venv or config leaking into the fresh one."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "GATEWAY_CONFIG", "GATEWAY_LOAD_PLUGINS", "GATEWAY_DISABLE_PLUGINS")
    env = {k: v for k, v in os.environ.items() if k not in drop and k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, **extra}


def _run(args: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_clean_env(**env))
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", str(path)], path.parent)
    return path / "bin"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of the subset and of gateway-openai, built as `make dist` builds every package."""
    dist = tmp_path_factory.mktemp("dist")
    for folder in [*SUBSET.values(), *PLUGIN_TEST_NEEDS.values()]:
        _run([str(HATCHLING), "build", "-t", "wheel", "-d", str(dist)], ROOT / folder, timeout=120)
    return dist


@pytest.fixture
def served(wheels: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh venv outside the repo with the subset installed from its wheels, serving a config."""
    bin_dir = _venv(tmp_path / "venv")
    files = [str(next(wheels.glob(f"{name.replace('-', '_')}-*.whl"))) for name in SUBSET]
    _run([str(bin_dir / "pip"), "install", "-q", "-c", str(ROOT / "constraints.txt"), *files], tmp_path)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o", "mock_response": "Hi!"}}
                ],
                "general_settings": {"master_key": MASTER},
            }
        )
    )
    port = free_port()
    proc = subprocess.Popen(
        [str(bin_dir / "gateway"), "--config", str(config), "--port", str(port)],
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the wheel-installed gateway did not start:\n{proc.communicate()[1]}")
            time.sleep(0.1)
        yield url, bin_dir
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def test_core_and_a_subset_installed_from_wheels_serve_requests(served: tuple[str, Path], tmp_path: Path) -> None:
    url, bin_dir = served
    # the gateway runs from the fresh venv, not from this checkout
    location = _run([str(bin_dir / "python"), "-c", "import gateway; print(gateway.__file__)"], tmp_path).stdout
    assert str(tmp_path / "venv") in location and str(ROOT) not in location
    listed = _run([str(bin_dir / "gateway"), "plugins"], tmp_path).stdout
    assert "gateway-mock" in listed and "gateway-virtual-keys" in listed and "gateway-anthropic" not in listed

    auth = {"authorization": f"Bearer {MASTER}"}
    chat = httpx.post(
        url + "/v1/chat/completions",
        headers=auth,
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"] == "Hi!"
    key = httpx.post(url + "/key/generate", headers=auth, json={"models": ["gpt-4o"]})
    assert key.status_code == 200
    as_key = httpx.post(
        url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {key.json()['key']}"},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
    )
    assert as_key.status_code == 200
    # the Anthropic surface is not installed here: its route names the package
    messages = httpx.post(url + "/v1/messages", headers={"x-api-key": MASTER}, json={"model": "gpt-4o"})
    assert messages.status_code == 404
    assert "pip install gateway-anthropic" in messages.json()["error"]["message"]
    # the SQLite file of the virtual keys lies next to the config, as docs/install.md says
    assert (tmp_path / "gateway.db").is_file()


def test_a_new_plugin_installs_its_test_extra_from_the_wheels(wheels: Path, tmp_path: Path) -> None:
    # generated with this checkout's gateway; installed as a plugin author outside it would
    _run(
        [sys.executable, "-m", "gateway", "new-plugin", "acme-guard", "--kind", "guardrail", "-o", str(tmp_path)],
        tmp_path,
    )
    plugin = tmp_path / "gateway-acme-guard"
    # what the generated README says: its ci.sh makes a venv in the plugin's folder and pip finds
    # gateway (not on PyPI yet) and gateway-openai among the wheels
    result = _run(["./ci.sh", "-p", "no:cacheprovider"], plugin, GATEWAY_WHEELS=str(wheels), PYTHON=sys.executable)
    assert " passed" in result.stdout and "failed" not in result.stdout
    listed = _run([str(plugin / ".venv" / "bin" / "gateway"), "plugins"], tmp_path).stdout
    assert "acme_guard" in listed and "gateway-acme-guard" in listed
