"""The catalogue core prints "pip install" hints from says exactly what each of this project's
plugins registers: every provider prefix, guardrail type and sink name, no more, no fewer."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest

from gateway import Gateway
from gateway._catalog import CATALOG, Distribution
from gateway._hooks import call_startup_hook

INSTALLED = {ep.name: ep for ep in entry_points(group="gateway")}


def _registered(distribution: Distribution) -> dict[str, set[str]]:
    plugin = INSTALLED[distribution.entry_point].load()
    gateway = Gateway({}, plugins=[(distribution.entry_point, plugin)], load_entrypoints=False)
    found: dict[str, set[str]] = {"providers": set(gateway.providers.names()), "guardrails": set(), "sinks": set()}
    for kind, hook in (("guardrails", "gateway_register_guardrails"), ("sinks", "gateway_register_sinks")):
        registered: list[Any] = []
        call_startup_hook(
            gateway.pm, hook, register=lambda name, factory, _r=registered: _r.append(name), gateway=gateway
        )
        found[kind] = set(registered)
    return found


@pytest.mark.parametrize("distribution", CATALOG, ids=lambda d: d.name)
def test_the_catalogue_says_what_the_plugin_registers(distribution: Distribution) -> None:
    if distribution.entry_point not in INSTALLED:
        pytest.skip(f"{distribution.name} is not installed here")
    registered = _registered(distribution)
    for kind in ("providers", "guardrails", "sinks"):
        assert set(getattr(distribution, kind)) == registered[kind], kind
