"""Pass-through routes: a vendor's own API through the gateway, governed like chat.

``/anthropic/*``, ``/openai/*``, ``/gemini/*``, ``/vertex_ai/*``, ``/bedrock/*``, ``/azure/*``
(LiteLLM's provider routes) and the config's ``general_settings.pass_through_endpoints`` forward a
request to the vendor without translating it.  Each request still goes through the parts of the
lifecycle that govern it, in the order of :mod:`gateway.http._serve`:

authenticate (``gateway_auth``: a virtual key or the master key, the client's credential is never
forwarded) -> read the body when it names a model (bounded; other bodies stream to the upstream)
-> decode it with the surface of that path when there is one (so guardrails see a typed request)
-> model access -> ``gateway_pre_call`` (budgets, rate limits, guardrails) -> forward with the
credential from the config -> stream the answer's bytes back as they come, reading the usage the
answer states -> record exactly once (``gateway_log``: the ledger prices the usage).

The answer's bytes are the upstream's: no hook rewrites them, so output guardrails do not run
here, and a guardrail that rewrites the input (a mask) makes the request refused rather than
forwarded unmasked.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import aiohttp
import orjson
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from yarl import URL

from gateway import _pipeline
from gateway._errors import (
    AuthenticationError,
    BadRequestError,
    ClientDisconnectedError,
    GatewayError,
    NotFoundError,
    PayloadTooLargeError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from gateway._logs import get_logger
from gateway._types import Deployment, RequestContext, Usage
from gateway.chat import ChatRequest
from gateway.http._asgi import (
    WATCH_DISCONNECT_AFTER,
    ClientGone,
    DisconnectWatch,
    model_request_context,
    receive_body,
)
from gateway.http._openapi import ANY_JSON, Operation, describe
from gateway.http._passthrough_targets import (
    FREE_PATHS,
    MODEL_BODY_PATHS,
    VENDORS,
    Upstream,
    Vendor,
    endpoint_upstream,
    join_url,
    vendor_targets,
)
from gateway.http._passthrough_usage import EventStreamUsage, StreamUsage, usage_of_answer
from gateway.http._requests import KEY_HEADERS, extract_api_key, parse_json_object
from gateway.http._responses import error_headers, internal_error
from gateway.upstream import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from gateway._config.schema import PassThroughEndpoint
    from gateway._gateway import Gateway
    from gateway.surfaces import Surface

log = get_logger("gateway.passthrough")

#: the methods a pass-through route forwards
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: request headers never forwarded: hop-by-hop ones, and the encoding (the gateway reads the
#: answer's usage, so it asks for one it can decode)
HOP_BY_HOP = frozenset(
    {
        "host", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "accept-encoding", "x-request-id",
    }
)  # fmt: skip
#: ... and, on routes that need a gateway key, the client's credentials (that key) and cookies
DROPPED_REQUEST_HEADERS = HOP_BY_HOP | {"cookie", "authorization", *KEY_HEADERS}
#: answer headers not passed back: hop-by-hop ones, and the length and encoding of a body the
#: upstream client has already decompressed; cookies (one upstream session serves every tenant)
DROPPED_ANSWER_HEADERS = frozenset(
    {
        "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "set-cookie",
        "x-request-id", "proxy-authenticate", "trailer", "upgrade",
    }
)  # fmt: skip
#: a JSON answer bigger than this is forwarded without reading its usage (bounded memory)
MAX_USAGE_BODY = 16 * 1024 * 1024
#: what a client sends when it asks for a stream in the path rather than the body
STREAM_PATH_MARKERS = ("streamGenerateContent", "converse-stream", "invoke-with-response-stream")

#: Anthropic's error ``type`` for a status (https://docs.anthropic.com/en/api/errors)
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
    413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error",
}  # fmt: skip
#: Google's ``status`` for an HTTP status (https://cloud.google.com/apis/design/errors)
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
    500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip


def encode_error(format: str, error: GatewayError) -> bytes:
    """The gateway's own error in the vendor's envelope, so the vendor's SDK reads its message."""
    if format == "anthropic":
        kind = ANTHROPIC_ERROR_TYPES.get(error.status, "api_error" if error.status >= 500 else "invalid_request_error")
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": error.message}})
    if format == "google":
        # Google's fields, and OpenAI's type and param for clients that read those
        body = {
            "code": error.status,
            "message": error.message,
            "status": GOOGLE_STATUS.get(error.status, "UNKNOWN"),
            "type": error.type,
            "param": error.param,
        }
        return orjson.dumps({"error": body})
    return error.to_json()


class BodyState:
    """How the client's streamed body went: read to its end, or failed (the upstream client wraps
    an exception raised while it reads the body)."""

    __slots__ = ("done", "error", "watch")

    def __init__(self) -> None:
        self.done = True
        self.error: GatewayError | ClientGone | None = None
        #: started once the body was read: from then on the client's next message is its disconnect
        self.watch: DisconnectWatch | None = None


#: where a pass-through request keeps its ``global_max_parallel_requests`` slot (``ctx.state``)
PARALLEL_SLOT = "gateway.parallel"


class PassThrough:
    """Serves one pass-through route (a vendor prefix or a configured endpoint).  Built at start-up."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        name: str,
        prefix: str,
        format: str,
        auth: bool,
        pick: Callable[[str | None], Upstream | None],
        not_configured: str,
        forward_client_headers: bool = True,
        surfaces: dict[str, Surface] | None = None,
        model_paths: frozenset[str] = frozenset(),
        path_model: re.Pattern[str] | None = None,
    ) -> None:
        self.gateway = gateway
        self.name = name
        self.prefix = prefix
        self.raw_prefix = prefix.encode()
        self.format = format
        self.auth = auth
        self.pick = pick
        self.not_configured = not_configured
        self.forward_client_headers = forward_client_headers
        #: POST sub-paths a surface decodes (its typed request is what guardrails read)
        self.surfaces = surfaces or {}
        self.model_paths = model_paths | frozenset(self.surfaces)
        self.path_model = path_model
        self.key_header = gateway.config.general_settings.litellm_key_header_name
        #: guardrails that may rewrite the input are configured: compare the request around pre_call
        self.watch_rewrites = "guardrails" in gateway.state

    # ------------------------------------------------------------------ the lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = model_request_context(scope, "chat")
        ctx.surface = self.name
        head_sent = [False]
        error: BaseException | None = None
        try:
            error = await self._serve(ctx, scope, receive, send, head_sent)
        except GatewayError as exc:
            error = exc
            await self._send_error(send, ctx, exc, head_sent)
        except ClientGone as gone:
            error = ClientDisconnectedError(str(gone))
        except Exception as exc:
            error = internal_error(exc, ctx.request_id)
            await self._send_error(send, ctx, error, head_sent)
        except BaseException:  # cancelled: the server is stopping
            error = ClientDisconnectedError("the request was cancelled before its answer was complete")
            raise
        finally:
            self.gateway.parallel.release(ctx.state.pop(PARALLEL_SLOT, None))  # global_max_parallel_requests
            _pipeline.finish(self.gateway, ctx, error)

    async def _serve(
        self, ctx: RequestContext, scope: Scope, receive: Receive, send: Send, head_sent: list[bool]
    ) -> GatewayError | None:
        gateway = self.gateway
        # the query goes on as the client encoded it; on Google's routes, less the gateway key
        query = scope.get("query_string", b"").decode("latin-1")
        in_query = None
        if self.format == "google" and query:
            parts = query.split("&")
            in_query = next((unquote(p[4:]) for p in parts if p.startswith("key=") and len(p) > 4), None)
            query = "&".join(p for p in parts if not p.startswith("key="))
        if self.auth:
            # Google's SDKs and LiteLLM's docs put the key in ?key=
            headers = ctx.headers
            if self.format == "bedrock" and headers.get("authorization", "").startswith("AWS4-"):
                # an AWS SDK signs with its own credentials: the gateway key rides in x-litellm-api-key
                headers = {k: v for k, v in headers.items() if k != "authorization"}
            ctx.api_key = extract_api_key(headers, self.key_header) or in_query
            await _pipeline.authenticate(gateway, ctx, scope["path"])  # allowed_routes: the path asked for
        else:
            ctx.principal = gateway.anonymous_principal
        if self.pick(None) is None:  # nothing configures this route: say so before reading anything
            raise NotFoundError(self.not_configured, code="passthrough_not_configured")
        sub = self._sub_path(scope)
        method = scope["method"]
        body: Any
        body_state = BodyState()
        model: str | None = None
        if method == "POST" and sub in self.model_paths:
            raw = await receive_body(
                receive, ctx.headers.get("content-length"), gateway.max_body_bytes, gateway.request_body_timeout
            )
            ctx.body = parse_json_object(raw)
            found = ctx.body.get("model")
            model = found if isinstance(found, str) and found else None
            ctx.stream = ctx.body.get("stream") is True
            surface = self.surfaces.get(sub)
            if surface is not None:
                ctx.endpoint = surface.endpoint
                ctx.request = surface.decode(ctx.body)
            body = raw
        else:
            model = self._model_in_path(sub)
            ctx.stream = any(marker in sub for marker in STREAM_PATH_MARKERS)
            declared = ctx.headers.get("content-length")
            body_state.done = method in ("GET", "DELETE") and not declared
            if declared is not None and declared.isdigit() and int(declared) > gateway.max_body_bytes:
                raise PayloadTooLargeError(f"the request body is larger than {gateway.max_body_bytes} bytes")
            body = None if body_state.done else self._request_body(receive, body_state)
        upstream = self.pick(model)
        if upstream is None:
            raise NotFoundError(self.not_configured, code="passthrough_not_configured")
        if upstream.signer is not None and body is not None and not isinstance(body, bytes):
            # a signature covers the body: read it whole (bounded) before signing
            body = await receive_body(
                receive, ctx.headers.get("content-length"), gateway.max_body_bytes, gateway.request_body_timeout
            )
            body_state.done = True
        self._govern(ctx, model, upstream)
        if gateway.parallel.cap is not None:  # a forwarded call counts against the cap like a model request
            ctx.state[PARALLEL_SLOT] = await gateway.parallel.acquire()
        if gateway.hooks.pre_call_impls and not FREE_PATHS.search(sub):
            await self._pre_call(ctx)
        return await self._forward(ctx, upstream, method, sub, query, body, body_state, receive, send, head_sent)

    def _sub_path(self, scope: Scope) -> str:
        """The path after the prefix, as the client encoded it (forwarded as it is)."""
        raw = scope.get("raw_path")
        if raw:
            sub = str(raw[len(self.raw_prefix) :].split(b"?", 1)[0].decode("latin-1"))
        else:
            sub = quote(str(scope["path"][len(self.prefix) :]), safe="/:@!$&'()*+,;=-._~%")
        if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in sub):
            raise BadRequestError(f"the path after {self.prefix} must be percent-encoded", param="path")
        return sub

    def _model_in_path(self, sub: str) -> str | None:
        found = self.path_model.search(sub) if self.path_model is not None else None
        return unquote(found.group(1)) if found else None

    def _govern(self, ctx: RequestContext, model: str | None, upstream: Upstream) -> None:
        """What budgets, the ledger and model access see: the model, its group and deployment."""
        principal = ctx.principal
        assert principal is not None
        deployment = upstream.deployment
        if model is not None:
            ctx.requested_model = model
            ctx.model_group = deployment.model_group if deployment is not None else model
            if not principal.may_use(ctx.model_group):
                raise AuthenticationError(
                    f"key not allowed to access model. Tried to access {model!r} through {self.prefix}; call "
                    "GET /v1/models to see the models this key may use.",
                    type="key_model_access_denied",
                    param="model",
                )
        if deployment is None:
            # no deployment of the config serves this model: its calls are recorded, and priced by
            # nothing the config states (the ledger says cost_unknown when usage was reported)
            provider = self.name.partition(".")[2] or "passthrough"
            label = model or self.prefix
            deployment = Deployment(id=f"passthrough:{self.prefix}:{label}", model_group=label, provider=provider,
                                    model=label, params={})  # fmt: skip
        ctx.deployment = deployment
        ctx.deployments = [deployment]

    async def _pre_call(self, ctx: RequestContext) -> None:
        request = ctx.request
        before = None
        if self.watch_rewrites and isinstance(request, ChatRequest):
            before = copy.deepcopy(request.messages)
        await self.gateway.hooks.pre_call(ctx)
        # during_call guardrails run beside the upstream call on chat, their verdict awaited before
        # the answer is sent; a forwarded answer cannot be held back, so the verdict comes first
        guards = ctx.state.get("guardrails")
        await_during = getattr(guards, "await_during", None)
        if await_during is not None and getattr(guards, "during", None):
            await await_during()
        if before is not None and isinstance(request, ChatRequest) and request.messages != before:
            raise GatewayError(
                f"a guardrail rewrote this request (a mask), but {self.prefix} forwards the client's bytes unchanged, "
                "so it is refused rather than sent unmasked; send it to the gateway's own model route "
                "(/v1/messages or /v1/chat/completions), where the masked request is what the upstream gets",
                status=400,
                type="invalid_request_error",
                code="guardrail_rewrite_on_passthrough",
            )

    async def _request_body(self, receive: Receive, state: BodyState) -> AsyncIterator[bytes]:
        """The client's body, streamed to the upstream as it arrives, bounded like every body.  A
        failure here surfaces wrapped in the upstream client's error: ``state.error`` keeps it."""
        limit = self.gateway.max_body_bytes
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                state.error = ClientGone("the client disconnected while sending its request")
                raise state.error
            data = message.get("body", b"")
            seen += len(data)
            if seen > limit:
                state.error = PayloadTooLargeError(f"the request body is larger than {limit} bytes")
                raise state.error
            if data:
                yield data
            if not message.get("more_body", False):
                state.done = True
                if state.watch is not None and state.watch.watcher is None:
                    state.watch.start()
                return

    def _headers(self, ctx: RequestContext, upstream: Upstream, streamed_length: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.forward_client_headers:
            if self.auth:  # the client's credential is its gateway key: never forwarded
                headers = {k: v for k, v in ctx.headers.items() if k not in DROPPED_REQUEST_HEADERS}
                if self.key_header:
                    headers.pop(self.key_header.lower(), None)
            else:  # an open endpoint: the client's credentials are for the target
                headers = {k: v for k, v in ctx.headers.items() if k not in HOP_BY_HOP}
        else:
            for name in ("content-type", "accept"):
                if name in ctx.headers:
                    headers[name] = ctx.headers[name]
        if not streamed_length:
            headers.pop("content-length", None)  # the body was read: aiohttp states its length
        for name, value in upstream.headers.items():
            if name == "anthropic-version" and name in headers:
                continue  # the client's own API version wins over the deployment's default
            headers[name] = value
        if self.format == "anthropic":
            headers.setdefault("anthropic-version", "2023-06-01")
        return headers

    async def _forward(
        self,
        ctx: RequestContext,
        upstream: Upstream,
        method: str,
        sub: str,
        query: str,
        body: Any,
        body_state: BodyState,
        receive: Receive,
        send: Send,
        head_sent: list[bool],
    ) -> GatewayError | None:
        gateway = self.gateway
        url = join_url(upstream.base, sub)
        if query:
            url += ("&" if "?" in url else "?") + query
        try:
            target = URL(url, encoded=True)
        except ValueError:
            raise BadRequestError(f"the path after {self.prefix} is not a valid URL path", param="path") from None
        headers = self._headers(ctx, upstream, streamed_length=body is not None and not isinstance(body, bytes))
        if upstream.signer is not None:
            headers = await self._signed(upstream.signer, method, url, headers, body or b"")
        deployment = ctx.deployment
        seconds = (deployment.stream_timeout if ctx.stream else deployment.timeout) if deployment else None
        timeout = gateway.upstream.timeout(seconds or DEFAULT_TIMEOUT, stream=True)
        ctx.upstream_started = time.perf_counter()
        task = asyncio.current_task()
        assert task is not None
        # a client that leaves stops the upstream call (an abandoned answer is still billed): once
        # the body is read the next message from the client is its disconnect, watched from
        # WATCH_DISCONNECT_AFTER on (a fast answer needs no watcher task), a stream at once
        watch = DisconnectWatch(task, receive, "the client disconnected before the answer ended")
        if body_state.done:
            watch.start_after(WATCH_DISCONNECT_AFTER)
        else:
            body_state.watch = watch  # the body is still on its way: watched once it was read
        with watch:
            return await self._call(
                ctx, method, target, body, headers, timeout, body_state, watch, body_state.done, send, head_sent
            )

    async def _call(
        self,
        ctx: RequestContext,
        method: str,
        target: URL,
        body: Any,
        headers: dict[str, str],
        timeout: aiohttp.ClientTimeout,
        body_state: BodyState,
        watch: DisconnectWatch,
        timed: bool,
        send: Send,
        head_sent: list[bool],
    ) -> GatewayError | None:
        try:
            response = await self.gateway.upstream.session.request(
                method, target, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except GatewayError:
            raise
        except Exception as exc:
            if body_state.error is not None:  # the client's body failed (too large, or it left), not the upstream
                raise body_state.error from None
            if isinstance(exc, TimeoutError):
                raise UpstreamTimeoutError(f"the {self.prefix} upstream did not answer in time") from None
            if isinstance(exc, (aiohttp.ClientError, OSError)):
                log.warning("passthrough_unreachable", route=self.prefix, error=f"{type(exc).__name__}: {exc}")
                raise UpstreamUnreachableError("could not reach {upstream}", self.prefix.strip("/")) from None
            raise
        try:
            return await self._answer(ctx, response, body_state, watch, timed, send, head_sent)
        finally:
            response.release()

    async def _signed(
        self, deployment: Deployment, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> dict[str, str]:
        provider = self.gateway.providers.get(deployment.provider)
        # the client's own AWS signing headers are not ours to send
        unsigned = {k: v for k, v in headers.items() if not k.startswith("x-amz-")}
        signed = await provider.sign_passthrough(deployment, method, url, unsigned, body) if provider else None
        if signed is None:
            raise NotFoundError(self.not_configured, code="passthrough_not_configured")
        return signed

    async def _answer(
        self,
        ctx: RequestContext,
        response: aiohttp.ClientResponse,
        body_state: BodyState,
        watch: DisconnectWatch,
        timed: bool,
        send: Send,
        head_sent: list[bool],
    ) -> GatewayError | None:
        ctx.upstream_answered = time.perf_counter()
        ctx.status = response.status
        content_type = response.headers.get("content-type", "")
        sse = content_type.startswith("text/event-stream")
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.items()
            if name.lower() not in DROPPED_ANSWER_HEADERS
        ]
        # (the request ids are added by RequestIdMiddleware, as on every Starlette route)
        raw_headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ctx.response_headers.items()]
        stream_usage: StreamUsage | EventStreamUsage | None = None
        if sse:
            stream_usage = StreamUsage()
        elif content_type.startswith("application/vnd.amazon.eventstream"):
            stream_usage = EventStreamUsage()
        kept: list[bytes] | None = (
            [] if stream_usage is None and response.status < 300 and "json" in content_type else None
        )
        if watch.watcher is None and body_state.done and (stream_usage is not None or not timed):
            # a stream lasts: watch at once; so too once a body streamed to the upstream was read
            watch.start()
        size = 0
        failure: GatewayError | None = None
        try:
            head_sent[0] = True
            await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
            async for chunk in response.content.iter_any():
                if ctx.first_token_at is None:
                    ctx.first_token_at = time.perf_counter()
                if stream_usage is not None:
                    stream_usage.feed(chunk)
                elif kept is not None:
                    size += len(chunk)
                    if size <= MAX_USAGE_BODY:
                        kept.append(chunk)
                    else:
                        kept = None
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except asyncio.CancelledError:
            self._read_usage(ctx, stream_usage, kept)  # what was answered before the client left
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            # the head went out: the answer ends here, short, and the request is recorded as failed
            failure = UpstreamError(f"the {self.prefix} upstream broke off its answer: {type(exc).__name__}")
        self._read_usage(ctx, stream_usage, kept)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return failure

    @staticmethod
    def _read_usage(
        ctx: RequestContext, stream_usage: StreamUsage | EventStreamUsage | None, kept: list[bytes] | None
    ) -> None:
        usage: Usage | None = None
        if stream_usage is not None:
            usage = stream_usage.usage
        elif kept:
            try:
                usage = usage_of_answer(orjson.loads(b"".join(kept)))
            except orjson.JSONDecodeError:
                usage = None
        if usage is not None:
            ctx.usage = usage

    async def _send_error(self, send: Send, ctx: RequestContext, error: GatewayError, head_sent: list[bool]) -> None:
        if head_sent[0]:
            return
        body = encode_error(self.format, error)
        headers = {**error_headers(error), **ctx.response_headers}
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        head_sent[0] = True
        await send({"type": "http.response.start", "status": error.status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- the routes


def _vendor_route(gateway: Gateway, vendor: Vendor) -> PassThrough:
    targets = vendor_targets(gateway, vendor)

    def pick(model: str | None) -> Upstream | None:
        found = targets.by_model.get(model) if model is not None else None
        return found or targets.default

    surfaces = {
        path: surface
        for _, surface in gateway.surfaces.items()
        if surface.format == vendor.format
        for path in surface.paths
    }
    return PassThrough(
        gateway,
        name=f"passthrough.{vendor.prefix.strip('/')}",
        prefix=vendor.prefix,
        format=vendor.format,
        auth=True,
        pick=pick,
        not_configured=f"{vendor.prefix} is not configured on this gateway: {vendor.remedy}",
        surfaces=surfaces,
        model_paths=MODEL_BODY_PATHS.get(vendor.format, frozenset()),
        path_model=vendor.path_model,
    )


def _endpoint_route(gateway: Gateway, endpoint: PassThroughEndpoint) -> PassThrough:
    upstream = endpoint_upstream(endpoint)
    if not endpoint.auth:
        log.warning("passthrough_without_auth", path=endpoint.path, fix="set auth: true to require a gateway key")
    return PassThrough(
        gateway,
        name=f"passthrough.{endpoint.path.strip('/')}",
        prefix=endpoint.path,
        format="openai",
        auth=endpoint.auth,
        pick=lambda model: upstream,
        not_configured="",
        forward_client_headers=endpoint.forward_headers,
    )


def passthrough_routes(gateway: Gateway) -> list[Route]:
    """The vendor prefixes and the configured endpoints; served after every other route, so a
    more specific route (``/openai/deployments/...``) always wins."""
    routes: list[Route] = []
    configured = {endpoint.path for endpoint in gateway.config.general_settings.pass_through_endpoints}
    for endpoint in gateway.config.general_settings.pass_through_endpoints:
        handler = _endpoint_route(gateway, endpoint)
        routes.append(Route(endpoint.path, handler, methods=METHODS))
        if endpoint.include_subpath:
            routes.append(Route(endpoint.path + "/{subpath:path}", handler, methods=METHODS))
    for vendor in VENDORS:
        if vendor.prefix in configured:
            continue  # the operator's own endpoint for this prefix replaces LiteLLM's
        routes.append(Route(vendor.prefix + "/{path:path}", _vendor_route(gateway, vendor), methods=METHODS))
    for route in routes:  # the vendor's API answers, in its own shapes: success and errors alike
        describe(route, _FORWARDED)
    return routes


_FORWARDED = Operation(
    summary="Forwarded to the vendor's API with the gateway's credentials, governed like a model request",
    description="The body and the answer are the vendor's own; errors the gateway answers itself use the "
    "vendor's error envelope.",
    error=ANY_JSON,
    tags=("pass-through",),
)


__all__ = ["PassThrough", "passthrough_routes", "encode_error", "METHODS"]
