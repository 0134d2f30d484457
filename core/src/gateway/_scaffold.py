"""``gateway new-plugin NAME --kind provider|guardrail|router|sink``: start a plugin package.

The template is a file tree shipped inside this package (``gateway/plugin_template/``), rendered
with plain placeholder substitution, so the command works after ``pip install gateway`` with no
template engine and no network (see ``plugin-template/README.md`` for why not copier/cookiecutter).

Template layout: ``common/`` is rendered for every kind, then ``<kind>/`` on top of it.  In file
contents ``{{ placeholder }}`` is replaced (an unknown placeholder is a bug in the template and
fails loudly); in paths ``__package__`` becomes the import package and ``__name__`` the plugin
name; a leading ``dot_`` becomes ``.``; the ``.tmpl`` suffix is dropped (it keeps pytest and
importers away from the template's ``.py`` files).  ``<kind>/README.part.md.tmpl`` is not copied:
it becomes the ``{{ kind_readme }}`` part of the common README.
"""

from __future__ import annotations

import argparse
import keyword
import re
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

KINDS = ("provider", "guardrail", "router", "sink")
#: kinds with more than one template: the first variant is the default; ``<kind>_<variant>`` is
#: the template folder of a non-default variant
VARIANTS = {
    # framework: a type for the guardrail framework (LiteLLM's guardrails: list, timeouts, on_error)
    # hook: a plain gateway_pre_call implementation configured under plugins:
    "guardrail": ("framework", "hook"),
}
KIND_HOOKS = {
    "provider": "gateway_register_providers, gateway_register_config",
    "guardrail_framework": "gateway_register_guardrails",
    "guardrail": "gateway_pre_call, gateway_register_config, gateway_configure",
    "router": "gateway_route, gateway_register_config, gateway_configure",
    "sink": "gateway_log, gateway_lifespan, gateway_register_config, gateway_configure",
}
#: third-party imports of each kind's example beyond ``gateway`` (declared, not borrowed from core's)
KIND_DEPENDENCIES = {
    "provider": ["pydantic>=2.7,<3", "orjson>=3.9"],
    "guardrail": ["pydantic>=2.7,<3"],
    "guardrail_framework": ["pydantic>=2.7,<3"],
    "router": ["pydantic>=2.7,<3"],
    "sink": ["pydantic>=2.7,<3", "orjson>=3.9"],
}
TEST_DEPENDENCIES = ["pytest>=8", "anyio>=4", "httpx>=0.27", "openai>=1.40"]
#: the example tests of these kinds need a provider to forward allowed requests to the fake upstream
NEEDS_OPENAI_PROVIDER = {"guardrail", "router", "sink"}
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
README_PART = "README.part.md.tmpl"
EXECUTABLE = {"ci.sh"}
NAME_RULE = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")


class ScaffoldError(Exception):
    """A bad name or target; the message says what to do instead."""


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of one plugin's name, derived from what the user typed."""

    #: entry-point name = pluggy name = ``plugins.<name>`` config key: ``word_filter``
    name: str
    #: distribution: ``gateway-word-filter``
    distribution: str
    #: import package: ``gateway_word_filter``
    package: str
    #: class-name stem: ``WordFilter``
    class_name: str

    @classmethod
    def from_user(cls, raw: str) -> PluginNames:
        cleaned = raw.strip().lower()
        for prefix in ("gateway-", "gateway_"):
            if cleaned.startswith(prefix):
                cleaned = cleaned[len(prefix) :]
        if not NAME_RULE.match(cleaned):
            raise ScaffoldError(
                f"{raw!r} is not a usable plugin name: use lower-case letters, digits and single '-' or '_' "
                "between words, starting with a letter (for example 'word-filter')"
            )
        name = cleaned.replace("-", "_")
        if keyword.iskeyword(name):
            raise ScaffoldError(f"{raw!r} is a Python keyword; pick another name")
        return cls(
            name=name,
            distribution="gateway-" + name.replace("_", "-"),
            package="gateway_" + name,
            class_name="".join(part.capitalize() for part in name.split("_")),
        )


def gateway_requirement() -> str:
    """``gateway>=X.Y,<X.Y+1`` for the installed core (plugins pin the minor series they were built for)."""
    from gateway import __version__

    parts = (__version__.split(".") + ["0", "0"])[:2]
    major, minor = (int(p) if p.isdigit() else 0 for p in parts)
    return f"gateway>={major}.{minor},<{major}.{minor + 1}"


def template_root() -> Traversable:
    return resources.files("gateway") / "plugin_template"


def render_text(text: str, values: dict[str, str], source: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ScaffoldError(f"template bug: unknown placeholder {{{{ {key} }}}} in {source}")
        return values[key]

    return PLACEHOLDER.sub(substitute, text)


def target_path(relative: str, names: PluginNames) -> str:
    parts = []
    for part in relative.split("/"):
        part = part.replace("__package__", names.package).replace("__name__", names.name)
        if part.startswith("dot_"):
            part = "." + part[4:]
        parts.append(part.removesuffix(".tmpl"))
    return "/".join(parts)


def iter_tree(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            found += iter_tree(entry, relative + "/")
        else:
            found.append((relative, entry))
    return found


def toml_list(items: list[str]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def template_folder(kind: str, variant: str | None) -> str:
    """The template folder for ``kind`` and ``variant`` (None: the kind's default variant).

    A kind's ``hook`` variant (a plain hook implementation) lives in the folder named after the
    kind; any other variant in ``<kind>_<variant>``.
    """
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    choices = VARIANTS.get(kind, ())
    chosen = variant or (choices[0] if choices else "hook")
    if chosen != "hook" and chosen not in choices or variant and not choices:
        offered = f"choose one of: {', '.join(choices)}" if choices else "it has only one template"
        raise ScaffoldError(f"{kind} plugins have no variant {variant!r}; {offered}")
    return kind if chosen == "hook" else f"{kind}_{chosen}"


def plan(names: PluginNames, kind: str, description: str, variant: str | None = None) -> dict[str, str]:
    """Render every file of ``kind`` (and ``variant``) in memory: ``{relative path: text}``."""
    folder = template_folder(kind, variant)
    root = template_root()
    values = {
        "name": names.name,
        "distribution": names.distribution,
        "package": names.package,
        "class_name": names.class_name,
        "kind": kind,
        "description": description,
        "gateway_requirement": gateway_requirement(),
        "hooks": KIND_HOOKS[folder],
        "dependencies": toml_list([gateway_requirement(), *KIND_DEPENDENCIES[folder]]),
        "test_dependencies": toml_list(
            TEST_DEPENDENCIES
            + (
                [f"gateway-openai{gateway_requirement()[len('gateway') :]}"]
                if folder.split("_")[0] in NEEDS_OPENAI_PROVIDER
                else []
            )
        ),
    }
    values["kind_readme"] = render_text(
        (root / folder / README_PART).read_text("utf-8"), values, f"{folder}/{README_PART}"
    )
    files: dict[str, str] = {}
    for layer in ("common", folder):
        for relative, entry in iter_tree(root / layer):
            if layer == folder and relative == README_PART:
                continue
            files[target_path(relative, names)] = render_text(entry.read_text("utf-8"), values, f"{layer}/{relative}")
    return files


def write(files: dict[str, str], destination: Path) -> None:
    if destination.exists() and any(destination.iterdir()):
        raise ScaffoldError(f"{destination} already exists and is not empty; pick another --output or remove it")
    for relative, text in files.items():
        path = destination / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        if path.name in EXECUTABLE:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def generate(
    name: str, kind: str, output: Path | str = ".", description: str | None = None, variant: str | None = None
) -> Path:
    """Create the plugin package ``<output>/<distribution>/`` and return its path."""
    names = PluginNames.from_user(name)
    # one line, no quotes: it lands in a TOML string and a Python docstring
    text = " ".join((description or f"A {kind} plugin for the gateway.").split()).replace('"', "'").replace("\\", "/")
    files = plan(names, kind, text, variant)
    destination = Path(output) / names.distribution
    write(files, destination)
    return destination


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gateway new-plugin",
        description="Create a plugin package (pyproject, entry point, working example, tests, CI script).",
    )
    parser.add_argument("name", help="the plugin's name, e.g. word-filter (becomes gateway-word-filter)")
    parser.add_argument("--kind", required=True, choices=KINDS, help="what the plugin does")
    parser.add_argument(
        "--variant",
        help="guardrail: 'framework' (default; a type for the config's guardrails: list, with timeouts and "
        "failure policies) or 'hook' (a plain gateway_pre_call configured under plugins:)",
    )
    parser.add_argument("--output", "-o", default=".", help="folder to create the package in (default: here)")
    parser.add_argument("--description", help="one line for pyproject.toml and the README")
    args = parser.parse_args(argv)
    try:
        destination = generate(args.name, args.kind, args.output, args.description, args.variant)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = PluginNames.from_user(args.name)
    print(f"created {destination}  ({args.kind} plugin {names.name!r}, import package {names.package})")
    print("next:")
    print(f"  cd {destination}")
    print("  pip install -e '.[test]'")
    print("  pytest")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
