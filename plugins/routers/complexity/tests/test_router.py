"""The seed's complexity-router config, served by a running gateway and called with the openai SDK.

The tier models are mock deployments named like the seed's (``mock/gpt-4o-mini`` ...): the mock
provider answers with its model name, so each answer says which tier served it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gateway_complexity_router
import gateway_mock
import openai
import pytest
import yaml

from gateway import ConfigError, Gateway, Principal, hookimpl
from gateway.testing import LogCollector

SEED_ENTRY = """
- model_name: smart-router
  litellm_params:
    model: auto_router/complexity_router
    complexity_router_config:
      tiers:
        SIMPLE: gpt-4o-mini
        MEDIUM: gpt-4o
        COMPLEX: claude-sonnet
"""
TIER_MODELS = """
- model_name: gpt-4o-mini
  litellm_params: {model: mock/gpt-4o-mini}
- model_name: gpt-4o
  litellm_params: {model: mock/gpt-4o}
- model_name: claude-sonnet
  litellm_params: {model: mock/claude-sonnet}
"""
MASTER = "sk-complexity-test"
ARCHITECTURE_ASK = (
    "We are splitting our Django monolith into microservices. First, propose the service boundaries and the "
    "database-per-service layout; then design the Kafka event flow between the order, payment and inventory "
    "services, explain how you keep the data consistent without distributed transactions, and finally write the "
    "Python code for the outbox publisher with retries and idempotency keys."
)


def write_config(tmp_path: Path, entries: str = SEED_ENTRY + TIER_MODELS, **extra: Any) -> Path:
    config = {"model_list": yaml.safe_load(entries), "general_settings": {"master_key": MASTER}, **extra}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def serve(gateway_factory: Any, path: Path, *plugins: Any) -> Any:
    return gateway_factory(
        str(path), plugins=[gateway_mock, gateway_complexity_router, *plugins], load_entrypoints=False
    )


def ask(proxy: Any, content: Any, **kwargs: Any) -> tuple[str, dict[str, str]]:
    raw = proxy.openai().chat.completions.with_raw_response.create(
        model="smart-router", messages=kwargs.pop("messages", [{"role": "user", "content": content}]), **kwargs
    )
    return raw.parse().model, dict(raw.headers)


def complexity(headers: dict[str, str]) -> dict[str, str]:
    """``x-gateway-complexity: tier=...; score=...; signals=...`` as a dict."""
    return dict(part.split("=", 1) for part in headers["x-gateway-complexity"].split("; "))


def test_seed_config_routes_small_talk_to_the_small_model_and_architecture_to_the_strong_one(
    tmp_path: Path, gateway_factory: Any
) -> None:
    log = LogCollector()
    proxy = serve(gateway_factory, write_config(tmp_path), log)
    model, headers = ask(proxy, "hi")
    assert model == "gpt-4o-mini"
    assert complexity(headers)["tier"] == "SIMPLE"
    assert headers["x-litellm-model-group"] == "gpt-4o-mini"

    model, headers = ask(proxy, ARCHITECTURE_ASK)
    assert model == "claude-sonnet"
    decided = complexity(headers)
    assert decided["tier"] == "COMPLEX"
    assert float(decided["score"]) >= 0.35
    assert "technicalTerms=1" in decided["signals"].split(",")

    events = log.wait_for(2)
    decision = events[1]["annotations"]["complexity_router"]
    assert decision["router"] == "smart-router" and decision["model_group"] == "claude-sonnet"
    score, matches = decision["signals"]["technicalTerms"]
    assert score == 1.0 and "microservice" in matches
    assert events[1]["requested_model"] == "smart-router" and events[1]["model_group"] == "claude-sonnet"


def test_a_medium_ask_and_a_stream(tmp_path: Path, gateway_factory: Any) -> None:
    proxy = serve(gateway_factory, write_config(tmp_path))
    assert (
        ask(proxy, "Write a Python function that parses a JSON string and returns its top-level keys.")[0] == "gpt-4o"
    )
    stream = proxy.openai().chat.completions.create(
        model="smart-router", messages=[{"role": "user", "content": "hello there"}], stream=True
    )
    assert {chunk.model for chunk in stream} == {"gpt-4o-mini"}


def test_a_missing_tier_uses_the_nearest_configured_one(tmp_path: Path, gateway_factory: Any) -> None:
    entries = SEED_ENTRY.replace("        MEDIUM: gpt-4o\n", "") + TIER_MODELS
    proxy = serve(gateway_factory, write_config(tmp_path, entries))
    proof = "Prove step by step that the square root of 2 is irrational, and justify each deduction."
    model, headers = ask(proxy, proof)
    assert (model, complexity(headers)["tier"]) == ("claude-sonnet", "COMPLEX")  # REASONING -> COMPLEX
    model, headers = ask(proxy, "Write a Python function that parses a JSON string and returns its top-level keys.")
    assert (model, complexity(headers)["tier"]) == ("claude-sonnet", "COMPLEX")  # MEDIUM -> nearest, ties go up


@pytest.mark.parametrize(
    "messages",
    [
        [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
            }
        ],
        [{"role": "user", "content": "   "}],
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        ],
    ],
    ids=["image only", "blank", "tool result only"],
)
def test_requests_without_text_go_to_the_default_tier(
    messages: list[Any], tmp_path: Path, gateway_factory: Any
) -> None:
    proxy = serve(gateway_factory, write_config(tmp_path))
    model, headers = ask(proxy, None, messages=messages)
    assert (model, complexity(headers)["tier"]) == ("gpt-4o", "MEDIUM")
    assert headers["x-gateway-complexity"] == "tier=MEDIUM"  # no text: no score, no signals


def test_anthropic_clients_are_judged_from_the_same_typed_request(tmp_path: Path, gateway_factory: Any) -> None:
    """/v1/messages: the newest user text is the ask (a user turn of tool results only is not one),
    and a top-level ``system`` is the system prompt that ``use_system_prompt`` scores."""
    gateway_anthropic = pytest.importorskip("gateway_anthropic")
    import anthropic

    entries = SEED_ENTRY.replace("      tiers:\n", "      use_system_prompt: true\n      tiers:\n") + TIER_MODELS
    proxy = serve(gateway_factory, write_config(tmp_path, entries), ("anthropic", gateway_anthropic))
    client = anthropic.Anthropic(base_url=proxy.url, api_key=MASTER, max_retries=0)

    def tier(**kwargs: Any) -> str:
        raw = client.messages.with_raw_response.create(model="smart-router", max_tokens=50, **kwargs)
        return complexity(dict(raw.headers))["tier"]

    assert tier(messages=[{"role": "user", "content": ARCHITECTURE_ASK}]) == "COMPLEX"
    after_tool: Any = [
        {"role": "user", "content": [{"type": "text", "text": ARCHITECTURE_ASK}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "hi"}]},
    ]
    assert tier(messages=after_tool) == "COMPLEX"
    hi: Any = [{"role": "user", "content": "hi"}]
    assert tier(messages=hi) == "SIMPLE"
    system = "You are an expert in distributed systems architecture, Kubernetes, Kafka, sharding and replication."
    assert tier(messages=hi, system=system) != "SIMPLE"


def test_a_one_megabyte_prompt_is_classified_from_its_head_and_tail(tmp_path: Path, gateway_factory: Any) -> None:
    log = LogCollector()
    proxy = serve(gateway_factory, write_config(tmp_path), log)
    document = "The quarterly report lists revenue, costs and headcount for each region. " * 14_000
    prompt = (
        "Summarise this report:\n"
        + document
        + "\nNow explain the architecture trade-offs of our distributed cache step by step."
    )
    assert len(prompt) > 1_000_000
    model, headers = ask(proxy, prompt)
    assert complexity(headers)["tier"] in ("COMPLEX", "REASONING") and model == "claude-sonnet"
    decision = log.wait_for(1)[0]["annotations"]["complexity_router"]
    assert decision["truncated"] is True and decision["estimated_tokens"] > 250_000


class KeyWithModels:
    """An auth plugin giving every caller one fixed model list."""

    gateway_plugin_name = "fixed_models"

    def __init__(self, models: set[str]) -> None:
        self.models = frozenset(models)

    @hookimpl
    def gateway_auth(self, api_key: str | None) -> Principal | None:
        return Principal(id="limited", kind="virtual_key", models=self.models) if api_key == "sk-limited" else None


@pytest.mark.parametrize(
    ("models", "expected"),
    [({"smart-router"}, "claude-sonnet"), ({"smart-router", "gpt-4o-mini", "gpt-4o"}, "gpt-4o")],
    ids=["router access grants every tier", "listed tiers limit the choice"],
)
def test_the_callers_model_list(models: set[str], expected: str, tmp_path: Path, gateway_factory: Any) -> None:
    proxy = serve(gateway_factory, write_config(tmp_path), KeyWithModels(models))
    raw = proxy.openai(api_key="sk-limited").chat.completions.with_raw_response.create(
        model="smart-router", messages=[{"role": "user", "content": ARCHITECTURE_ASK}]
    )
    assert raw.parse().model == expected
    with pytest.raises(openai.AuthenticationError):  # a model outside the key's: 401, as LiteLLM answers it
        proxy.openai(api_key="sk-limited").chat.completions.create(
            model="claude-sonnet", messages=[{"role": "user", "content": "hi"}]
        )


def _build(path: Path) -> Gateway:
    return Gateway(str(path), plugins=[gateway_mock, gateway_complexity_router], load_entrypoints=False)


def test_a_tier_naming_a_missing_model_group_is_a_start_up_error(tmp_path: Path) -> None:
    entries = SEED_ENTRY + TIER_MODELS.replace(
        "- model_name: claude-sonnet\n  litellm_params: {model: mock/claude-sonnet}\n", ""
    )
    with pytest.raises(ConfigError) as err:
        _build(write_config(tmp_path, entries))
    assert "complexity_router_config.tiers.COMPLEX" in str(err.value) and "'claude-sonnet'" in str(err.value)


def test_config_mistakes_are_located(tmp_path: Path) -> None:
    entries = (
        SEED_ENTRY.replace("      tiers:", "      tier_boundries: {simple_medium: 0.2}\n      tiers:") + TIER_MODELS
    )
    with pytest.raises(ConfigError) as err:
        _build(write_config(tmp_path, entries))
    message = str(err.value)
    assert "config.yaml line" in message and "complexity_router_config.tier_boundries" in message

    entries = SEED_ENTRY.replace("SIMPLE: gpt-4o-mini", "TRIVIAL: gpt-4o-mini") + TIER_MODELS
    with pytest.raises(ConfigError, match=r"complexity_router_config\.tiers\.TRIVIAL"):
        _build(write_config(tmp_path, entries))
