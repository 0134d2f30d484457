"""The plugin-author documentation keeps up with the hook contract.

Every ``gateway_*`` hookspec the plugin manager knows (discovered, so hooks added later are
covered without touching this file) must have ``docs/hooks/<hook>.md`` whose title is the exact
signature built from the spec's argument names, with the sections a plugin author needs, the
right result semantics, and a link from the index ``docs/plugins.md``.  A page for a hook that no
longer exists fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway._hookspecs import REQUEST_HOOKS
from gateway._plugins import PluginManager

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOOK_PAGES = DOCS / "hooks"
SECTIONS = ("## When it runs", "## Semantics", "## What it may change", "## Example", "## Pitfalls")
FIRST_RESULT = "First non-None result wins"


def hookspecs() -> dict[str, tuple[tuple[str, ...], bool]]:
    """``{hook name: (argument names, firstresult)}`` for every spec of a fresh plugin manager."""
    pm = PluginManager()
    found = {}
    for name in dir(pm.hook):
        caller = getattr(pm.hook, name)
        spec = getattr(caller, "spec", None)
        if name.startswith("gateway_") and spec is not None:
            found[name] = (tuple(spec.argnames), bool(spec.opts.get("firstresult")))
    return found


SPECS = hookspecs()


def test_the_hookspecs_are_discovered() -> None:
    assert set(REQUEST_HOOKS) <= set(SPECS)
    assert len(SPECS) >= len(REQUEST_HOOKS) + 5


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_has_a_page_titled_with_its_signature(hook: str) -> None:
    page = HOOK_PAGES / f"{hook}.md"
    assert page.is_file(), f"{hook} has no documentation: write docs/hooks/{hook}.md (see docs/plugins.md)"
    text = page.read_text("utf-8")
    argnames, firstresult = SPECS[hook]
    title = f"# `{hook}({', '.join(argnames)})`"
    assert text.splitlines()[0] == title, f"docs/hooks/{hook}.md must start with the signature line {title!r}"
    missing = [section for section in SECTIONS if section not in text]
    assert not missing, f"docs/hooks/{hook}.md lacks the sections {missing}"
    assert "```python" in text.split("## Example", 1)[1], f"docs/hooks/{hook}.md: the example needs a python block"
    # the result semantics a plugin author relies on must match the spec
    if firstresult:
        assert FIRST_RESULT in text, f"{hook} is firstresult: its page must say {FIRST_RESULT!r}"
    else:
        assert FIRST_RESULT not in text, f"{hook} calls every implementation: its page must not say {FIRST_RESULT!r}"


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_page_is_linked_from_the_index(hook: str) -> None:
    index = (DOCS / "plugins.md").read_text("utf-8")
    assert f"(hooks/{hook}.md)" in index, f"docs/plugins.md does not link hooks/{hook}.md"


def test_no_page_documents_a_hook_that_does_not_exist() -> None:
    pages = {p.stem for p in HOOK_PAGES.glob("*.md")}
    assert pages - set(SPECS) == set(), f"pages for hooks that do not exist: {sorted(pages - set(SPECS))}"


def test_hook_names_in_the_docs_are_real_hooks() -> None:
    """A renamed hook must not live on in prose: every ``gateway_<x>`` hook-like name mentioned exists."""
    mentioned: set[str] = set()
    for page in [DOCS / "plugins.md", DOCS / "writing-a-guardrail.md", *HOOK_PAGES.glob("*.md")]:
        mentioned |= set(
            re.findall(
                r"\bgateway_(?:register_\w+|auth|pre_call|route|call|post_call|log|alert|"
                r"configure|lifespan|add_hookspecs)\b",
                page.read_text("utf-8"),
            )
        )
    assert mentioned - set(SPECS) == set()


def test_the_index_links_to_pages_that_exist() -> None:
    """Hooks declared by plugins are documented next to their plugin: the index's links reach them."""
    index = (DOCS / "plugins.md").read_text("utf-8")
    targets = re.findall(r"\]\(([^)#\s]+\.md)\)", index)
    assert any("gateway_add_hookspecs" in target for target in targets)
    missing = [target for target in targets if not (DOCS / target).resolve().is_file()]
    assert missing == [], f"docs/plugins.md links to pages that do not exist: {missing}"
