"""Config files in LiteLLM's format load unchanged; every class of mistake says where and how to fix it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway import ConfigError, Gateway
from gateway._config import load_config

LITELLM_STYLE = """
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/my-gpt4o-deploy
      api_key: os.environ/AZURE_API_KEY
      api_base: https://example.openai.azure.com
      api_version: "2024-06-01"
      rpm: 600
      tpm: 100000
      weight: 2
      timeout: 30
      stream_timeout: 10
      max_retries: 0
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
    model_info:
      id: my-stable-id
      mode: chat
      base_model: azure/gpt-4o
      max_input_tokens: 128000
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
litellm_settings:
  drop_params: true
  num_retries: 2
  request_timeout: 600
  set_verbose: false
  fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
router_settings:
  routing_strategy: simple-shuffle
  allowed_fails: 3
  cooldown_time: 30
  model_group_alias: {"gpt-4": "gpt-4o"}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  proxy_batch_write_at: 60
environment_variables:
  EXTRA_SETTING: "1"
"""

ENV = {
    "AZURE_API_KEY": "az-secret-value",
    "OPENAI_API_KEY": "sk-openai-secret",
    "LITELLM_MASTER_KEY": "sk-master-secret",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_litellm_style_config_loads_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    gateway = Gateway(write(tmp_path, LITELLM_STYLE))
    assert sorted(gateway.router.groups) == ["gpt-4o", "gpt-4o-mini"]
    azure = gateway.router.by_id["my-stable-id"]
    assert (azure.provider, azure.model, azure.weight, azure.timeout) == ("azure", "my-gpt4o-deploy", 2.0, 30)
    assert azure.params["api_key"] == "az-secret-value"
    assert gateway.router.fallbacks == {"gpt-4o": ["gpt-4o-mini"]}
    assert gateway.resolve_model("gpt-4", None) == "gpt-4o"
    assert gateway.config.master_key == "sk-master-secret"
    assert "litellm_settings.set_verbose" in gateway.config.inert


def test_seed_model_snippet_and_master_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-from-env")
    gateway = Gateway(
        write(
            tmp_path,
            """
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_key: sk-x}
    """,
        )
    )
    assert gateway.config.master_key == "sk-from-env"
    assert gateway.master_key_bytes == b"sk-from-env"


def problems_of(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        Gateway(write(tmp_path, text))
    return str(err.value)


def test_unknown_key_names_its_line_and_suggests_the_fix(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path,
        """
        model_list:
          - model_name: gpt-4o
            litellm_params:
              model: openai/gpt-4o
              api_kye: sk-x
              api_bse: http://x
    """,
    )
    assert "config.yaml line 5: model_list[0].litellm_params.api_kye: unknown key; did you mean 'api_key'?" in message
    assert "config.yaml line 6: model_list[0].litellm_params.api_bse: unknown key; did you mean 'api_base'?" in message
    assert "2 problems" in message
    message = problems_of(
        tmp_path,
        """
        router_settings:
          cooldown_tme: 5
        general_settings:
          master_kye: x
    """,
    )
    assert "config.yaml line 2: router_settings.cooldown_tme: unknown key; did you mean 'cooldown_time'?" in message
    assert "config.yaml line 4: general_settings.master_kye: unknown key; did you mean 'master_key'?" in message


def test_wrong_types_and_values(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path,
        """
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, rpm: lots}
          - model_name: blank
            litellm_params: {model: " "}
        router_settings:
          num_retries: -1
    """,
    )
    assert "line 3: model_list[0].litellm_params.rpm" in message and "valid integer" in message
    assert "model_list[1].litellm_params.model: must name a model" in message
    assert "router_settings.num_retries" in message and "greater than or equal to 0" in message


def test_missing_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    message = problems_of(
        tmp_path,
        """
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, api_key: os.environ/NOT_SET_ANYWHERE}
    """,
    )
    assert (
        "line 3: model_list[0].litellm_params.api_key: reads the environment variable NOT_SET_ANYWHERE, which is not set"
        in message
    )


def test_provider_plugin_not_installed_is_an_unavailable_deployment_not_a_refusal(tmp_path: Path) -> None:
    # a LiteLLM file naming a provider no plugin here serves still starts (LiteLLM configs load unchanged)
    gateway = Gateway(
        write(
            tmp_path,
            """
        model_list:
          - model_name: claude
            litellm_params: {model: nosuchprovider/claude-x}
    """,
        )
    )
    (deployment,) = gateway.deployments
    assert deployment.provider == "nosuchprovider"
    assert deployment.unavailable is not None
    assert "no installed plugin serves the provider 'nosuchprovider'" in deployment.unavailable


def test_missing_required_and_bad_yaml_and_duplicates(tmp_path: Path) -> None:
    assert "model_list[0].litellm_params: is required" in problems_of(tmp_path, "model_list:\n  - model_name: x\n")
    assert "not valid YAML" in problems_of(tmp_path, "model_list: [\n")
    assert "is set twice" in problems_of(tmp_path, "general_settings:\n  master_key: a\n  master_key: b\n")
    assert "model_list[0].model_name" in problems_of(tmp_path, "model_list:\n  - litellm_params: {model: openai/x}\n")


def test_secrets_are_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_RPM", "sk-very-secret-1234")
    message = problems_of(
        tmp_path,
        """
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, rpm: os.environ/SECRET_RPM, api_key: sk-literal-secret-999}
    """,
    )
    assert "rpm" in message
    assert "sk-very-secret-1234" not in message and "sk-literal-secret-999" not in message


def test_unknown_plugin_section_and_alias_target(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path,
        """
        plugins:
          no_such_plugin: {x: 1}
    """,
    )
    assert "plugins.no_such_plugin: unknown key" in message
    with pytest.raises(ConfigError, match="model_group_alias points at 'missing'"):
        Gateway({"router_settings": {"model_group_alias": {"a": "missing"}}})


def test_load_config_from_a_dict_resolves_env_references() -> None:
    config = load_config({"general_settings": {"master_key": "os.environ/MK"}}, environ={"MK": "sk-dict"})
    assert config.master_key == "sk-dict"
