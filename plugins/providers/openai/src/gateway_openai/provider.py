"""OpenAI, Azure OpenAI and OpenAI-compatible upstreams.

The request is the client's OpenAI body with the deployment's model name; the answer is passed
on as the upstream's bytes.  Everything per deployment (URL, headers, timeouts) is computed once
at start-up in ``validate_deployment``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway import (
    Deployment,
    JSONResponseBody,
    Provider,
    RequestContext,
    StreamResponseBody,
    UpstreamError,
)
from gateway.chat import (
    OPENAI_CONTENT_FORMATS,
    ChatRequest,
    OpenAIContentFormat,
    drop_or_refuse,
    encode_openai_chat,
    encode_openai_prompt,
    loads_replacing,
    upstream_json_answer,
)
from gateway.upstream import SSEDecoder, SSEProtocolError, iter_body, passed_headers

from .text_completion import chat_chunks, chat_completion, prompt_body

#: OpenAI-compatible services: prefix -> (default api_base, environment variable with the key)
COMPATIBLE: dict[str, tuple[str | None, str | None]] = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "openai_compatible": (None, None),
    "openai_like": (None, None),
    "hosted_vllm": (None, "HOSTED_VLLM_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "together_ai": ("https://api.together.xyz/v1", "TOGETHERAI_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "fireworks_ai": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "perplexity": ("https://api.perplexity.ai", "PERPLEXITYAI_API_KEY"),
    "xai": ("https://api.x.ai/v1", "XAI_API_KEY"),
    "deepinfra": ("https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
    "lm_studio": (None, "LM_STUDIO_API_KEY"),
    # Ollama's OpenAI-compatible API (LiteLLM's ollama/ and ollama_chat/ call its native /api/...): an
    # api_base without /v1, as LiteLLM files write it, gets it (see OLLAMA)
    "ollama": ("http://127.0.0.1:11434/v1", None),
    "ollama_chat": ("http://127.0.0.1:11434/v1", None),
    # OpenAI's legacy /v1/completions models (LiteLLM's name for them)
    "text-completion-openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "nvidia_nim": ("https://integrate.api.nvidia.com/v1", "NVIDIA_NIM_API_KEY"),
    "cerebras": ("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    "sambanova": ("https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY"),
    "github": ("https://models.inference.ai.azure.com", "GITHUB_API_KEY"),
    "codestral": ("https://codestral.mistral.ai/v1", "CODESTRAL_API_KEY"),
    "moonshot": ("https://api.moonshot.ai/v1", "MOONSHOT_API_KEY"),
    "dashscope": ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY"),
    "llamafile": ("http://127.0.0.1:8080/v1", None),
    # another LiteLLM proxy (or this gateway) upstream: its URL is needed
    "litellm_proxy": (None, "LITELLM_PROXY_API_KEY"),
}

#: Ollama's prefixes: its OpenAI-compatible API is under /v1 of the server's root
OLLAMA = frozenset({"ollama", "ollama_chat"})

#: where a prefix's ``api_base`` may come from when the deployment sets none (LiteLLM's variables)
BASE_VARIABLES = {
    "azure": "AZURE_API_BASE",
    "azure_ai": "AZURE_AI_API_BASE",
    "litellm_proxy": "LITELLM_PROXY_API_BASE",
    "hosted_vllm": "HOSTED_VLLM_API_BASE",
    "openai_like": "OPENAI_LIKE_API_BASE",
    "lm_studio": "LM_STUDIO_API_BASE",
}

#: the bare model names LiteLLM sends to OpenAI (``model: gpt-4o`` with no prefix), by prefix
BARE_MODELS: dict[str, tuple[str, ...]] = {
    "openai": (
        "gpt-*",
        "chatgpt-*",
        "o1",
        "o1-*",
        "o3",
        "o3-*",
        "o4-*",
        "codex-*",
        "dall-e-*",
        "gpt-image-*",
        "text-embedding-*",
        "whisper-*",
        "tts-*",
        "omni-moderation-*",
        "text-moderation-*",
    ),
    # the legacy completion models (``/v1/completions`` only)
    "text-completion-openai": ("gpt-3.5-turbo-instruct", "gpt-3.5-turbo-instruct-*", "babbage-002", "davinci-002"),
}

#: every prefix this plugin serves
PREFIXES = (*COMPATIBLE, "azure", "azure_ai")

ENDPOINT_PATHS = {"chat": "/chat/completions", "completions": "/completions", "embeddings": "/embeddings"}

#: the client header LiteLLM forwards with ``general_settings.forward_openai_org_id: true``
ORGANIZATION_HEADER = "openai-organization"

#: upstream response headers worth passing on (prefixed, so they never mix with the gateway's own)
PASSED_HEADER_PREFIXES = ("x-ratelimit-", "openai-processing-ms", "x-request-id")


@dataclass(slots=True)
class Target:
    urls: dict[str, str]
    headers: dict[str, str]
    params: dict[str, str] | None
    #: the base URL called (``x-litellm-model-api-base``)
    base: str = ""
    #: ``content_format``: how message content is sent (``gateway.chat.OpenAIContentFormat``)
    content: OpenAIContentFormat = "auto"
    #: Azure: the deployment name in ``urls`` (a wildcard deployment calls other names: see ``url``)
    azure_model: str = ""

    def url(self, endpoint: str, deployment: Deployment) -> str:
        """The URL for ``endpoint``; Azure names the model in the path, so a deployment of a wildcard
        group (``azure/*``) serving another name gets its own path."""
        if self.azure_model and deployment.model != self.azure_model:
            root = self.urls[endpoint].rsplit("/openai/deployments/", 1)[0]
            return f"{root}/openai/deployments/{deployment.model}{ENDPOINT_PATHS[endpoint]}"
        return self.urls[endpoint]

    def with_organization(self, client_headers: Mapping[str, str]) -> dict[str, str]:
        """The upstream headers with the client's ``OpenAI-Organization`` (when it sent one)."""
        organization = client_headers.get(ORGANIZATION_HEADER)
        if not organization:
            return self.headers
        return {**self.headers, ORGANIZATION_HEADER: organization}


def pass_headers(upstream: Mapping[str, str]) -> dict[str, str]:
    return passed_headers(upstream, PASSED_HEADER_PREFIXES)


class OpenAIProvider(Provider):
    """One instance per prefix (``openai``, ``azure``, ``groq`` ...)."""

    params = frozenset({"api_type", "extra_body", "azure_ad_token", "base_model", "stream_options", "content_format"})
    distribution = "gateway-openai"
    #: the model goes in the body (Azure's URL is built per call for a wildcard deployment)
    wildcard_models = True

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.azure = prefix == "azure"
        #: OpenAI's legacy completion models: chat requests are sent as completions (LiteLLM's behaviour)
        self.text_completion = prefix == "text-completion-openai"
        self.bare_models = BARE_MODELS.get(prefix, ())
        self.targets: dict[str, Target] = {}
        #: ``general_settings.forward_openai_org_id`` (read on the first call: there is no gateway before)
        self._forward_org: bool | None = None

    # ------------------------------------------------------------------ start-up

    def validate_deployment(self, deployment: Deployment) -> None:
        params = deployment.params
        content = params.get("content_format", "auto")
        if content not in OPENAI_CONTENT_FORMATS:
            raise ValueError(
                f"content_format must be one of {', '.join(OPENAI_CONTENT_FORMATS)}, got {content!r}: 'string' sends "
                "text-only message content as a string (llama.cpp, older vLLM), 'parts' always as a list of parts"
            )
        headers = {"content-type": "application/json"}
        if self.azure:
            base = params.get("api_base") or os.environ.get(BASE_VARIABLES["azure"])
            version = params.get("api_version") or os.environ.get("AZURE_API_VERSION")
            if not base:
                raise ValueError(
                    "Azure deployments need api_base (https://<resource>.openai.azure.com) or AZURE_API_BASE"
                )
            if not version:
                raise ValueError("Azure deployments need api_version (for example '2024-06-01') or AZURE_API_VERSION")
            key = params.get("api_key") or os.environ.get("AZURE_API_KEY")
            if params.get("azure_ad_token"):
                headers["authorization"] = f"Bearer {params['azure_ad_token']}"
            elif key:
                headers["api-key"] = key
            root = f"{base.rstrip('/')}/openai/deployments/{deployment.model}"
            urls = {name: root + path for name, path in ENDPOINT_PATHS.items()}
            query = {"api-version": version}
        elif self.prefix == "azure_ai":
            # Azure AI Foundry / serverless endpoints: OpenAI's paths under the endpoint's URL, the key
            # as Azure's api-key header (serverless endpoints read it as a bearer token: both are sent)
            base = params.get("api_base") or os.environ.get(BASE_VARIABLES["azure_ai"])
            if not base:
                raise ValueError(
                    "azure_ai deployments need api_base (the endpoint's URL, for example "
                    "https://<name>.services.ai.azure.com/models) or AZURE_AI_API_BASE"
                )
            key = params.get("api_key") or os.environ.get("AZURE_AI_API_KEY")
            if key:
                headers["api-key"] = key
                headers["authorization"] = f"Bearer {key}"
            urls = {name: base.rstrip("/") + path for name, path in ENDPOINT_PATHS.items()}
            query = {"api-version": params["api_version"]} if params.get("api_version") else None
        else:
            default_base, key_var = COMPATIBLE[self.prefix]
            base_var = BASE_VARIABLES.get(self.prefix)
            base = params.get("api_base") or (os.environ.get(base_var) if base_var else None) or default_base
            if not base:
                raise ValueError(f"'{self.prefix}/' deployments need api_base (the server's URL ending in /v1)")
            if self.prefix in OLLAMA and not base.rstrip("/").endswith("/v1"):
                base = base.rstrip("/") + "/v1"  # LiteLLM's files name Ollama's root (http://localhost:11434)
            key = params.get("api_key") or (os.environ.get(key_var) if key_var else None)
            if key:
                headers["authorization"] = f"Bearer {key}"
            if params.get("organization"):
                headers["openai-organization"] = params["organization"]
            urls = {name: base.rstrip("/") + path for name, path in ENDPOINT_PATHS.items()}
            query = {"api-version": params["api_version"]} if params.get("api_version") else None
        for extra in (params.get("headers"), params.get("extra_headers")):
            if extra:
                headers.update({k.lower(): str(v) for k, v in extra.items()})
        self.targets[deployment.id] = Target(
            urls, headers, query, base, content=content, azure_model=deployment.model if self.azure else ""
        )

    def api_base(self, deployment: Deployment) -> str | None:
        target = self.targets.get(deployment.id)
        return target.base if target is not None else deployment.api_base

    def _headers(self, target: Target, ctx: RequestContext, gateway: Any) -> dict[str, str]:
        """The deployment's headers; with ``forward_openai_org_id``, the client's organization (not Azure's)."""
        forward = self._forward_org
        if forward is None:
            forward = self._forward_org = bool(gateway.config.general_settings.forward_openai_org_id) and not self.azure
        return target.with_organization(ctx.headers) if forward else target.headers

    # ------------------------------------------------------------------ calls

    def _body(self, ctx: RequestContext, deployment: Deployment) -> dict[str, Any]:
        request = ctx.request
        if isinstance(request, ChatRequest):
            content = self.targets[deployment.id].content
            if request.format == "openai":  # the client's own format: nothing is translated, dropped or refused
                body = encode_openai_chat(request, deployment.model, content=content)
                extra = deployment.params.get("extra_body")
                if isinstance(extra, dict):
                    body.update(extra)
                return body
            dropped: list[str] = []
            body = encode_openai_chat(
                request,
                deployment.model,
                dropped,
                f"the model {deployment.model_group!r} ({self.prefix}/{deployment.model})",
                content,
            )
            if dropped:  # a client of another format sent what OpenAI's format has no member for
                drop_or_refuse(dropped, provider=self.prefix, drop=True, response_headers=ctx.response_headers)
        else:
            assert request is not None
            body = encode_openai_prompt(request, deployment.model)
        extra = deployment.params.get("extra_body")
        if isinstance(extra, dict):
            body.update(extra)
        return body

    async def _json_call(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any, body: dict[str, Any], endpoint: str
    ) -> JSONResponseBody:
        target = self.targets[deployment.id]
        _, headers, raw = await gateway.upstream.post(
            self.prefix,
            target.url(endpoint, deployment) if target.azure_model else target.urls[endpoint],
            orjson.dumps(body),
            target.headers if self._forward_org is False else self._headers(target, ctx, gateway),
            timeout=deployment.timeout,
            params=target.params,
        )
        data, replaced = upstream_json_answer(self.prefix, raw)
        # text that was not valid Unicode was replaced: the bytes as they came must not go on
        return JSONResponseBody(raw=None if replaced else raw, data=data, headers=pass_headers(headers))

    def chat(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any
    ) -> Awaitable[JSONResponseBody | StreamResponseBody]:
        # a plain method returning the call's coroutine: one coroutine layer less on every request
        body = self._body(ctx, deployment)
        if self.text_completion:  # a legacy completion model: chat goes through /v1/completions
            return self._chat_as_completion(ctx, deployment, gateway, prompt_body(body, deployment.model))
        if not ctx.stream:
            return self._json_call(ctx, deployment, gateway, body, "chat")
        return self._stream_chat(ctx, deployment, gateway, body)

    async def _chat_as_completion(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any, body: dict[str, Any]
    ) -> JSONResponseBody | StreamResponseBody:
        if not ctx.stream:
            answer = await self._json_call(ctx, deployment, gateway, body, "completions")
            return JSONResponseBody(data=chat_completion(answer.data), status=answer.status, headers=answer.headers)
        resp = await self._open_stream(ctx, deployment, gateway, body, "completions")
        chunks = chat_chunks(self._chunks(resp, deployment.stream_timeout))
        return StreamResponseBody(chunks, headers=pass_headers(resp.headers))

    async def _stream_chat(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any, body: dict[str, Any]
    ) -> StreamResponseBody:
        resp = await self._open_stream(ctx, deployment, gateway, body, "chat")
        return StreamResponseBody(self._chunks(resp, deployment.stream_timeout), headers=pass_headers(resp.headers))

    async def _open_stream(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any, body: dict[str, Any], endpoint: str
    ) -> Any:
        # always ask for usage: accounting needs it; the HTTP layer hides it from clients that did not ask
        options = body.get("stream_options")
        body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        target = self.targets[deployment.id]
        return await gateway.upstream.open_stream(
            self.prefix,
            target.url(endpoint, deployment),
            orjson.dumps(body),
            target.headers if self._forward_org is False else self._headers(target, ctx, gateway),
            timeout=deployment.stream_timeout,
            params=target.params,
        )

    async def completions(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any
    ) -> JSONResponseBody | StreamResponseBody:
        body = self._body(ctx, deployment)
        if ctx.stream:
            target = self.targets[deployment.id]
            resp = await gateway.upstream.open_stream(
                self.prefix,
                target.url("completions", deployment),
                orjson.dumps(body),
                target.headers if self._forward_org is False else self._headers(target, ctx, gateway),
                timeout=deployment.stream_timeout,
                params=target.params,
            )
            return StreamResponseBody(self._chunks(resp, deployment.stream_timeout), headers=pass_headers(resp.headers))
        return await self._json_call(ctx, deployment, gateway, body, "completions")

    async def embeddings(self, ctx: RequestContext, deployment: Deployment, gateway: Any) -> JSONResponseBody:
        return await self._json_call(ctx, deployment, gateway, self._body(ctx, deployment), "embeddings")

    async def _chunks(self, resp: Any, timeout: float | None) -> AsyncIterator[dict[str, Any]]:
        decoder = SSEDecoder()
        try:
            async for raw in iter_body(resp, self.prefix, timeout):
                try:
                    events = list(decoder.feed(raw))
                except SSEProtocolError as exc:
                    raise UpstreamError(f"{self.prefix} sent a broken event stream: {exc}") from None
                for event in events:
                    if event.data == "[DONE]":
                        return
                    if not event.data:
                        continue
                    try:
                        chunk = loads_replacing(event.data)  # half a character from the model: replaced
                    except orjson.JSONDecodeError:
                        raise UpstreamError(
                            f"{self.prefix} sent a stream event that is not JSON: {event.data[:80]!r}"
                        ) from None
                    if not isinstance(chunk, dict):
                        raise UpstreamError(f"{self.prefix} sent a stream event that is not a JSON object")
                    if "error" in chunk and "choices" not in chunk:
                        err = chunk["error"]
                        message = err.get("message") if isinstance(err, dict) else str(err)
                        raise UpstreamError(f"{self.prefix} reported an error mid-stream: {message}")
                    yield chunk
        finally:
            resp.release()
