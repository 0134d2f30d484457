"""The one model-request lifecycle, for every surface.

authenticate -> read the body (bounded) -> decode (the surface) -> the request hooks -> encode the
answer or the stream (the surface) -> record.  One ``try/finally`` records every request exactly
once (the access line, one ``gateway_log`` event), whatever happens: an auth failure, a malformed
body, an upstream failing before or during a stream, a client leaving mid-stream.

It is a raw ASGI handler, served before Starlette's router: measured on the benchmark, Starlette's
request/response objects and middleware stack cost more than the gateway's whole pipeline.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway import _pipeline
from gateway._errors import ClientDisconnectedError, GatewayError
from gateway._hooks import PerPlugin, call_startup_hook, log_plugin_failure
from gateway._registry import Registry
from gateway._types import RequestContext, StreamResponseBody
from gateway.http._asgi import (
    WATCH_DISCONNECT_AFTER,
    ClientGone,
    DisconnectWatch,
    id_headers,
    model_request_context,
    receive_body,
    send_bytes,
)
from gateway.http._batch import batch_models, serve_batch
from gateway.http._requests import extract_api_key, parse_json_object
from gateway.http._responses import AnswerHeaders, answer_head, error_headers, internal_error

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway.surfaces import Surface

#: headers every event stream carries (``x-accel-buffering``: tell nginx in front not to buffer it)
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class Answered:
    """Whether the answer's head went out: after that, an error can only end the stream."""

    __slots__ = ("head", "slot")

    def __init__(self) -> None:
        self.head = False
        #: the ``global_max_parallel_requests`` slot this request holds, given back in the ``finally``
        self.slot: str | None = None


class ModelRoute:
    """Serves one surface's paths.  Built once per surface at start-up."""

    def __init__(self, gateway: Gateway, surface: Surface, plugin: str) -> None:
        self.gateway = gateway
        self.surface = surface
        #: the plugin that registered the surface, named when its codec fails
        self.plugin = plugin
        self.key_header = gateway.config.general_settings.litellm_key_header_name
        self.answer_headers = AnswerHeaders(
            gateway.providers, api_base=gateway.config.general_settings.model_api_base_header
        )
        #: the surface's paths with ``{name}`` segments, matched to hand their values to decode_path
        self.templates = [template_pattern(path) for path in surface.paths if "{" in path]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # one coroutine for the whole lifecycle: every layer of ``await`` costs each request
        gateway = self.gateway
        ctx = model_request_context(scope, self.surface.endpoint)
        ctx.surface = self.surface.name
        answered = Answered()
        error: BaseException | None = None
        try:
            access = gateway.access
            if access.networks is not None:  # general_settings.allowed_ips: before the credential is looked at
                access.check_ip(ctx.client_ip)
            # authenticate before reading the body: an anonymous client cannot make us read 32 MB
            ctx.api_key = extract_api_key(ctx.headers, self.key_header)
            principal = gateway.hooks.auth_now(ctx, ctx.api_key)  # no coroutine for plain-function auth hooks
            if principal is not None and hasattr(principal, "__await__"):
                principal = await principal
            _pipeline.admit(gateway, ctx, principal, scope["path"])
            raw = await receive_body(
                receive, ctx.headers.get("content-length"), gateway.max_body_bytes, gateway.request_body_timeout
            )
            ctx.body = parse_json_object(raw)
            params = self._path_params(scope["path"]) if self.templates else None
            if params is not None:
                request = ctx.request = self._codec(self.surface.decode_path, ctx.body, params)
            else:
                try:  # self._codec, inlined: every request passes here
                    request = ctx.request = self.surface.decode(ctx.body)
                except GatewayError:
                    raise
                except Exception as exc:
                    raise log_plugin_failure(self.plugin, f"surface {self.surface.name}.decode", exc) from exc
            ctx.requested_model = request.model
            ctx.stream = request.stream
            if access.enforce_user:
                access.check_user(request.user, self.surface.user_field)
            if gateway.parallel.cap is not None:  # no coroutine per request when there is no cap
                answered.slot = await gateway.parallel.acquire()
            if "," in ctx.requested_model and (names := batch_models(gateway, ctx)) is not None:
                # LiteLLM's batch completions ("model": "a,b"): one request per model, a list of answers
                status, body, headers = await serve_batch(gateway, self.surface, ctx, names, self.answer_headers)
                ctx.status = status
                answered.head = True
                await send_bytes(send, status, body, headers, self.surface.content_type)
                return
            # run_until_disconnect, inlined (one coroutine less): an abandoned request must not keep
            # an upstream generating, and billing, an answer nobody will read
            task = asyncio.current_task()
            assert task is not None
            watch = DisconnectWatch(task, receive)
            watch.start_after(WATCH_DISCONNECT_AFTER)
            with watch:
                response = await _pipeline.run(gateway, ctx)
            if isinstance(response, StreamResponseBody):
                raw_headers = answer_head(ctx, response, self.answer_headers, STREAM_HEADERS)
                error = await self._stream(ctx, response, raw_headers, receive, send, answered)
                return
            # the headers as the answer stood before it was encoded; content-length once it is
            raw_headers = answer_head(
                ctx, response, self.answer_headers, [(b"content-type", self.surface.content_type)]
            )
            ctx.status = response.status
            try:  # self._codec, inlined
                body = self.surface.encode_answer(ctx, response)
            except GatewayError:
                raise
            except Exception as exc:
                raise log_plugin_failure(self.plugin, f"surface {self.surface.name}.encode_answer", exc) from exc
            raw_headers.insert(1, (b"content-length", str(len(body)).encode()))
            answered.head = True
            await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
            await send({"type": "http.response.body", "body": body})
        except GatewayError as exc:
            error = exc
            await self._send_error(send, ctx, exc, answered)
        except ClientGone as gone:
            error = ClientDisconnectedError(str(gone))
        except Exception as exc:
            error = internal_error(exc, ctx.request_id)
            await self._send_error(send, ctx, error, answered)
        except BaseException:  # cancelled: the server is stopping (a client's departure is ClientGone)
            error = ClientDisconnectedError("the request was cancelled before its answer was complete")
            raise
        finally:
            if answered.slot is not None:  # global_max_parallel_requests
                gateway.parallel.release(answered.slot)
            _pipeline.finish(gateway, ctx, error)

    async def _stream(
        self, ctx: RequestContext, response: StreamResponseBody, raw_headers: list[tuple[bytes, bytes]], receive: Receive,
        send: Send, answered: Answered,
    ) -> GatewayError | None:  # fmt: skip
        """Send the stream's events as they come; returns the error that ended it early, if any."""
        failure: list[GatewayError] = []

        def on_error(exc: BaseException) -> GatewayError:
            error = exc if isinstance(exc, GatewayError) else internal_error(exc, ctx.request_id)
            failure.append(error)
            return error

        task = asyncio.current_task()
        assert task is not None
        watch = DisconnectWatch(task, receive, "the client disconnected before the stream ended")
        watch.start()  # a stream lasts: a client that leaves stops the upstream at once
        try:
            with watch:
                events = self._codec(self.surface.encode_stream, ctx, response, on_error)
                answered.head = True
                await send({"type": "http.response.start", "status": 200, "headers": raw_headers})
                async for data in _guarded(events, self.plugin, self.surface.name, ctx.request_id, on_error):
                    if data:
                        await send({"type": "http.response.body", "body": data, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return failure[0] if failure else None

    def _path_params(self, path: str) -> dict[str, str] | None:
        for pattern in self.templates:
            found = pattern.fullmatch(path)
            if found:
                return found.groupdict()  # the server decoded the path already (ASGI's scope['path'])
        return None

    def _codec(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call a surface method; anything but a ``GatewayError`` is the surface's bug (500, naming its plugin)."""
        try:
            return method(*args)
        except GatewayError:
            raise
        except Exception as exc:
            raise log_plugin_failure(self.plugin, f"surface {self.surface.name}.{method.__name__}", exc) from exc

    async def _send_error(self, send: Send, ctx: RequestContext, error: GatewayError, answered: Answered) -> None:
        if answered.head:
            return  # the answer started: the stream already carries its own end
        try:
            body = self.surface.encode_error(error)
        except Exception as exc:  # the surface cannot even say it failed: say it in OpenAI's shape
            error = log_plugin_failure(self.plugin, f"surface {self.surface.name}.encode_error", exc)
            body = error.to_json()
        headers = {**error_headers(error), **ctx.response_headers, **id_headers(ctx)}
        answered.head = True
        await send_bytes(send, error.status, body, headers, b"application/json")


async def _guarded(
    events: AsyncIterator[bytes],
    plugin: str,
    surface: str,
    request_id: str,
    on_error: Callable[[BaseException], GatewayError],
) -> AsyncIterator[bytes]:
    """A surface's stream encoder that raises ends the stream (it has already started) and is named."""
    try:
        async for data in events:
            yield data
    except GatewayError as exc:
        on_error(exc)
    except Exception as exc:
        on_error(log_plugin_failure(plugin, f"surface {surface}.encode_stream", exc))


def template_pattern(path: str) -> re.Pattern[str]:
    """``/a/{name}/b`` as a pattern matching ``/a/<one segment>/b``, the segment named ``name``."""
    parts = [
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") and part.endswith("}") else re.escape(part)
        for part in path.split("/")
    ]
    return re.compile("/".join(parts))


class ModelPaths(dict[str, "ModelRoute"]):
    """Path -> the model route serving it: one dict lookup for a literal path; a path no literal
    matches is tried against the templated ones (``{name}`` segments), if any surface has some."""

    def __init__(self, routes: dict[str, ModelRoute]) -> None:
        super().__init__(routes)
        self.templates = [(template_pattern(path), route) for path, route in routes.items() if "{" in path]

    def get(self, path: str, default: Any = None) -> Any:
        route = super().get(path)
        if route is None and self.templates:
            for pattern, candidate in self.templates:
                if pattern.fullmatch(path):
                    return candidate
            return default
        return route if route is not None else default


def surface_routes(gateway: Gateway) -> tuple[dict[str, ModelRoute], list[Route]]:
    """Every registered surface's paths: ``path -> ModelRoute`` for the fast path, and Starlette
    routes that reserve those paths (so no plugin route can claim them; POST requests to them
    never reach Starlette)."""
    surfaces: Registry[Surface] = Registry("surface")
    paths: Registry[Surface] = Registry(
        "the model route POST", remedy="a path is served by one surface; disable one plugin"
    )

    def registrar(plugin: str) -> Callable[[Surface], None]:
        def register(surface: Surface) -> None:
            surfaces.add(plugin, surface.name, surface)
            for path in surface.paths:
                paths.add(plugin, path, surface)

        return register

    call_startup_hook(gateway.pm, "gateway_register_surfaces", register=PerPlugin(registrar), gateway=gateway)
    gateway.surfaces = surfaces
    routes = {name: ModelRoute(gateway, surface, surfaces.owner(name) or "core") for name, surface in surfaces.items()}
    fast = ModelPaths({path: routes[surface.name] for path, surface in paths.items()})

    if gateway.access.routes is not None:  # allowed_routes' model route groups name these paths
        gateway.access.routes.bind_model_paths(paths.names())

    async def served_by_fast_path(request: Request) -> Response:  # pragma: no cover - intercepted earlier
        raise RuntimeError("model routes are served by the ASGI fast path")

    return fast, [Route(path, served_by_fast_path, methods=["POST"]) for path in fast]


__all__ = ["ModelRoute", "surface_routes"]
