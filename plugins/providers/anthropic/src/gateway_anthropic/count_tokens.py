"""``POST /v1/messages/count_tokens``: Anthropic's token count, for every model the gateway serves.

Claude Code calls it before a turn.  The caller authenticates as on every route (a virtual key
may call it) and must be allowed the model: a key that may not use it gets the refusal
``/v1/messages`` gives.  Then:

* a model group with an ``anthropic/`` deployment: the request goes to that upstream's own
  ``count_tokens`` (the deployment's model name and credentials, the client's ``anthropic-beta``),
  and its answer comes back as it was;
* any other model: counted here with the tokenizer core ships (:mod:`gateway.tokens`), which
  never downloads anything.

It is not a model call: nothing is generated or billed, so it takes no budget, rate-limit slot
or ledger row (Anthropic does not bill it either).  Errors are Anthropic-shaped.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import GATEWAY_ONLY_FIELDS, BadRequestError, Deployment, GatewayError, UpstreamError, tokens
from gateway.http import authenticate_request, authorize_model, read_json

from .decode import decode_messages_request
from .provider import CLIENT_HEADERS, AnthropicProvider
from .response import map_upstream_error
from .wire import PROVIDER, anthropic_error_type, error_body

if TYPE_CHECKING:
    from gateway import Gateway

PATH = "/v1/messages/count_tokens"
#: what a token count does not take: it generates nothing (refused upstream, so never forwarded)
GENERATION_FIELDS = ("max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata")
#: a body larger than this is counted in a thread, so the event loop keeps serving (about 4 ms of work)
INLINE_BYTES = 64_000
#: stands for the absent max_tokens when the body is checked (above any thinking budget)
_NO_LIMIT = 1 << 30


def count_tokens_route(gateway: Gateway) -> Route:
    provider = gateway.providers.get(PROVIDER)
    counter = TokenCounter(gateway, provider if isinstance(provider, AnthropicProvider) else None)
    return Route(PATH, counter.endpoint, methods=["POST"])


class TokenCounter:
    def __init__(self, gateway: Gateway, provider: AnthropicProvider | None) -> None:
        self.gateway = gateway
        self.provider = provider
        #: model group -> its first anthropic/ deployment (start-up, then every change of the deployments)
        self.upstreams: dict[str, Deployment] = {}
        self.index_deployments()
        # deployments change at runtime (a config reload, gateway-model-store's /model/new): follow them
        gateway.add_deployments_listener(self.index_deployments)

    def index_deployments(self) -> None:
        """The table of groups counted upstream, built whole and swapped in one step."""
        provider = self.provider
        upstreams: dict[str, Deployment] = {}
        for deployment in self.gateway.deployments:
            if deployment.provider == PROVIDER and provider is not None and deployment.id in provider.targets:
                upstreams.setdefault(deployment.model_group, deployment)
        self.upstreams = upstreams

    async def endpoint(self, request: Request) -> Response:
        try:
            principal = await authenticate_request(request, self.gateway)
            body = await read_json(request, self.gateway)
            model = body.get("model")
            if not isinstance(model, str) or not model:
                raise BadRequestError("model: field required, the name of a model this key may use", param="model")
            group = authorize_model(self.gateway, principal, model)
            # checked as a Messages body (the same 400s as /v1/messages); a count has no output to bound
            typed = decode_messages_request({**body, "max_tokens": _NO_LIMIT, "stream": False})
            deployment = self.upstreams.get(group)
            if deployment is not None:
                return await self._forward(request, body, deployment)
            await tokens.load()  # built once per process, in a thread
            if int(request.headers.get("content-length") or INLINE_BYTES + 1) > INLINE_BYTES:
                count = await asyncio.to_thread(tokens.count_request, typed)  # a huge prompt: off the event loop
            else:
                count = tokens.count_request(typed)
            return _json(200, {"input_tokens": count})
        except GatewayError as exc:
            return _json(
                exc.status, error_body(anthropic_error_type(exc.status, exc.type), exc.message), exc.headers or None
            )

    async def _forward(self, request: Request, body: dict[str, Any], deployment: Deployment) -> Response:
        assert self.provider is not None
        target = self.provider.targets[deployment.id]
        headers = dict(target.headers)
        for name in CLIENT_HEADERS:
            value = request.headers.get(name)
            if value:
                headers[name] = f"{headers[name]},{value}" if name == "anthropic-beta" and name in headers else value
        # the gateway's own fields (fallbacks, tags, caching ...) are the gateway's, as on /v1/messages
        sent = {k: v for k, v in body.items() if k not in GENERATION_FIELDS and k not in GATEWAY_ONLY_FIELDS}
        sent["model"] = deployment.model
        try:
            _, _, raw = await self.gateway.upstream.post(
                PROVIDER, f"{target.url}/count_tokens", orjson.dumps(sent), headers, timeout=deployment.timeout
            )
        except UpstreamError as exc:
            raise map_upstream_error(exc) from None
        return Response(raw, status_code=200, media_type="application/json")


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json")
