"""The ``gemini/`` provider: Google AI Studio's ``generateContent`` and ``streamGenerateContent``.

Endpoints: https://ai.google.dev/api/generate-content (``POST /v1beta/{model=models/*}:generateContent``
and ``:streamGenerateContent``; ``alt=sse`` makes the stream server-sent events).  The key goes in
the ``x-goog-api-key`` header, never in the URL, so it cannot leak into logs or error messages.
URLs and headers are computed once per deployment at start-up.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from gateway import Deployment, JSONResponseBody, Provider, RequestContext, StreamResponseBody, UpstreamError
from gateway.chat import ChatRequest, effective_drop_params
from gateway.upstream import ServerSentEvent, SSEDecoder, SSEProtocolError, iter_body

from .encode import PROVIDER, encode_request
from .response import StreamTranslator, to_chat_completion

DEFAULT_API_BASE = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
KEY_VARIABLE = "GEMINI_API_KEY"
STREAM_QUERY = {"alt": "sse"}

log = structlog.get_logger("gateway.gemini")


@dataclass(slots=True, frozen=True)
class Target:
    generate_url: str
    stream_url: str
    headers: dict[str, str]
    #: the model the URLs name, and the URL of the models under which another model's are built
    model: str = ""
    models_root: str = ""

    def for_model(self, model: str) -> Target:
        """The target for another model of this deployment (a wildcard group, ``gemini/*``)."""
        root = self.models_root + model.removeprefix("models/")
        return Target(f"{root}:generateContent", f"{root}:streamGenerateContent", self.headers, model, self.models_root)


class GeminiProvider(Provider):
    """Encodes chat requests (any client format) for Gemini and translates the answers (and streams) back."""

    params = frozenset({"safety_settings"})
    distribution = "gateway-gemini"
    #: a wildcard group (``gemini/*``) calls the requested model's URL (built per call for it)
    wildcard_models = True

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}

    def validate_deployment(self, deployment: Deployment) -> None:
        params = deployment.params
        base = (params.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        version = params.get("api_version") or DEFAULT_API_VERSION
        key = params.get("api_key") or os.environ.get(KEY_VARIABLE)
        if not key and not params.get("api_base"):
            raise ValueError(
                f"gemini deployments need api_key (for example os.environ/{KEY_VARIABLE}) or {KEY_VARIABLE} set"
            )
        safety = params.get("safety_settings")
        if safety is not None and not isinstance(safety, list):
            raise ValueError("safety_settings must be a list of {category, threshold} objects")
        model = deployment.model.removeprefix("models/")
        headers = {"content-type": "application/json"}
        if key:
            headers["x-goog-api-key"] = key
        for extra in (params.get("headers"), params.get("extra_headers")):
            if extra:
                headers.update({k.lower(): str(v) for k, v in extra.items()})
        models_root = f"{base}/{version}/models/"
        root = models_root + model
        self.targets[deployment.id] = Target(
            f"{root}:generateContent", f"{root}:streamGenerateContent", headers, deployment.model, models_root
        )

    async def chat(
        self, ctx: RequestContext, deployment: Deployment, gateway: Any
    ) -> JSONResponseBody | StreamResponseBody:
        target = self.targets[deployment.id]
        if deployment.model != target.model:  # a wildcard group's deployment asked for another model
            target = target.for_model(deployment.model)
        params = deployment.params
        request = ctx.request
        assert isinstance(request, ChatRequest), "chat calls carry a typed chat request"
        body = encode_request(
            request,
            default_max_tokens=params.get("max_tokens"),
            safety_settings=params.get("safety_settings"),
            drop_params=effective_drop_params(params, gateway.drop_params),
            response_headers=ctx.response_headers,
        )
        payload = orjson.dumps(body)
        try:
            if not ctx.stream:
                return await self._generate(gateway, target, payload, deployment)
            resp = await gateway.upstream.open_stream(
                PROVIDER,
                target.stream_url,
                payload,
                target.headers,
                timeout=deployment.stream_timeout,
                params=STREAM_QUERY,
            )
        except UpstreamError as exc:
            refused = key_refused(exc)
            if refused is None:
                raise
            raise refused from None
        return StreamResponseBody(self._chunks(resp, deployment))

    async def _generate(self, gateway: Any, target: Target, payload: bytes, deployment: Deployment) -> JSONResponseBody:
        _, _, raw = await gateway.upstream.post(
            PROVIDER, target.generate_url, payload, target.headers, timeout=deployment.timeout
        )
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamError(f"{PROVIDER} answered with a body that is not JSON ({raw[:80]!r}...)") from None
        if not isinstance(data, dict):
            raise UpstreamError(f"{PROVIDER} answered with JSON that is not an object")
        return JSONResponseBody(data=to_chat_completion(data, deployment.model))

    async def _chunks(self, resp: Any, deployment: Deployment) -> AsyncIterator[dict[str, Any]]:
        translator = StreamTranslator(deployment.model)
        decoder = SSEDecoder()
        try:
            async for raw in iter_body(resp, PROVIDER, deployment.stream_timeout):
                try:
                    events = list(decoder.feed(raw))
                except SSEProtocolError as exc:
                    raise UpstreamError(f"{PROVIDER} sent a broken event stream: {exc}") from None
                for event in events:
                    for chunk in translator.feed(decode_event(event)):
                        yield chunk
            last = decoder.flush()
            if last is not None:
                for chunk in translator.feed(decode_event(last)):
                    yield chunk
            for chunk in translator.close():
                yield chunk
        except UpstreamError as exc:
            log.warning("provider_stream_failed", provider=PROVIDER, deployment_id=deployment.id, error=exc.message)
            raise
        finally:
            resp.release()


def key_refused(error: UpstreamError) -> UpstreamError | None:
    """Gemini answers a bad key with 400 INVALID_ARGUMENT; that is the gateway's fault, not the client's."""
    if error.upstream_status == 400 and "API key not valid" in error.message:
        return UpstreamError(
            f"{PROVIDER} rejected the gateway's API key for this deployment: {error.message}",
            status=502,
            type="upstream_auth_error",
            upstream_status=400,
        )
    return None


def decode_event(event: ServerSentEvent) -> Any:
    """The JSON object of one SSE event; anything else is a protocol violation."""
    if event.event not in (None, "message"):
        raise UpstreamError(f"{PROVIDER} sent an unknown stream event type {event.event!r}")
    try:
        return orjson.loads(event.data)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"{PROVIDER} sent a stream event that is not JSON: {event.data[:80]!r}") from None
