"""The Starlette application: core routes, plugin routes, request ids, errors, lifespan."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway._errors import ConfigError, GatewayError, NotFoundError, PluginError
from gateway._gateway import Gateway
from gateway._hooks import PluginFailure, call_startup_hook
from gateway._logs import bind_request_id, configure_logging, get_logger
from gateway._unavailable import DependencyUnavailableError, is_unavailable
from gateway.http._allowed_ips import AllowedIPsMiddleware
from gateway.http._docs import STATE_KEY as OPENAPI_DOCUMENT
from gateway.http._docs import docs_routes, encode_document
from gateway.http._health import health_routes
from gateway.http._missing_plugin import missing_plugin_error
from gateway.http._models_admin import model_admin_routes
from gateway.http._openai_routes import openai_routes
from gateway.http._openapi import openapi_document
from gateway.http._passthrough import encode_error, passthrough_routes
from gateway.http._passthrough_targets import VENDORS
from gateway.http._requests import client_request_id, new_request_id
from gateway.http._responses import error_response, internal_error
from gateway.http._route_table import CORE as ROUTE_TABLE_CORE
from gateway.http._route_table import STATE_KEY as ROUTE_TABLE
from gateway.http._route_table import route_table_routes
from gateway.http._serve import surface_routes

log = get_logger("gateway.app")


class RequestIdMiddleware:
    """Give every request our own id and echo the ids on the response (and answer 503 for a
    route that failed because a dependency is unavailable: see :mod:`gateway._unavailable`).

    ``x-request-id`` echoes the client's own sane ``x-request-id`` when it sent one (so its traces
    line up), else ours; ``x-litellm-call-id`` is always ours.  The client's id is kept apart
    (``scope["state"]["client_request_id"]``): clients reuse ids, and ledgers key on ours.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = new_request_id()
        client_id = client_request_id(incoming)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_request_id"] = client_id
        bind_request_id(request_id)
        headers = [(b"x-request-id", (client_id or request_id).encode()), (b"x-litellm-call-id", request_id.encode())]
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # a plugin route (an admin API) whose database or cache is down or too slow: 503 with
            # retry-after, not a 500 with a traceback per request for as long as the outage lasts
            if started or not is_unavailable(exc):
                raise
            log.warning("dependency_unavailable", route=scope["path"], error=f"{type(exc).__name__}: {exc}")
            error = DependencyUnavailableError(f"{scope['method']} {scope['path']}", request_id)
            await error_response(error)(scope, receive, send_with_id)


def _route_keys(route: BaseRoute) -> list[tuple[str, str]]:
    if isinstance(route, Route):
        return [(route.path, method) for method in sorted(route.methods or {"GET"})]
    if isinstance(route, Mount):
        return [(route.path + "/*", "*")]
    return []


def collect_routes(gateway: Gateway, reserved: list[Route]) -> list[BaseRoute]:
    """Core's routes (``reserved``: the surfaces' model routes), then the plugins' own."""
    core: list[BaseRoute] = [
        *reserved,
        *openai_routes(gateway),
        *health_routes(gateway),
        *route_table_routes(gateway),
        *model_admin_routes(gateway),
        *docs_routes(gateway),
    ]
    owners: dict[tuple[str, str], str] = {key: "core" for route in core for key in _route_keys(route)}
    # a model route is served by the lifecycle, for the plugin whose surface claims the path
    for name, surface in gateway.surfaces.items():
        for path in surface.paths:
            owners[(path, "POST")] = gateway.surfaces.owner(name) or "core"
    plugin_routes: list[BaseRoute] = []
    for plugin, routes in call_startup_hook(gateway.pm, "gateway_register_routes", gateway=gateway):
        for route in routes or []:
            for key in _route_keys(route):
                if key in owners:
                    raise PluginError(
                        f"plugin {plugin!r} registers {key[1]} {key[0]}, which {owners[key]!r} already serves; "
                        "routes cannot be taken over"
                    )
                owners[key] = plugin
            plugin_routes.append(route)
    # pass-through routes last: a prefix route (/openai/{path}) never shadows a more specific one
    passthrough = passthrough_routes(gateway)
    for route in passthrough:
        for key in _route_keys(route):
            if key in owners:
                raise ConfigError(
                    f"general_settings.pass_through_endpoints: {key[1]} {key[0]} is already served by "
                    f"{owners[key]!r}; choose another path"
                )
    app_routes = core + plugin_routes + passthrough
    gateway.state[ROUTE_TABLE] = _route_table(app_routes, owners)
    # /openapi.json's answer, made once: the same routes, each with what it declared (gateway.http.describe)
    surfaces = {path: surface for _, surface in gateway.surfaces.items() for path in surface.paths}
    groups = sorted({deployment.model_group for deployment in gateway.deployments})
    document = openapi_document(app_routes, owners, surfaces, version=_version(), model=groups[0] if groups else None)
    gateway.state[OPENAPI_DOCUMENT] = encode_document(document)
    return app_routes


def _version() -> str:
    try:
        return version("gateway")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"


def _route_table(routes: list[BaseRoute], owners: dict[tuple[str, str], str]) -> list[dict[str, object]]:
    """``GET /routes``'s answer: each route's path, methods and the plugin serving it."""
    table: list[dict[str, object]] = []
    for route in routes:
        keys = _route_keys(route)
        if not keys:
            continue
        methods = [method for _, method in keys if method != "HEAD"]
        path = keys[0][0]
        table.append({"path": path, "methods": methods, "plugin": owners.get(keys[0], ROUTE_TABLE_CORE)})
    return table


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error: GatewayError
    missing = (
        missing_plugin_error(request.app.state.gateway, request.method, request.url.path)
        if exc.status_code == 404
        else None
    )
    if missing is not None:  # a plugin's route, and the plugin is not here
        error, envelope = missing
        body = encode_error(envelope, error)
        return Response(body, status_code=error.status, headers=error.headers, media_type="application/json")
    if exc.status_code == 404:
        error = NotFoundError(
            f"no route {request.method} {request.url.path}; model routes live under /v1/, and a path of another API "
            "is forwarded once general_settings.pass_through_endpoints names it",
            code="404",
        )
    elif exc.status_code == 405:
        error = GatewayError(
            f"{request.method} is not allowed on {request.url.path}", status=405, type="invalid_request_error"
        )
    else:
        error = GatewayError(str(exc.detail), status=exc.status_code, type="invalid_request_error")
    # a path under a vendor's pass-through prefix that its route does not match (a newline in it):
    # answered in that vendor's envelope, as the route itself answers, so its SDK reads the message
    path = request.url.path
    for vendor in VENDORS:
        if path.startswith(vendor.prefix + "/"):
            body = encode_error(vendor.format, error)
            return Response(body, status_code=error.status, headers=error.headers, media_type="application/json")
    return error_response(error)


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    if isinstance(exc, PluginFailure):
        log.error("plugin_failed", plugin=exc.plugin, hook=exc.hook, error=exc.cause)
    return error_response(exc)


async def _unhandled(request: Request, exc: Exception) -> Response:
    return error_response(internal_error(exc, request.scope.get("state", {}).get("request_id", "?")))


class GatewayApp:
    """The ASGI app: model routes go straight to their handlers, everything else to Starlette."""

    def __init__(self, starlette: Starlette, fast_routes: Mapping[str, ASGIApp], gateway: Gateway) -> None:
        self.starlette = starlette
        self.fast_routes = fast_routes
        #: literal paths first, with a plain dict's own ``get`` (in C); ``fast_routes.get`` also matches
        #: the paths with ``{name}`` segments, when there are some
        self._exact = dict(fast_routes).get
        self._templated = bool(getattr(fast_routes, "templates", None))
        self.gateway = gateway
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self._exact(scope["path"])
            if handler is None and self._templated:
                handler = self.fast_routes.get(scope["path"])
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


def create_app(gateway: Gateway) -> GatewayApp:
    """The ASGI application serving ``gateway``: run it under any ASGI server (its lifespan opens
    and closes the gateway's resources), or in process with ``gateway.testing.asgi_lifespan``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with gateway.running():
            reload_on_hangup = _reload_on_sighup(gateway)
            log.info("gateway_ready", models=len(gateway.deployments), plugins=gateway.plugin_names(), pid=os.getpid())
            try:
                yield {}
            finally:
                if reload_on_hangup:
                    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        log.info("gateway_stopped", pid=os.getpid())

    fast_routes, reserved = surface_routes(gateway)
    app = Starlette(
        routes=collect_routes(gateway, reserved),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_exception, GatewayError: _gateway_error, Exception: _unhandled},
    )
    app.state.gateway = gateway
    if gateway.access.networks is not None:  # inside RequestIdMiddleware: a refusal carries the ids too
        app.add_middleware(AllowedIPsMiddleware, policy=gateway.access)
    app.add_middleware(RequestIdMiddleware)
    return GatewayApp(app, fast_routes, gateway)


def _reload_on_sighup(gateway: Gateway) -> bool:
    """In a served process (``gateway`` / ``app_from_environment``) with a config file, ``SIGHUP``
    reloads it (``Gateway.reload_config``).  The handler runs on the event loop between requests;
    with ``--workers N`` the supervisor passes the signal on to every worker (``gateway._server``)."""
    if not gateway.reload_on_sighup or gateway.config.path is None or not hasattr(signal, "SIGHUP"):
        return False
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, gateway.reload_config)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return False
    return True


def app_from_environment() -> GatewayApp:
    """The app factory used by worker processes: the config path comes from ``GATEWAY_CONFIG``."""
    if hasattr(signal, "SIGHUP"):  # until the lifespan reloads on it, a SIGHUP must not end the worker
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    configure_logging()
    gateway = Gateway(
        os.environ.get("GATEWAY_CONFIG") or None,
        host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        allow_unauthenticated=os.environ.get("GATEWAY_ALLOW_UNAUTHENTICATED") == "1" or None,
    )
    configure_logging_from_config(gateway)
    gateway.reload_on_sighup = True
    return create_app(gateway)


def configure_logging_from_config(gateway: Gateway) -> None:
    """``json_logs`` in the file (LiteLLM's switch) wins unless GATEWAY_LOG_FORMAT says otherwise."""
    wanted = gateway.config.general_settings.json_logs
    if wanted is None:
        wanted = gateway.config.litellm_settings.json_logs
    if wanted is not None and not os.environ.get("GATEWAY_LOG_FORMAT"):
        configure_logging(json=wanted)
