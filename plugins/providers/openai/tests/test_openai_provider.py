"""gateway-openai against a local OpenAI-compatible server: URLs, headers and options per deployment."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from gateway import ConfigError, Gateway
from gateway.testing import FakeUpstream, Reply

MASTER = "sk-master"
MESSAGES = [{"role": "user", "content": "hi"}]


def config(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_list": list(entries),
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 0},
    }


def test_azure_deployment_url_key_header_and_api_version(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(
        config(
            {
                "model_name": "gpt-4o",
                "litellm_params": {
                    "model": "azure/my-deploy",
                    "api_base": fake_upstream.url,
                    "api_version": "2024-06-01",
                    "api_key": "azure-key",
                },
            }
        )
    )
    proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    sent = fake_upstream.requests[-1]
    assert sent.path == "/openai/deployments/my-deploy/chat/completions"
    assert sent.query == {"api-version": "2024-06-01"}
    assert sent.headers["api-key"] == "azure-key" and "authorization" not in sent.headers
    proxy.openai().embeddings.create(model="gpt-4o", input="x")
    assert fake_upstream.requests[-1].path == "/openai/deployments/my-deploy/embeddings"


def test_compatible_api_extra_headers_organization_and_extra_body(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    proxy = gateway_factory(
        config(
            {
                "model_name": "llama",
                "litellm_params": {
                    "model": "hosted_vllm/meta-llama-3",
                    "api_base": fake_upstream.base_url,
                    "api_key": "vllm-key",
                    "organization": "org-1",
                    "extra_headers": {"X-Tenant": "blue"},
                    "extra_body": {"top_k": 5},
                },
            }
        )
    )
    proxy.openai().chat.completions.create(model="llama", messages=MESSAGES)
    sent = fake_upstream.requests[-1]
    assert sent.headers["authorization"] == "Bearer vllm-key"
    assert sent.headers["openai-organization"] == "org-1" and sent.headers["x-tenant"] == "blue"
    assert sent.json["model"] == "meta-llama-3" and sent.json["top_k"] == 5
    assert sent.headers["user-agent"].startswith("gateway/")  # not aiohttp's, not the client's


def test_a_deployment_may_set_its_own_user_agent(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(
        config(
            {
                "model_name": "llama",
                "litellm_params": {
                    "model": "openai/llama",
                    "api_base": fake_upstream.base_url,
                    "extra_headers": {"User-Agent": "acme-gateway/2"},
                },
            }
        )
    )
    proxy.openai().chat.completions.create(model="llama", messages=MESSAGES)
    assert fake_upstream.requests[-1].headers["user-agent"] == "acme-gateway/2"


def test_a_cookie_set_by_the_upstream_is_not_sent_on_later_requests(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    # one upstream session serves every caller: a cookie from one answer must not reach another caller's
    # request (by host name: cookie jars ignore cookies from bare IP addresses)
    base = fake_upstream.base_url.replace("127.0.0.1", "localhost")
    proxy = gateway_factory(
        config({"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_base": base}})
    )
    fake_upstream.enqueue(
        Reply(
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            },
            headers={"set-cookie": "__cf_bm=tenant-a; Path=/"},
        )
    )
    proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(fake_upstream.requests) == 2
    assert "cookie" not in fake_upstream.requests[-1].headers


def test_per_deployment_timeout_moves_to_the_next_deployment(gateway_factory: Any) -> None:
    slow, fast = FakeUpstream("slow").start(), FakeUpstream("fast").start()
    try:
        slow.default = Reply(hang=True)
        proxy = gateway_factory(
            {
                "model_list": [
                    {
                        "model_name": "gpt-4o",
                        "litellm_params": {"model": "openai/gpt-4o", "api_base": slow.base_url, "timeout": 0.3},
                        "model_info": {"id": "slow"},
                    },
                    {
                        "model_name": "gpt-4o",
                        "litellm_params": {"model": "openai/gpt-4o", "api_base": fast.base_url, "weight": 0.000001},
                        "model_info": {"id": "fast"},
                    },
                ],
                "general_settings": {"master_key": MASTER},
                "router_settings": {"num_retries": 1},
            }
        )
        reply = proxy.openai().chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        assert reply.parse().choices[0].message.content == "fast"
    finally:
        slow.stop()
        fast.stop()


def test_upstream_rate_limit_headers_are_passed_on_prefixed(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(
        config(
            {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_base": fake_upstream.base_url}}
        )
    )
    fake_upstream.enqueue(
        Reply(
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            },
            headers={"x-ratelimit-remaining-requests": "41"},
        )
    )
    raw = proxy.openai().chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["llm_provider-x-ratelimit-remaining-requests"] == "41"
    assert raw.headers["x-litellm-model-group"] == "gpt-4o"


def test_azure_without_api_version_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="api_version"):
        Gateway(
            config(
                {
                    "model_name": "gpt-4o",
                    "litellm_params": {"model": "azure/d", "api_base": "https://x.openai.azure.com"},
                }
            )
        )


def test_compatible_without_api_base_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="need api_base"):
        Gateway(config({"model_name": "x", "litellm_params": {"model": "hosted_vllm/x"}}))


def test_openai_key_from_environment(
    fake_upstream: FakeUpstream, gateway_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    proxy = gateway_factory(
        config(
            {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_base": fake_upstream.base_url}}
        )
    )
    proxy.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert fake_upstream.requests[-1].headers["authorization"] == "Bearer sk-from-env"


def test_streamed_text_completion(fake_upstream: FakeUpstream, gateway_factory: Any) -> None:
    proxy = gateway_factory(
        config(
            {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_base": fake_upstream.base_url}}
        )
    )
    fake_upstream.enqueue(
        Reply(
            stream=[
                {
                    "id": "c",
                    "object": "text_completion",
                    "created": 1,
                    "model": "gpt-4o",
                    "choices": [{"index": 0, "text": part, "finish_reason": None}],
                }
                for part in ("Once ", "upon")
            ]
        )
    )
    text = "".join(
        c.choices[0].text for c in proxy.openai().completions.create(model="gpt-4o", prompt="x", stream=True)
    )
    assert text == "Once upon"
    with pytest.raises(openai.NotFoundError):
        proxy.openai().completions.create(model="missing", prompt="x")


def test_an_azure_wildcard_group_names_the_requested_deployment_in_the_url(
    fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    proxy = gateway_factory(
        config(
            {
                "model_name": "azure/*",
                "litellm_params": {
                    "model": "azure/*",
                    "api_base": fake_upstream.url,
                    "api_version": "2024-06-01",
                    "api_key": "azure-key",
                },
            }
        )
    )
    for name in ("gpt-4o-eu", "gpt-4o-mini-us"):
        proxy.openai().chat.completions.create(model=f"azure/{name}", messages=MESSAGES)
        sent = fake_upstream.requests[-1]
        assert sent.path == f"/openai/deployments/{name}/chat/completions"
        assert sent.query == {"api-version": "2024-06-01"}
    proxy.openai().embeddings.create(model="azure/text-embedding-3-small", input="x")
    assert fake_upstream.requests[-1].path == "/openai/deployments/text-embedding-3-small/embeddings"
