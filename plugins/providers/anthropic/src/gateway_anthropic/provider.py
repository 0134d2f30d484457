"""The ``anthropic/<model>`` provider: OpenAI chat requests served by the Anthropic Messages API.

Per deployment, the URL and headers are computed once at start-up (``validate_deployment``); a
request is translated (:mod:`.request`), sent through the gateway's shared upstream client, and
the answer translated back (:mod:`.response`, :mod:`.stream`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway import (
    Deployment,
    JSONResponseBody,
    NativeEvents,
    Provider,
    RequestContext,
    StreamResponseBody,
    UpstreamError,
)
from gateway.chat import ChatRequest, effective_drop_params, upstream_json_object
from gateway.upstream import iter_body, passed_headers

from .decode import FORMAT
from .encode import AnthropicRequest, encode_request
from .response import completion_from_message, map_upstream_error
from .stream import StreamTranslator, translate_stream
from .wire import API_KEY_ENV, API_VERSION, DEFAULT_API_BASE, DEFAULT_MAX_TOKENS, PROVIDER

#: upstream response headers worth passing on to the client (as ``llm_provider-<name>``)
PASSED_HEADER_PREFIXES = ("anthropic-ratelimit-", "request-id", "retry-after")


@dataclass(slots=True, frozen=True)
class Target:
    url: str
    headers: dict[str, str]
    max_tokens: int


def pass_headers(upstream: Mapping[str, str]) -> dict[str, str]:
    return passed_headers(upstream, PASSED_HEADER_PREFIXES)


class AnthropicProvider(Provider):
    """Serves ``anthropic/<model>`` deployments."""

    #: provider-specific ``litellm_params`` (``max_tokens`` and ``drop_params`` are common ones)
    params = frozenset({"anthropic_version", "anthropic_beta"})
    distribution = "gateway-anthropic"
    #: ``model: claude-...`` with no prefix is Anthropic's, as LiteLLM infers it
    bare_models = ("claude-*",)
    #: the model goes in the body: one deployment serves every name of ``anthropic/*``
    wildcard_models = True

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}

    def validate_deployment(self, deployment: Deployment) -> None:
        params = deployment.params
        key = params.get("api_key") or os.environ.get(API_KEY_ENV)
        if not key:
            raise ValueError(
                f"anthropic deployments need api_key (for example api_key: os.environ/{API_KEY_ENV}) or the "
                f"{API_KEY_ENV} environment variable"
            )
        base = (params.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        if base.endswith("/v1/messages"):
            base = base[: -len("/v1/messages")]
        elif base.endswith("/v1"):
            base = base[: -len("/v1")]
        headers = {
            "content-type": "application/json",
            "x-api-key": key,
            "anthropic-version": str(params.get("anthropic_version") or API_VERSION),
        }
        beta = params.get("anthropic_beta")
        if beta:
            headers["anthropic-beta"] = ",".join(beta) if isinstance(beta, list) else str(beta)
        for extra in (params.get("headers"), params.get("extra_headers")):
            if extra:
                headers.update({k.lower(): str(v) for k, v in extra.items()})
        max_tokens = params.get("max_tokens") or DEFAULT_MAX_TOKENS
        self.targets[deployment.id] = Target(f"{base}/v1/messages", headers, int(max_tokens))

    def translate(self, ctx: RequestContext, deployment: Deployment, gateway: Any) -> AnthropicRequest:
        """The Anthropic body for this attempt (public so tests and tools can see the encoding)."""
        request = ctx.request
        assert isinstance(request, ChatRequest), "anthropic deployments serve chat requests"
        return encode_request(
            request,
            deployment.model,
            default_max_tokens=self.targets[deployment.id].max_tokens,
            drop_params=effective_drop_params(deployment.params, gateway.drop_params),
            response_headers=ctx.response_headers,
        )

    async def chat(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any
    ) -> JSONResponseBody | StreamResponseBody:
        request = self.translate(ctx, deployment, gateway)
        target = self.targets[deployment.id]
        headers = _with_client_headers(target.headers, ctx.headers)
        payload = orjson.dumps(request.body)
        if not ctx.stream:
            try:
                _, upstream_headers, raw = await gateway.upstream.post(
                    PROVIDER, target.url, payload, headers, timeout=deployment.timeout
                )
            except UpstreamError as exc:
                raise map_upstream_error(exc) from None
            message = upstream_json_object(PROVIDER, raw)
            json_tool = request.json_tool
            # an Anthropic client gets these bytes as they came; others the OpenAI form, built on demand
            return JSONResponseBody(
                raw=raw, format=FORMAT, to_openai=lambda: completion_from_message(message, json_tool),
                headers=pass_headers(upstream_headers),
            )  # fmt: skip
        try:
            resp = await gateway.upstream.open_stream(
                PROVIDER, target.url, payload, headers, timeout=deployment.stream_timeout
            )
        except UpstreamError as exc:
            raise map_upstream_error(exc) from None
        translator = StreamTranslator(deployment.model, request.json_tool)
        native = NativeEvents(FORMAT)
        chunks = translate_stream(
            iter_body(resp, PROVIDER, deployment.stream_timeout),
            translator,
            deployment_id=deployment.id,
            request_id=ctx.request_id,
            native=native,
        )
        stream = StreamResponseBody(chunks, headers=pass_headers(resp.headers), native=native)
        stream.on_close(resp.release)
        return stream


#: request headers of the client passed to the upstream, as LiteLLM forwards them (the betas a
#: client such as Claude Code needs, the API version it was written against)
CLIENT_HEADERS = ("anthropic-beta", "anthropic-version")


def _with_client_headers(target: dict[str, str], client: Mapping[str, str]) -> dict[str, str]:
    passed = [(name, client[name]) for name in CLIENT_HEADERS if name in client]
    if not passed:
        return target
    headers = dict(target)
    for name, value in passed:
        # the deployment's own betas stay; the client's join them
        headers[name] = f"{headers[name]},{value}" if name == "anthropic-beta" and name in headers else value
    return headers
