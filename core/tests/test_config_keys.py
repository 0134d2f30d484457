"""No config key is silently ignored: every key of the schema is implemented (by core, or by a plugin
that declares it) or reported as having no effect, at start-up and by ``gateway check-config``, with
the issue or plugin that brings it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import gateway
from gateway import Gateway, PluginError, hookimpl
from gateway._catalog import CATALOG, Distribution
from gateway._config.keys import CORE, REPORTED, inert_paths, plugin_keys, schema_paths
from gateway._hooks import call_startup_hook

INSTALLED = {ep.name: ep for ep in entry_points(group="gateway")}


def test_every_key_of_the_schema_is_implemented_or_reported() -> None:
    """Walks every field of every section model (recursively: model_list entries, their
    litellm_params and model_info, guardrails entries ...) and the keys the loader accepts as inert."""
    plugins = plugin_keys()
    paths = schema_paths()
    assert "general_settings.allowed_ips" in paths and "model_list[].litellm_params.model" in paths
    unclassified = [p for p in paths if p not in CORE and p not in plugins and p not in REPORTED]
    assert unclassified == [], (
        "classify these keys in core/src/gateway/_config/keys.py (CORE, REPORTED with the issue that brings "
        f"it) or declare them from the plugin that reads them (gateway_config_keys + its catalogue row): {unclassified}"
    )
    twice = sorted(p for p in REPORTED if p not in inert_paths() and (p in CORE or p in plugins))
    assert twice == [], f"implemented now, so take them out of REPORTED: {twice}"
    dropped = sorted(p for p in inert_paths() if p not in REPORTED)
    assert dropped == [], f"keys the loader drops (INERT_KEYS) need a REPORTED row saying why: {dropped}"


def test_reported_keys_say_what_brings_them_and_no_row_is_stale() -> None:
    known = set(schema_paths())
    for path, (status, note) in REPORTED.items():
        assert path in known, f"REPORTED lists {path}, which the schema no longer has"
        if status == "reported":
            assert re.search(r"issue \d+|gateway-[a-z-]+", note), f"{path}: name the issue or plugin that brings it"
        else:
            assert status == "not planned" and len(note) > 10, f"{path}: say why it is not planned"
    for distribution in CATALOG:
        stale = [k for k in distribution.config_keys if k not in known]
        assert stale == [], f"{distribution.name}'s catalogue row names keys the schema does not have: {stale}"


def test_the_published_table_covers_the_schema() -> None:
    table = gateway.config_keys()
    assert set(table) == set(schema_paths())
    assert table["general_settings.master_key"].status == "core"
    assert table["general_settings.allowed_ips"].status == "core"
    assert table["litellm_settings.max_internal_user_budget"].status == "plugin"
    assert table["litellm_settings.max_internal_user_budget"].note == "gateway-virtual-keys"
    assert table["general_settings.store_model_in_db"].status == "plugin"
    assert table["general_settings.ui_access_mode"].status == "reported"


@pytest.mark.parametrize("distribution", CATALOG, ids=lambda d: d.name)
def test_a_plugin_declares_the_keys_its_catalogue_row_lists(distribution: Distribution) -> None:
    if distribution.entry_point not in INSTALLED:
        pytest.skip(f"{distribution.name} is not installed here")
    plugin = INSTALLED[distribution.entry_point].load()
    gw = Gateway({}, plugins=[(distribution.entry_point, plugin)], load_entrypoints=False)
    declared = {k for name, keys in call_startup_hook(gw.pm, "gateway_config_keys") for k in keys or ()}
    assert declared == set(distribution.config_keys)


def test_a_plugin_declaring_a_key_the_schema_does_not_have_stops_start_up() -> None:
    class Typo:
        @hookimpl
        def gateway_config_keys(self) -> list[str]:
            return ["general_settings.alowed_ips"]

    with pytest.raises(PluginError, match=r"'typo'.*general_settings\.alowed_ips"):
        Gateway({}, plugins=[("typo", Typo())], load_entrypoints=False)


def test_a_declared_key_counts_as_implemented() -> None:
    class Cache:
        @hookimpl
        def gateway_config_keys(self) -> list[str]:
            return ["litellm_settings.cache"]

    config = {"litellm_settings": {"cache": True, "timezone": "Europe/Paris"}}
    without = Gateway(config, load_entrypoints=False).keys_without_effect
    assert [k for k, _ in without] == ["litellm_settings.cache", "litellm_settings.timezone"]
    with_plugin = Gateway(config, plugins=[("cache", Cache())], load_entrypoints=False).keys_without_effect
    assert [k for k, _ in with_plugin] == ["litellm_settings.timezone"]


LITELLM_FILE = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-test
      tags: [free]
general_settings:
  master_key: sk-master
  max_request_size_mb: 10
  store_model_in_db: true
  custom_auth: custom_auth.user_api_key_auth
litellm_settings:
  cache: true
  max_internal_user_budget: 10
router_settings:
  enable_tag_filtering: true
finetune_settings:
  - custom_llm_provider: azure
files_settings:
  - custom_llm_provider: openai
pass_through_endpoints:
  - path: /v1/rerank
    target: https://api.cohere.com/v1/rerank
telemetry: false
credential_list:
  - credential_name: default_azure_credential
    credential_values: {api_key: x}
model_group_settings:
  forward_client_headers_to_llm_api: [gpt-4o]
vector_store_registry:
  - vector_store_name: docs
    litellm_params: {vector_store_id: T37J8R4WTM, custom_llm_provider: bedrock}
"""


def test_check_config_names_every_key_without_effect_and_why(tmp_path: Path) -> None:
    """The real CLI on a LiteLLM-shaped file with LiteLLM's top-level sections: it loads, and each
    key with no effect is named once in the start-up warning and once by check-config, with the
    issue or the plugin to install; keys that work are not named."""
    config = tmp_path / "config.yaml"
    config.write_text(LITELLM_FILE)
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai", "GATEWAY_LOG_FORMAT": "console"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    notes = dict(
        line.strip().removeprefix("note: ").split(" has no effect here: ", 1)
        for line in done.stdout.splitlines()
        if line.strip().startswith("note: ")
    )
    assert set(notes) == {
        "general_settings.store_model_in_db",
        "general_settings.custom_auth",
        "litellm_settings.cache",
        "litellm_settings.max_internal_user_budget",
        "finetune_settings",
        "files_settings",
        "pass_through_endpoints",
        "telemetry",
        "credential_list",
        "model_group_settings",
        "vector_store_registry",
    }
    assert "pip install gateway-model-store" in notes["general_settings.store_model_in_db"]
    assert "pip install gateway-cache" in notes["litellm_settings.cache"]
    assert "pip install gateway-virtual-keys" in notes["litellm_settings.max_internal_user_budget"]
    assert "issue 17" in notes["pass_through_endpoints"]
    assert notes["telemetry"].startswith("not planned")
    warning = [line for line in (done.stdout + done.stderr).splitlines() if "config_keys_without_effect" in line]
    assert len(warning) == 1 and "general_settings.store_model_in_db" in warning[0]
    assert "master_key" not in warning[0] and "max_request_size_mb" not in warning[0]
