"""The ``bedrock/`` provider: Amazon Bedrock's Converse and ConverseStream APIs, SigV4-signed.

Endpoints: ``POST https://bedrock-runtime.{region}.amazonaws.com/model/{modelId}/converse`` and
``/converse-stream`` (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html,
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html).  The model
id is percent-encoded in the path (ids and ARNs hold ``:`` and ``/``) and sent exactly as signed.

Requests go through the gateway's shared aiohttp session; errors are read here rather than by
``gateway.upstream.post`` because Bedrock names the error in a header (``x-amzn-ErrorType``), and
the name, not the HTTP status, tells a throttle from a model that is not ready.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import structlog
from yarl import URL

from gateway import Deployment, JSONResponseBody, Provider, RequestContext, StreamResponseBody, UpstreamError
from gateway.chat import ChatRequest, effective_drop_params, upstream_json_object
from gateway.upstream import iter_body

from .auth import AwsSigner, region_for
from .encode import encode_request
from .errors import PROVIDER, http_error
from .eventstream import EventStreamDecoder, EventStreamError
from .response import StreamTranslator, to_chat_completion

JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}
STREAM_HEADERS = {"content-type": "application/json", "accept": "application/vnd.amazon.eventstream"}

log = structlog.get_logger("gateway.bedrock")


@dataclass(slots=True, frozen=True)
class Target:
    converse_url: str
    stream_url: str
    signer: AwsSigner
    extra_headers: dict[str, str]
    #: the model the URLs name, and the URL under which another model's are built
    model: str = ""
    models_root: str = ""

    def for_model(self, model: str) -> Target:
        """The target for another model of this deployment (a wildcard group, ``bedrock/*``)."""
        root = self.models_root + quote(model.removeprefix("converse/"), safe="")
        return Target(
            f"{root}/converse", f"{root}/converse-stream", self.signer, self.extra_headers, model, self.models_root
        )


class BedrockProvider(Provider):
    """Encodes chat requests (any client format) for Converse and translates the answers (and event streams) back."""

    params = frozenset(
        {
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "aws_region_name",
            "aws_profile_name",
            "aws_bedrock_runtime_endpoint",
        }
    )
    distribution = "gateway-bedrock"
    #: a wildcard group (``bedrock/*``) calls the requested model's URL (built and signed per call)
    wildcard_models = True
    #: Bedrock's model ids with no ``bedrock/`` prefix (``anthropic.claude-3-haiku-...``,
    #: cross-region ``us.anthropic....``) are Bedrock's, as LiteLLM infers them
    bare_models = ("anthropic.*", "amazon.*", "meta.*", "mistral.*", "cohere.*", "ai21.*", "us.*", "eu.*", "apac.*")

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}

    def validate_deployment(self, deployment: Deployment) -> None:
        params = deployment.params
        model = deployment.model.removeprefix("converse/")
        if model.startswith("invoke/"):
            raise ValueError(
                "gateway-bedrock speaks the Converse API only; use 'bedrock/<model id>' (without 'invoke/')"
            )
        region = region_for(params)
        base = (
            params.get("api_base")
            or params.get("aws_bedrock_runtime_endpoint")
            or os.environ.get("AWS_BEDROCK_RUNTIME_ENDPOINT")
            or f"https://bedrock-runtime.{region}.amazonaws.com"
        ).rstrip("/")
        models_root = f"{base}/model/"
        root = models_root + quote(model, safe="")
        extra: dict[str, str] = {}
        for headers in (params.get("headers"), params.get("extra_headers")):
            if headers:
                extra.update({k.lower(): str(v) for k, v in headers.items()})
        self.targets[deployment.id] = Target(
            f"{root}/converse",
            f"{root}/converse-stream",
            AwsSigner(params, region),
            extra,
            deployment.model,
            models_root,
        )

    async def chat(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any
    ) -> JSONResponseBody | StreamResponseBody:
        target = self.targets[deployment.id]
        if deployment.model != target.model:  # a wildcard group's deployment asked for another model
            target = target.for_model(deployment.model)
        request = ctx.request
        assert isinstance(request, ChatRequest), "chat calls carry a typed chat request"
        body = encode_request(
            request,
            default_max_tokens=deployment.params.get("max_tokens"),
            drop_params=effective_drop_params(deployment.params, gateway.drop_params),
            response_headers=ctx.response_headers,
        )
        payload = orjson.dumps(body)
        if not ctx.stream:
            headers = await self._signed(target, target.converse_url, payload, JSON_HEADERS)
            _, _, raw = await gateway.upstream.post(
                PROVIDER,
                URL(target.converse_url, encoded=True),
                payload,
                headers,
                timeout=deployment.timeout,
                error_mapper=http_error,
            )
            return JSONResponseBody(data=to_chat_completion(upstream_json_object(PROVIDER, raw), deployment.model))
        headers = await self._signed(target, target.stream_url, payload, STREAM_HEADERS)
        resp = await gateway.upstream.open_stream(
            PROVIDER,
            URL(target.stream_url, encoded=True),
            payload,
            headers,
            timeout=deployment.stream_timeout,
            error_mapper=http_error,
        )
        return StreamResponseBody(self._chunks(resp, deployment))

    async def sign_passthrough(
        self, deployment: Deployment, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str] | None:
        """A ``/bedrock/...`` pass-through request signed with this deployment's AWS credentials."""
        target = self.targets.get(deployment.id)
        if target is None:
            return None
        return await target.signer.sign(url, body, {**headers, **target.extra_headers}, method)

    async def _signed(self, target: Target, url: str, payload: bytes, headers: dict[str, str]) -> dict[str, str]:
        """SigV4 headers for exactly this URL and body (the path is sent as signed: ``encoded=True``)."""
        signed = await target.signer.sign(url, payload, headers)
        return {**target.extra_headers, **signed} if target.extra_headers else signed

    async def _chunks(self, resp: aiohttp.ClientResponse, deployment: Deployment) -> AsyncIterator[dict[str, Any]]:
        translator = StreamTranslator(deployment.model)
        decoder = EventStreamDecoder()
        try:
            try:
                async for raw in iter_body(resp, PROVIDER, deployment.stream_timeout):
                    for message in decoder.feed(raw):
                        for chunk in translator.feed(message):
                            yield chunk
                decoder.close()
            except EventStreamError as exc:
                raise UpstreamError(f"{PROVIDER} sent a broken event stream: {exc}") from None
            for chunk in translator.close():
                yield chunk
        except UpstreamError as exc:
            log.warning("provider_stream_failed", provider=PROVIDER, deployment_id=deployment.id, error=exc.message)
            raise
        finally:
            resp.release()
