"""LiteLLM ``model_list`` entries load unchanged and route as LiteLLM routes them.

Written from LiteLLM's public docs: "Providers" (a bare ``model: gpt-3.5-turbo`` is OpenAI's,
``claude-*`` Anthropic's, ``azure/<deployment>`` with ``api_base`` and ``api_version`` calls Azure's
``/openai/deployments/<deployment>/...`` with the ``api-key`` header, ``azure_ai/``, the
OpenAI-compatible prefixes with their default URLs), "Provider specific Wildcard routing"
(docs/wildcard_routing: ``model_name: "anthropic/*"``, ``"groq/*"``, ``"*"``,
``"fo::*:static::*"``) and the proxy's config docs (a provider the proxy cannot serve).  Upstreams are
local servers speaking each vendor's wire format and recording what they received.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from gateway.testing import FakeUpstream, Reply, start_gateway

MASTER = "sk-litellm-compat-models"
MESSAGES = [{"role": "user", "content": "Say hi"}]


def _start(config: dict[str, Any], plugins: str = "openai,anthropic") -> Any:
    previous = os.environ.get("GATEWAY_LOAD_PLUGINS")
    os.environ["GATEWAY_LOAD_PLUGINS"] = plugins
    try:
        return start_gateway({"general_settings": {"master_key": MASTER}, **config})
    finally:
        if previous is None:
            del os.environ["GATEWAY_LOAD_PLUGINS"]
        else:
            os.environ["GATEWAY_LOAD_PLUGINS"] = previous


def _post(url: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(url + path, json=body, headers={"authorization": f"Bearer {MASTER}", **headers}, timeout=30)


def chat(url: str, model: str, **body: Any) -> httpx.Response:
    return _post(url, "/v1/chat/completions", {"model": model, "messages": MESSAGES, **body})


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream().start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- bare names and prefixes


def test_bare_model_names_are_inferred_as_litellm_infers_them(upstream: FakeUpstream) -> None:
    base = upstream.url + "/v1"
    names = [
        "gpt-3.5-turbo",
        "gpt-4o",
        "o1-mini",
        "chatgpt-4o-latest",
        "dall-e-3",
        "text-embedding-3-small",
        "whisper-1",
        "tts-1",
    ]
    config = {
        "model_list": [
            *(
                {"model_name": name, "litellm_params": {"model": name, "api_base": base, "api_key": "sk-up"}}
                for name in names
            ),
            {"model_name": "instruct", "litellm_params": {"model": "gpt-3.5-turbo-instruct", "api_base": base}},
            {"model_name": "claude", "litellm_params": {"model": "claude-3-5-sonnet-20240620", "api_key": "sk-ant"}},
        ]
    }
    running = _start(config)
    try:
        providers = {d.model_group: (d.provider, d.model) for d in running.gateway.deployments}
        assert {name: providers[name] for name in names} == {name: ("openai", name) for name in names}
        assert providers["instruct"] == ("text-completion-openai", "gpt-3.5-turbo-instruct")
        assert providers["claude"] == ("anthropic", "claude-3-5-sonnet-20240620")

        reply = chat(running.url, "gpt-3.5-turbo")
        assert reply.status_code == 200, reply.text
        sent = upstream.requests[-1]
        assert (sent.path, sent.json["model"]) == ("/v1/chat/completions", "gpt-3.5-turbo")
        assert sent.headers["authorization"] == "Bearer sk-up"

        embedded = _post(running.url, "/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"})
        assert embedded.status_code == 200, embedded.text
        assert (upstream.requests[-1].path, upstream.requests[-1].json["model"]) == (
            "/v1/embeddings",
            "text-embedding-3-small",
        )
        # a chat request to a completion model goes through /v1/completions and answers in the chat shape
        chatted = chat(running.url, "instruct")
        assert chatted.status_code == 200, chatted.text
        assert (upstream.requests[-1].path, upstream.requests[-1].json["prompt"]) == ("/v1/completions", "Say hi")
        assert "messages" not in upstream.requests[-1].json
        answer = chatted.json()
        assert answer["object"] == "chat.completion"
        assert answer["choices"][0]["message"]["role"] == "assistant"
        assert answer["choices"][0]["message"]["content"]
        # OpenAI's completion stream: text pieces, then the usage chunk
        piece = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct"}
        upstream.enqueue(
            Reply(
                stream=[
                    {**piece, "choices": [{"index": 0, "text": "Hel", "finish_reason": None, "logprobs": None}]},
                    {**piece, "choices": [{"index": 0, "text": "lo.", "finish_reason": "stop", "logprobs": None}]},
                    {**piece, "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}},
                ]
            )
        )
        streamed = _post(
            running.url, "/v1/chat/completions", {"model": "instruct", "messages": MESSAGES, "stream": True}
        )
        assert streamed.status_code == 200, streamed.text
        events = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
        assert events and {e["object"] for e in events} == {"chat.completion.chunk"}
        assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"]) == "Hello."
        assert events[0]["choices"][0]["delta"]["role"] == "assistant"

        completed = _post(running.url, "/v1/completions", {"model": "instruct", "prompt": "Say hi"})
        assert completed.status_code == 200, completed.text
        assert (upstream.requests[-1].path, upstream.requests[-1].json["model"]) == (
            "/v1/completions",
            "gpt-3.5-turbo-instruct",
        )
    finally:
        running.stop()


def test_azure_deployment_calls_azures_url_with_its_api_key_header(upstream: FakeUpstream) -> None:
    config = {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {
                    "model": "azure/my-gpt-4o-deployment",
                    "api_base": upstream.url,
                    "api_version": "2024-06-01",
                    "api_key": "azure-key",
                },
            },
            {
                "model_name": "foundry",
                "litellm_params": {
                    "model": "azure_ai/mistral-large-2407",
                    "api_base": upstream.url + "/models",
                    "api_key": "foundry-key",
                },
            },
        ]
    }
    running = _start(config)
    try:
        reply = chat(running.url, "gpt-4o")
        assert reply.status_code == 200, reply.text
        sent = upstream.requests[-1]
        assert sent.path == "/openai/deployments/my-gpt-4o-deployment/chat/completions"
        assert sent.query == {"api-version": "2024-06-01"}
        assert sent.headers["api-key"] == "azure-key"
        assert "authorization" not in sent.headers

        reply = chat(running.url, "foundry")
        assert reply.status_code == 200, reply.text
        sent = upstream.requests[-1]
        assert (sent.path, sent.json["model"]) == ("/models/chat/completions", "mistral-large-2407")
        assert sent.headers["api-key"] == "foundry-key"

        # the declared provider stays visible: /health says azure, not openai
        health = httpx.get(running.url + "/health", headers={"authorization": f"Bearer {MASTER}"}).json()
        assert {e["model"]: e["provider"] for e in health["healthy_endpoints"]} == {
            "gpt-4o": "azure",
            "foundry": "azure_ai",
        }
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("prefix", "base"),
    [
        ("groq", "https://api.groq.com/openai/v1"),
        ("together_ai", "https://api.together.xyz/v1"),
        ("fireworks_ai", "https://api.fireworks.ai/inference/v1"),
        ("deepseek", "https://api.deepseek.com/v1"),
        ("mistral", "https://api.mistral.ai/v1"),
        ("xai", "https://api.x.ai/v1"),
        ("openrouter", "https://openrouter.ai/api/v1"),
        ("text-completion-openai", "https://api.openai.com/v1"),
    ],
)
def test_openai_compatible_prefixes_call_their_default_url(prefix: str, base: str) -> None:
    running = _start(
        {"model_list": [{"model_name": "m", "litellm_params": {"model": f"{prefix}/some-model", "api_key": "sk-x"}}]}
    )
    try:
        # mock_response answers without calling out; the answer names the URL the deployment calls
        reply = chat(running.url, "m", mock_response="hi")
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-litellm-model-api-base"] == base
    finally:
        running.stop()


@pytest.mark.parametrize("prefix", ["hosted_vllm", "openai_like", "lm_studio", "litellm_proxy"])
def test_self_hosted_prefixes_need_api_base(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HOSTED_VLLM_API_BASE", "OPENAI_LIKE_API_BASE", "LM_STUDIO_API_BASE", "LITELLM_PROXY_API_BASE"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(Exception, match="need api_base"):
        _start({"model_list": [{"model_name": "m", "litellm_params": {"model": f"{prefix}/llama"}}]})


# --------------------------------------------------------------------------- providers no plugin serves


def _unserved_config(upstream: FakeUpstream) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "sagemaker-llama",
                "litellm_params": {"model": "sagemaker/jumpstart-dft-meta-textgeneration-llama-2-7b"},
            },
            {"model_name": "gemini-pro", "litellm_params": {"model": "vertex_ai/gemini-1.5-pro"}},
            # a group with one deployment that can be called and one that cannot
            {"model_name": "mixed", "litellm_params": {"model": "vertex_ai/gemini-1.5-pro"}},
            {
                "model_name": "mixed",
                "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": upstream.url + "/v1", "api_key": "k"},
            },
        ]
    }


def test_a_provider_no_plugin_serves_is_unavailable_not_a_failed_start(upstream: FakeUpstream) -> None:
    running = _start(_unserved_config(upstream))
    try:
        health = httpx.get(running.url + "/health", headers={"authorization": f"Bearer {MASTER}"}).json()
        reasons = {e["model"]: e["error"] for e in health["unhealthy_endpoints"]}
        assert set(reasons) == {"sagemaker-llama", "gemini-pro", "mixed"}
        assert "no installed plugin serves the provider 'sagemaker'" in reasons["sagemaker-llama"]
        assert "no installed plugin serves the provider 'vertex_ai'" in reasons["gemini-pro"]
        assert [e["model"] for e in health["healthy_endpoints"]] == ["mixed"]

        # a call: an error in the client's format naming the provider, not a 500
        reply = chat(running.url, "sagemaker-llama")
        assert reply.status_code == 503, reply.text
        error = reply.json()["error"]
        assert "sagemaker" in error["message"] and "install" in error["message"]
        assert error["code"] == "deployment_unavailable"

        messages = _post(running.url, "/v1/messages", {"model": "gemini-pro", "max_tokens": 10, "messages": MESSAGES})
        assert messages.status_code == 503, messages.text
        body = messages.json()
        assert body["type"] == "error" and "vertex_ai" in body["error"]["message"]

        # the group's other deployment serves every call (after the one /health's check made)
        probed = len(upstream.requests)
        for _ in range(4):
            assert chat(running.url, "mixed").status_code == 200
        assert len(upstream.requests) == probed + 4
    finally:
        running.stop()


def test_check_config_strict_fails_on_an_unavailable_deployment(upstream: FakeUpstream, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(_unserved_config(upstream)))
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai,anthropic"}
    command = [sys.executable, "-m", "gateway", "check-config", str(path)]
    relaxed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "'sagemaker-llama'" in relaxed.stdout and "unavailable" in relaxed.stdout
    strict = subprocess.run([*command, "--strict"], capture_output=True, text=True, env=env, timeout=60)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "error: model group 'gemini-pro'" in strict.stdout


# --------------------------------------------------------------------------- wildcard model groups


def test_provider_wildcards_route_the_requested_name(upstream: FakeUpstream) -> None:
    from gateway_anthropic.testing import FakeAnthropic

    groq = FakeUpstream("from groq").start()
    with FakeAnthropic() as anthropic:
        config = {
            "model_list": [
                {
                    "model_name": "anthropic/*",
                    "litellm_params": {"model": "anthropic/*", "api_key": anthropic.api_key, "api_base": anthropic.url},
                },
                {"model_name": "groq/*", "litellm_params": {"model": "groq/*", "api_key": "g", "api_base": groq.url}},
                {
                    "model_name": "fo::*:static::*",
                    "litellm_params": {"model": "openai/fo::*:static::*", "api_base": upstream.url, "api_key": "o"},
                },
                # an exact group wins over every wildcard
                {
                    "model_name": "groq/llama-exact",
                    "litellm_params": {"model": "openai/exact-model", "api_base": upstream.url, "api_key": "o"},
                },
                {"model_name": "*", "litellm_params": {"model": "openai/*", "api_base": upstream.url, "api_key": "o"}},
            ]
        }
        running = _start(config)
        try:
            reply = chat(running.url, "anthropic/claude-3-5-haiku-20241022")
            assert reply.status_code == 200, reply.text
            assert anthropic.last_json["model"] == "claude-3-5-haiku-20241022"
            assert reply.headers["x-litellm-model-group"] == "anthropic/claude-3-5-haiku-20241022"

            assert chat(running.url, "groq/llama-3.1-8b-instant").status_code == 200
            assert groq.requests[-1].json["model"] == "llama-3.1-8b-instant"

            assert chat(running.url, "groq/llama-exact").status_code == 200
            assert upstream.requests[-1].json["model"] == "exact-model"

            # LiteLLM's example: fo::hi::static::hi goes to openai/fo::*:static::*
            assert chat(running.url, "fo::hi::static::hi").status_code == 200
            assert upstream.requests[-1].json["model"] == "fo::hi::static::hi"

            # anything else: "*", never sent upstream literally
            assert chat(running.url, "gpt-4o-mini").status_code == 200
            assert upstream.requests[-1].json["model"] == "gpt-4o-mini"
            assert "*" not in [r.json["model"] for r in [*upstream.requests, *groq.requests]]

            listed = httpx.get(running.url + "/v1/models", headers={"authorization": f"Bearer {MASTER}"}).json()
            ids = [m["id"] for m in listed["data"]]
            assert {"anthropic/*", "groq/*", "*", "groq/llama-exact"} <= set(ids)
        finally:
            running.stop()
            groq.stop()


def test_a_star_deployment_finds_the_provider_per_name(upstream: FakeUpstream) -> None:
    """``model: "*"``: the requested name is the model, its provider inferred (bare) or named (prefix)."""
    config = {
        "model_list": [
            {
                "model_name": "*",
                "litellm_params": {"model": "*", "api_base": upstream.url + "/v1", "api_key": "sk-any"},
            },
        ]
    }
    running = _start(config)
    try:
        assert chat(running.url, "gpt-4o").status_code == 200
        assert (upstream.requests[-1].path, upstream.requests[-1].json["model"]) == ("/v1/chat/completions", "gpt-4o")
        assert chat(running.url, "groq/llama-3.1-8b-instant").status_code == 200
        assert upstream.requests[-1].json["model"] == "llama-3.1-8b-instant"

        unknown = chat(running.url, "no-provider-claims-this")
        assert unknown.status_code == 400, unknown.text
        assert unknown.json()["error"]["param"] == "model"
        assert "no installed provider plugin serves it" in unknown.json()["error"]["message"]
    finally:
        running.stop()


# --------------------------------------------------------------------------- deployment fields


def test_deployment_testing_aids_and_custom_llm_provider(upstream: FakeUpstream) -> None:
    base = upstream.url + "/v1"
    config = {
        "model_list": [
            {
                "model_name": "canned",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": base, "mock_response": "Canned reply."},
            },
            {
                "model_name": "stuck",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": base, "mock_timeout": True, "timeout": 0.2},
            },
            {
                "model_name": "custom",
                "litellm_params": {"model": "my-finetune", "custom_llm_provider": "openai", "api_base": base},
            },
        ]
    }
    running = _start(config)
    try:
        reply = chat(running.url, "canned")
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"] == "Canned reply."
        streamed = _post(running.url, "/v1/chat/completions", {"model": "canned", "messages": MESSAGES, "stream": True})
        assert streamed.status_code == 200, streamed.text
        events = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
        assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"]) == "Canned reply."
        assert upstream.requests == []  # answered without calling the provider

        timed_out = chat(running.url, "stuck", num_retries=0)
        assert timed_out.status_code in (408, 504), timed_out.text
        assert "mock_timeout" in timed_out.json()["error"]["message"]
        assert upstream.requests == []

        assert chat(running.url, "custom").status_code == 200
        assert upstream.requests[-1].json["model"] == "my-finetune"
        assert [d.provider for d in running.gateway.deployments] == ["openai", "openai", "openai"]
    finally:
        running.stop()


def test_deployment_fields_without_effect_load_and_are_reported(tmp_path: Path) -> None:
    entry = {
        "model": "openai/gpt-4o",
        "api_key": "sk-x",
        "input_cost_per_second": 0.0001,
        "output_cost_per_second": 0.0002,
        "max_retries": 3,
        "order": 1,
        "litellm_credential_name": "default_azure_credential",
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [{"model_name": "gpt-4o", "litellm_params": entry}]}))
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai"}
    checked = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for key in ("input_cost_per_second", "output_cost_per_second", "max_retries", "order", "litellm_credential_name"):
        assert f"litellm_params.{key} has no effect here" in checked.stdout, checked.stdout


def test_an_alias_may_point_at_a_name_a_wildcard_group_serves(upstream: FakeUpstream) -> None:
    config = {
        "model_list": [
            {"model_name": "groq/*", "litellm_params": {"model": "groq/*", "api_base": upstream.url, "api_key": "g"}}
        ],
        "router_settings": {"model_group_alias": {"fast": "groq/llama-3.1-8b-instant"}},
    }
    running = _start(config)
    try:
        reply = chat(running.url, "fast")
        assert reply.status_code == 200, reply.text
        assert upstream.requests[-1].json["model"] == "llama-3.1-8b-instant"
    finally:
        running.stop()


def test_request_defaults_in_litellm_params_reach_every_provider(upstream: FakeUpstream) -> None:
    from gateway_anthropic.testing import FakeAnthropic

    backup = FakeUpstream("from the backup").start()
    defaults = {"temperature": 0.2, "max_tokens": 50, "stop": "END", "seed": 7}
    with FakeAnthropic() as anthropic:
        config = {
            "model_list": [
                {
                    "model_name": "tuned",
                    "litellm_params": {"model": "openai/gpt-4o", "api_base": upstream.url + "/v1", **defaults},
                },
                {
                    "model_name": "claude",
                    "litellm_params": {
                        "model": "anthropic/claude-3-5-haiku-20241022",
                        "api_key": anthropic.api_key,
                        "api_base": anthropic.url,
                        "temperature": 0.3,
                        "top_p": 0.9,
                    },
                },
                # a group whose first deployment has defaults and fails: the retry elsewhere sends none
                {
                    "model_name": "pair",
                    "litellm_params": {
                        "model": "openai/gpt-4o",
                        "api_base": upstream.url + "/v1",
                        "temperature": 0.1,
                        "weight": 1000,
                    },
                    "model_info": {"id": "first"},
                },
                {
                    "model_name": "pair",
                    "litellm_params": {"model": "openai/gpt-4o", "api_base": backup.url + "/v1", "weight": 0.001},
                    "model_info": {"id": "second"},
                },
            ],
            "router_settings": {"routing_strategy": "simple-shuffle"},
        }
        running = _start(config)
        try:
            assert chat(running.url, "tuned").status_code == 200
            sent = upstream.requests[-1].json
            assert (sent["temperature"], sent["max_tokens"], sent["stop"], sent["seed"]) == (0.2, 50, ["END"], 7)
            assert chat(running.url, "tuned", temperature=0.9, max_tokens=5).status_code == 200
            sent = upstream.requests[-1].json
            assert (sent["temperature"], sent["max_tokens"], sent["stop"]) == (0.9, 5, ["END"])

            assert chat(running.url, "claude").status_code == 200
            assert (anthropic.last_json["temperature"], anthropic.last_json["top_p"]) == (0.3, 0.9)

            # the first deployment (picked first: its weight) fails; the retry on the second sends no default
            upstream.enqueue(Reply(status=500, json={"error": {"message": "down"}}))
            failed_before = len(upstream.requests)
            reply = chat(running.url, "pair", num_retries=1)
            assert reply.status_code == 200, reply.text
            assert reply.headers["x-litellm-model-id"] == "second"
            assert upstream.requests[failed_before].json["temperature"] == 0.1
            assert "temperature" not in backup.requests[-1].json
        finally:
            running.stop()
            backup.stop()
