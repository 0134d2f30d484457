"""The import contracts of `make lint` (.importlinter) hold, and they bite.

Each contract is broken on purpose, by real code lint-imports has to analyse: a plugin package that
imports a private core module and another plugin, and a copy of the kernel with one upward import.
A contract that passes on these would pass on anything.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
#: every plugin's import package: plugins/<kind>/<name>/src/<package>
PLUGIN_PACKAGES = sorted(p.name for p in ROOT.glob("plugins/*/*/src/*") if (p / "__init__.py").is_file())


def lint_imports(config: Path, *, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:  # ahead of the virtualenv's own packages (core is installed editable)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(pythonpath), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser


def listed(parser: configparser.ConfigParser, section: str, option: str) -> list[str]:
    return [line.strip() for line in parser[section][option].splitlines() if line.strip()]


def test_the_contracts_hold_for_the_code_as_it_is() -> None:
    result = lint_imports(CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_every_plugin_package_is_under_contract() -> None:
    """A new plugin cannot slip past the contracts by not being listed."""
    parser = read_config()
    assert len(PLUGIN_PACKAGES) >= 20
    assert listed(parser, "importlinter", "root_packages") == ["gateway", *PLUGIN_PACKAGES]
    assert listed(parser, "importlinter:contract:plugins-independent", "modules") == PLUGIN_PACKAGES


def test_a_plugin_importing_core_internals_or_another_plugin_breaks_the_contracts(tmp_path: Path) -> None:
    package = tmp_path / "site" / "gateway_bad_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from gateway._errors import ConfigError\n")
    (package / "codec.py").write_text("from gateway.chat._model import Text\n")  # private inside a public package
    (package / "peer.py").write_text("import gateway_openai\n")
    # the real config, with the bad plugin listed as every real plugin is
    text = CONFIG.read_text()
    assert text.count("    gateway_webhook\n") == 2  # root_packages and the independence contract's modules
    config = tmp_path / "importlinter.ini"
    config.write_text(text.replace("    gateway_webhook\n", "    gateway_webhook\n    gateway_bad_plugin\n"))

    result = lint_imports(config, pythonpath=tmp_path / "site")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 1 kept, 2 broken." in result.stdout
    assert "- gateway_bad_plugin -> gateway._errors (l.1)" in result.stdout
    assert "- gateway_bad_plugin.codec -> gateway.chat._model (l.1)" in result.stdout
    assert "gateway_bad_plugin is not allowed to import gateway_openai" in result.stdout
    assert "- gateway_bad_plugin.peer -> gateway_openai (l.1)" in result.stdout


def test_an_upward_import_in_the_kernel_breaks_the_layers(tmp_path: Path) -> None:
    """The data layer reaching up into the pipeline, even lazily inside a function, is refused."""
    kernel = tmp_path / "site" / "gateway"
    shutil.copytree(ROOT / "core" / "src" / "gateway", kernel, ignore=shutil.ignore_patterns("__pycache__"))
    types = kernel / "_types.py"
    types.write_text(types.read_text() + "\n\ndef bad() -> None:\n    from gateway._pipeline import run\n")
    line = types.read_text().splitlines().index("    from gateway._pipeline import run") + 1

    result = lint_imports(CONFIG, pythonpath=tmp_path / "site")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 2 kept, 1 broken." in result.stdout
    assert "gateway._types is not allowed to import gateway._pipeline" in result.stdout
    assert f"- gateway._types -> gateway._pipeline (l.{line})" in result.stdout


def private_imports(source: str) -> list[str]:
    """The imports of core's private modules and names in ``source``: ``gateway._x``,
    ``gateway.chat._y``, ``from gateway import _x`` (in functions too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "gateway" and any(part.startswith("_") and not part.startswith("__") for part in parts[1:]):
                found.append(module)
    return found


def test_plugin_tests_and_the_plugin_templates_import_only_the_public_api() -> None:
    """What import-linter cannot see (test folders are not packages; templates are not Python yet)."""
    files = [
        *ROOT.glob("plugins/*/*/src/**/*.py"),
        *ROOT.glob("plugins/*/*/tests/**/*.py"),
        *ROOT.glob("tests/**/*.py"),
        *(ROOT / "core" / "src" / "gateway" / "plugin_template").rglob("*.py.tmpl"),
    ]
    assert len(files) > 100
    offenders = {}
    for path in files:
        source = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"\1", path.read_text("utf-8"))  # a template's placeholders
        if found := private_imports(source):
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_scan_finds_private_imports_however_they_are_spelt() -> None:
    source = """
from gateway._errors import ConfigError
from gateway import Gateway, _pipeline
import gateway.chat._model
from gateway.http import json_response
from gateway import __version__, hookimpl
import gateway_otel._private


def later():
    from gateway.testing._servers import LocalServer
"""
    assert private_imports(source) == [
        "gateway._errors.ConfigError",
        "gateway._pipeline",
        "gateway.chat._model",
        "gateway.testing._servers.LocalServer",
    ]
