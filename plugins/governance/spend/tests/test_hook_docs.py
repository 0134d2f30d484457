"""``gateway_get_spend`` is this plugin's hook: it exists once gateway-spend is registered, and its
page next to the README is titled with the signature the spec declares (as core's hook pages are)."""

from __future__ import annotations

from pathlib import Path

import gateway_spend

from gateway import Gateway

HERE = Path(__file__).resolve().parents[1]
PAGE = HERE / "docs" / "hooks" / "gateway_get_spend.md"


def test_the_hook_exists_only_with_the_plugin_and_its_page_matches_the_spec() -> None:
    core_only = Gateway({}, load_entrypoints=False)
    assert getattr(core_only.pm.hook, "gateway_get_spend", None) is None  # core does not declare it
    with_spend = Gateway({}, plugins=[("spend", gateway_spend)], load_entrypoints=False)
    spec = with_spend.pm.hook.gateway_get_spend.spec
    assert spec is not None and spec.opts["firstresult"]
    text = PAGE.read_text("utf-8")
    assert text.splitlines()[0] == f"# `gateway_get_spend({', '.join(spec.argnames)})`"
    assert "First non-None result wins" in text
    assert "(docs/hooks/gateway_get_spend.md)" in (HERE / "README.md").read_text("utf-8")


def test_enforced_limits_names_every_limit_the_governor_checks_and_its_page_matches_the_spec() -> None:
    import asyncio

    core_only = Gateway({}, load_entrypoints=False)
    assert asyncio.run(core_only.call_first("gateway_enforced_limits", gateway=core_only)) is None
    with_spend = Gateway({}, plugins=[("spend", gateway_spend)], load_entrypoints=False)
    spec = with_spend.pm.hook.gateway_enforced_limits.spec
    assert spec is not None and spec.opts["firstresult"]
    answer = asyncio.run(with_spend.call_first("gateway_enforced_limits", gateway=with_spend))
    assert set(answer) == {
        "max_budget",
        "soft_budget",
        "budget_duration",
        "rpm_limit",
        "tpm_limit",
        "max_parallel_requests",
    }
    page = HERE / "docs" / "hooks" / "gateway_enforced_limits.md"
    text = page.read_text("utf-8")
    assert text.splitlines()[0] == f"# `gateway_enforced_limits({', '.join(spec.argnames)})`"
    assert "First non-None result wins" in text
    assert "(docs/hooks/gateway_enforced_limits.md)" in (HERE / "README.md").read_text("utf-8")


def test_tag_scopes_exists_only_with_the_plugin_and_its_page_matches_the_spec() -> None:
    core_only = Gateway({}, load_entrypoints=False)
    assert getattr(core_only.pm.hook, "gateway_tag_scopes", None) is None
    with_spend = Gateway({}, plugins=[("spend", gateway_spend)], load_entrypoints=False)
    spec = with_spend.pm.hook.gateway_tag_scopes.spec
    assert spec is not None and spec.opts["firstresult"]
    text = (HERE / "docs" / "hooks" / "gateway_tag_scopes.md").read_text("utf-8")
    assert text.splitlines()[0] == f"# `gateway_tag_scopes({', '.join(spec.argnames)})`"
    assert "First non-None result wins" in text
    assert "(docs/hooks/gateway_tag_scopes.md)" in (HERE / "README.md").read_text("utf-8")
