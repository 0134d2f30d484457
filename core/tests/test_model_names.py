"""Which provider serves a model name, and which wildcard group serves a requested name.

Providers declare the bare names they claim (``Provider.bare_models``); core asks the registry and
never knows a provider by name.  Wildcard groups follow LiteLLM's "Provider specific Wildcard
routing": an exact group wins, then the most specific pattern.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway import Deployment, JSONResponseBody, Provider, hookimpl
from gateway._errors import PluginError
from gateway._providers import ProviderRegistry
from gateway._types import Principal
from gateway._wildcards import WildcardGroups, substitute
from gateway.testing import in_process_client

MESSAGES = [{"role": "user", "content": "Hi"}]


class Claiming(Provider):
    wildcard_models = True

    def __init__(self, *names: str) -> None:
        self.bare_models = names
        self.called: list[str] = []

    async def chat(self, ctx: Any, deployment: Deployment, gateway: Any) -> JSONResponseBody:
        self.called.append(deployment.model)
        return JSONResponseBody(data={"id": "x", "object": "chat.completion", "model": deployment.model, "choices": []})


def registry(**claims: tuple[str, ...]) -> ProviderRegistry:
    providers = ProviderRegistry()
    for prefix, names in claims.items():
        providers.add(f"plugin-{prefix}", prefix, Claiming(*names))
    providers.index_bare_models()
    return providers


def test_the_most_specific_claim_wins() -> None:
    providers = registry(
        wide=("gpt-*",), narrow=("gpt-3.5-turbo-instruct*",), exact=("gpt-4o-special",), other=("claude-*",)
    )
    assert providers.infer("gpt-4o") == "wide"
    assert providers.infer("gpt-3.5-turbo-instruct-0914") == "narrow"
    assert providers.infer("gpt-4o-special") == "exact"
    assert providers.infer("claude-3-haiku") == "other"
    assert providers.infer("llama-3") is None


def test_two_plugins_claiming_one_name_is_a_start_up_error() -> None:
    with pytest.raises(PluginError, match="'gpt-\\*' is claimed by the provider prefixes 'a' \\(plugin-a\\) and 'b'"):
        registry(a=("gpt-*",), b=("gpt-*",))


def test_wildcard_specificity_and_substitution() -> None:
    groups = WildcardGroups(["*", "groq/*", "groq/llama-*", "exact", "fo::*:static::*"])
    assert groups.names() == ["fo::*:static::*", "groq/llama-*", "groq/*", "*"]
    match = groups.match("groq/llama-3.1")
    assert match is not None and (match.group, match.parts) == ("groq/llama-*", ("3.1",))
    assert substitute("groq/llama-*", match, "groq/llama-3.1") == "groq/llama-3.1"
    assert substitute("openai/*", groups.match("gpt-4o"), "gpt-4o") == "openai/gpt-4o"  # type: ignore[arg-type]
    fo = groups.match("fo::hi::static::hi")
    assert fo is not None and substitute("openai/fo::*:static::*", fo, "fo::hi::static::hi") == (
        "openai/fo::hi::static::hi"
    )
    assert WildcardGroups(["exact"]).match("exact") is None  # no pattern, no wildcard group


def test_a_key_listing_a_wildcard_may_use_the_names_it_matches() -> None:
    principal = Principal(id="k", kind="virtual_key", models=frozenset({"gpt-4o", "groq/*"}))
    assert principal.may_use("gpt-4o")
    assert principal.may_use("groq/llama-3.1-8b")
    assert not principal.may_use("anthropic/claude")
    assert not principal.may_use("gpt-4o-mini")


@pytest.mark.anyio
async def test_bare_names_and_a_star_group_route_through_the_claiming_provider() -> None:
    openai_like, claude_like = Claiming("gpt-*"), Claiming("claude-*")

    class Plugin:
        @hookimpl
        def gateway_register_providers(self, register: Any) -> None:
            register("oai", openai_like)
            register("ant", claude_like)

    config = {
        "model_list": [
            {"model_name": "bare", "litellm_params": {"model": "gpt-4o"}},
            {"model_name": "*", "litellm_params": {"model": "*"}},
            {"model_name": "nowhere", "litellm_params": {"model": "vertex_ai/gemini-pro"}},
        ]
    }
    async with in_process_client(config, plugins=[Plugin()]) as client:
        deployments = {d.model_group: d for d in client.gateway.deployments}
        assert (deployments["bare"].provider, deployments["bare"].model) == ("oai", "gpt-4o")
        assert deployments["nowhere"].unavailable is not None
        for model in ("bare", "claude-3-haiku", "gpt-4o-mini", "ant/claude-x"):
            reply = await client.post("/v1/chat/completions", json={"model": model, "messages": MESSAGES})
            assert reply.status_code == 200, reply.text
        assert openai_like.called == ["gpt-4o", "gpt-4o-mini"]
        assert claude_like.called == ["claude-3-haiku", "claude-x"]
        unserved = await client.post("/v1/chat/completions", json={"model": "nowhere", "messages": MESSAGES})
        assert unserved.status_code == 503 and "vertex_ai" in unserved.json()["error"]["message"]


def test_a_typo_in_a_star_deployment_is_still_refused() -> None:
    from gateway import ConfigError, Gateway

    class Plugin:
        @hookimpl
        def gateway_register_providers(self, register: Any) -> None:
            register("oai", Claiming("gpt-*"))

    config = {"model_list": [{"model_name": "*", "litellm_params": {"model": "*", "api_kye": "sk-x"}}]}
    with pytest.raises(ConfigError, match="api_kye: unknown key; did you mean 'api_key'"):
        Gateway(config, plugins=[Plugin()], load_entrypoints=False)
