"""Plugin authors type-check against core: packages made by ``gateway new-plugin`` pass
``mypy --strict`` with ``gateway`` resolved as an installed distribution.

mypy only reads an installed package's annotations when it ships a ``py.typed`` marker (PEP 561);
without it every import from ``gateway`` is an error in strict mode (``import-untyped``, and the
hook decorators make the plugin's functions untyped).  So this proves both that the marker ships
and that the public API the templates use (``gateway``, ``gateway.testing`` ...) is precisely typed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway import _cli as cli

#: every kind and variant the template offers: (kind, variant, plugin name)
KINDS = [
    ("provider", None, "typed-provider"),
    ("guardrail", None, "typed-guardrail"),
    ("guardrail", "hook", "typed-guard-hook"),
    ("router", None, "typed-router"),
    ("sink", None, "typed-sink"),
]

#: what a plugin author would run; gateway-openai (the generated tests' provider) ships no py.typed marker
MYPY_CONFIG = """\
[mypy]
strict = True
python_version = 3.11
warn_unused_ignores = True

[mypy-gateway_openai]
ignore_missing_imports = True
"""


def test_generated_plugins_pass_mypy_strict_against_the_installed_gateway(tmp_path: Path) -> None:
    packages = []
    for kind, variant, name in KINDS:
        extra = ["--variant", variant] if variant else []
        assert cli.main(["new-plugin", name, "--kind", kind, *extra, "--output", str(tmp_path)]) == 0
        packages.append(tmp_path / f"gateway-{name}")
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_CONFIG)
    # one run over the five packages (each package and test module has its own name): mypy analyses
    # gateway and its dependencies once
    checked = [str(p / folder) for p in packages for folder in ("src", "tests")]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), *checked],
        cwd=tmp_path,
        env={"MYPYPATH": os.pathsep.join(str(p / "src") for p in packages), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout, result.stdout
