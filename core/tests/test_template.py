"""The plugin template, end to end: ``gateway new-plugin`` for every kind, installed, discovered
through its entry point by a real gateway process, working, and its own generated tests passing.

The generated packages are built by pip (hatchling, as a user's ``pip install`` would) into a
private site folder that the subprocesses get on ``PYTHONPATH``.  That is a real installation
(dist-info, entry points) layered over the test environment, without touching the virtualenv
that other test runs share at the same moment; nothing needs uninstalling afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from gateway import _cli as cli
from gateway import _scaffold as scaffold
from gateway.testing import FakeUpstream, Reply, free_port

#: what to generate: key -> (kind, variant, plugin name); None is the kind's default variant
PLUGINS = {
    "provider": ("provider", None, "kit-provider"),
    "guardrail": ("guardrail", None, "kit-guardrail"),  # a type for the guardrail framework
    "guardrail_hook": ("guardrail", "hook", "kit-guard-hook"),  # a plain gateway_pre_call
    "router": ("router", None, "kit-router"),
    "sink": ("sink", None, "kit-sink"),
}
#: build with the venv's hatchling when it has one (fast, offline); otherwise pip fetches it into an
#: isolated build environment, as a plugin author's plain `pip install` would
BUILD_FLAGS = ["--no-build-isolation", "--no-index"] if importlib.util.find_spec("hatchling") else []
KINDS = {key: name for key, (_, _, name) in PLUGINS.items()}
NAMES = {key: name.replace("-", "_") for key, name in KINDS.items()}
MASTER_KEY = "sk-template-master"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One plugin of each kind, made with the real command line."""
    root = tmp_path_factory.mktemp("plugins")
    for kind, variant, name in PLUGINS.values():
        extra = ["--variant", variant] if variant else []
        assert cli.main(["new-plugin", name, "--kind", kind, *extra, "--output", str(root)]) == 0
    return {kind: root / f"gateway-{name}" for kind, name in KINDS.items()}


@pytest.fixture(scope="module")
def site(generated: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four packages built and installed (one pip run) into a private site folder."""
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            *BUILD_FLAGS,
            "--target",
            str(target),
            *map(str, generated.values()),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return target


def env_with(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


# --------------------------------------------------------------------------- the generated files


def test_every_kind_gets_a_complete_package(generated: dict[str, Path]) -> None:
    for kind, path in generated.items():
        name, package = NAMES[kind], f"gateway_{NAMES[kind]}"
        config_example = "guardrails:\n  - guardrail_name" if kind == "guardrail" else f"plugins:\n  {name}:"
        files = {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}
        assert {
            "pyproject.toml",
            "README.md",
            "ci.sh",
            ".gitignore",
            ".github/workflows/test.yml",
            f"src/{package}/__init__.py",
            f"tests/test_{name}.py",
        } <= files, kind
        pyproject = tomllib.loads((path / "pyproject.toml").read_text())
        assert pyproject["project"]["name"] == f"gateway-{KINDS[kind]}"
        assert pyproject["project"]["entry-points"]["gateway"] == {name: package}
        assert pyproject["project"]["dependencies"][0] == "gateway>=0.1,<0.2"
        assert pyproject["build-system"]["build-backend"] == "hatchling.build"
        assert os.access(path / "ci.sh", os.X_OK)
        readme = (path / "README.md").read_text()
        assert "## Configuration" in readme and config_example in readme
        for file in files:
            text = (path / file).read_text()
            assert scaffold.PLACEHOLDER.search(text) is None, f"{kind}: unrendered placeholder in {file}"


def test_a_bad_name_or_an_occupied_folder_is_refused_with_a_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["new-plugin", "Word Filter!", "--kind", "guardrail", "-o", str(tmp_path)]) == 2
    assert "for example 'word-filter'" in capsys.readouterr().err
    (tmp_path / "gateway-busy").mkdir()
    (tmp_path / "gateway-busy" / "keep.txt").write_text("mine")
    assert cli.main(["new-plugin", "busy", "--kind", "sink", "-o", str(tmp_path)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "gateway-busy" / "keep.txt").read_text() == "mine"
    assert cli.main(["new-plugin", "other", "--kind", "guardrail", "--variant", "nope", "-o", str(tmp_path)]) == 2
    assert "choose one of: framework, hook" in capsys.readouterr().err


def test_names_are_normalised_once_for_every_spelling() -> None:
    names = scaffold.PluginNames.from_user("gateway-Word-Filter")
    assert (names.name, names.distribution, names.package, names.class_name) == (
        "word_filter",
        "gateway-word-filter",
        "gateway_word_filter",
        "WordFilter",
    )


# --------------------------------------------------------------------------- installed and working


def test_gateway_plugins_lists_each_generated_plugin_from_its_distribution(site: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "plugins", "--json"],
        env=env_with(site),
        capture_output=True,
        text=True,
        timeout=60,
    )
    records = {r["name"]: r for r in orjson.loads(result.stdout)}
    for kind, name in NAMES.items():
        assert records[name]["status"] == "loaded", records[name]
        assert records[name]["distribution"] == f"gateway-{KINDS[kind]}"
    assert "gateway_register_guardrails" in records[NAMES["guardrail"]]["hooks"]
    assert "gateway_pre_call" in records[NAMES["guardrail_hook"]]["hooks"]
    assert "gateway_route" in records[NAMES["router"]]["hooks"]
    assert "gateway_log" in records[NAMES["sink"]]["hooks"]
    assert "gateway_register_providers" in records[NAMES["provider"]]["hooks"]


@pytest.fixture
def receiver() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    server.default = Reply(json={"accepted": True})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def served(site: Path, fake_upstream: FakeUpstream, receiver: FakeUpstream, tmp_path: Path) -> Iterator[str]:
    """A ``gateway`` process that finds the four plugins (and the OpenAI provider) by entry point."""
    base = fake_upstream.base_url
    config = {
        "model_list": [
            {"model_name": "auto", "litellm_params": {"model": "openai/small", "api_base": base, "api_key": "sk-up"}},
            {"model_name": "coder", "litellm_params": {"model": "openai/code", "api_base": base, "api_key": "sk-up"}},
            {"model_name": "mine", "litellm_params": {"model": f"{NAMES['provider']}/served", "api_base": base}},
        ],
        "general_settings": {"master_key": MASTER_KEY},
        "guardrails": [
            {
                "guardrail_name": "no-secrets",
                "litellm_params": {
                    "guardrail": NAMES["guardrail"],
                    "mode": "pre_call",
                    "default_on": True,
                    "blocked_words": ["secret"],
                },
            }
        ],
        "plugins": {
            NAMES["guardrail_hook"]: {"blocked_words": ["forbidden"]},
            NAMES["router"]: {"applies_to": ["auto"], "rules": [{"when_contains": ["python"], "model_group": "coder"}]},
            NAMES["sink"]: {"url": receiver.url + "/ingest", "batch_size": 1},
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(orjson.dumps(config).decode())  # JSON is YAML
    port = free_port()
    allow = ",".join(["openai", *NAMES.values()])
    log = (tmp_path / "gateway.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(path), "--port", str(port)],
        env=env_with(site, GATEWAY_LOAD_PLUGINS=allow, GATEWAY_STRICT_PLUGINS="1"),
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "gateway.log").read_text()
            try:
                if httpx.get(url + "/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start in 30 s"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_each_generated_plugin_works_in_a_gateway_that_discovered_it(
    served: str, fake_upstream: FakeUpstream, receiver: FakeUpstream
) -> None:
    client = openai.OpenAI(base_url=served + "/v1", api_key=MASTER_KEY, max_retries=0)
    hello = [{"role": "user", "content": "hello"}]

    # provider: "mine" is served by the generated provider, in OpenAI format, with the upstream model name
    assert (
        client.chat.completions.create(model="mine", messages=hello).choices[0].message.content == fake_upstream.content
    )
    assert fake_upstream.requests[-1].json["model"] == "served"

    # guardrails: refused with an OpenAI error, nothing sent upstream
    sent_before = len(fake_upstream.requests)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "the forbidden word"}])
    assert "'forbidden'" in refused.value.message  # the plain pre_call variant
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "a secret"}])
    assert refused.value.body["provider_specific_fields"]["guardrail_name"] == "no-secrets"  # the framework type
    assert len(fake_upstream.requests) == sent_before

    # router: a prompt about python, asked of "auto", is served by the "coder" group
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "python?"}]
    )
    assert raw.headers["x-litellm-model-group"] == "coder"
    assert fake_upstream.requests[-1].json["model"] == "code"

    # sink: every request above arrives at the receiver as a JSON line
    deadline = time.monotonic() + 10
    while len(receiver.requests) < 4:
        assert time.monotonic() < deadline, f"the sink delivered {len(receiver.requests)} of 4 events"
        time.sleep(0.02)
    statuses = sorted(orjson.loads(line)["status"] for r in receiver.requests for line in r.body.splitlines())
    assert statuses == [200, 200, 400, 400]


def test_the_generated_plugins_own_tests_pass(generated: dict[str, Path], site: Path) -> None:
    # run the four suites side by side: each is a separate pytest process in its own package folder
    runs = {
        kind: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
            cwd=path,
            env=env_with(site),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for kind, path in generated.items()
    }
    outputs: dict[str, Any] = {}
    for kind, process in runs.items():
        outputs[kind] = (process.communicate(timeout=120)[0], process.returncode)
    for kind, (output, code) in outputs.items():
        assert code == 0, f"{kind} plugin's tests failed:\n{output}"
        assert " passed" in output and "skipped" not in output, output


def test_new_plugin_works_from_the_installed_wheel(tmp_path: Path) -> None:
    """The template ships inside the wheel: generate from a wheel install, not the source tree."""
    core = Path(__file__).resolve().parents[1]
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--quiet"]
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", *BUILD_FLAGS, "-w", str(wheels), str(core)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("gateway-*.whl")
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stderr
    # the PEP 561 marker ships too: without it mypy ignores core's annotations (test_plugin_typing.py)
    assert (target / "gateway" / "py.typed").is_file()
    script = (
        "import gateway, sys; from gateway import _cli as cli; "
        f"assert gateway.__file__.startswith({str(target)!r}), gateway.__file__; "
        f"sys.exit(cli.main(['new-plugin', 'from-wheel', '--kind', 'router', '-o', {str(tmp_path)!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env_with(target), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gateway-from-wheel" / "src" / "gateway_from_wheel" / "__init__.py").is_file()
