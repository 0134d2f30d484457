"""The UI's routes: its page and assets, login/logout/session, and ``/ui/api/``, the same-origin
proxy through which the page calls the gateway's public admin API with the session's key.

Security, in one place:

- the session cookie is HttpOnly, SameSite=Strict, path ``/ui``, Secure when the request came
  over TLS (or ``X-Forwarded-Proto: https``); the key stays server-side, sealed in ``ui_sessions``;
- every state-changing call (login, logout, a non-GET through the proxy) needs an ``Origin``
  naming this host; logout and the proxy also need ``X-CSRF-Token`` equal to the session's token
  (which only the page's own scripts can read, from ``/ui/session``);
- every answer carries a Content-Security-Policy allowing this origin only and no inline script;
- the proxy reaches only the admin API's paths (``API_PATHS``) and calls them through the whole
  app, so the API decides what the key may see and do, exactly as for any other client.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import (
    AuthenticationError,
    BadRequestError,
    Gateway,
    GatewayError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from gateway.durations import parse_duration
from gateway.http import authenticate_request, error_response, json_response

from .sessions import Session, SessionStore
from .settings import AdminUISettings

COOKIE = "gateway_ui_session"
CSRF_HEADER = "x-csrf-token"
MAX_BODY = 1 << 20
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
#: the admin API the proxy reaches: an exact path, or a prefix when it ends in "/"
API_PATHS = (
    "key/",
    "team/",
    "user/",
    "organization/",
    "customer/",
    "end_user/",
    "budget/",
    "tag/",
    "model/",
    "model_group/info",
    "v1/model/info",
    "v1/models",
    "spend/",
    "global/spend/",
    "health",
    "health/",
    "routes",
)
#: answer headers the proxy passes on to the page
PASSED_HEADERS = (b"content-type", b"content-disposition", b"x-total-count", b"x-request-id", b"retry-after")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml"}  # fmt: skip


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """Every file under ``static/``, read once when the routes are built (the page is small)."""
    found: dict[str, tuple[bytes, str]] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            else:
                suffix = "." + entry.name.rsplit(".", 1)[-1]
                if suffix in TYPES:
                    found[prefix + entry.name] = (entry.read_bytes(), TYPES[suffix])

    walk(resources.files("gateway_admin_ui") / "static", "")
    return found


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _same_origin(request: Request) -> bool:
    """The request's ``Origin`` names the host it was sent to (browsers send it on every POST)."""
    origin = request.headers.get("origin")
    host = request.headers.get("x-forwarded-host") or request.headers.get("host")
    if not origin or not host or origin == "null":
        return False
    return hmac.compare_digest(urlsplit(origin).netloc.lower(), host.split(",")[0].strip().lower())


def _answer(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _error(error: GatewayError) -> Response:
    return _answer(error_response(error))


def _not_logged_in() -> Response:
    return _error(
        AuthenticationError(
            "not logged in, or the session ended (logged out, expired, or the cookie is not one the gateway "
            "issued): log in again at /ui/",
            code="401",
        )
    )


def _csrf_refused(detail: str) -> Response:
    return _error(PermissionDeniedError(f"refused as cross-site (CSRF): {detail}", code="403"))


def _api_allowed(path: str) -> bool:
    if not path or ".." in path.split("/") or "//" in path or "\\" in path:
        return False
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in API_PATHS)


async def _call_api(
    app: Any, request: Request, path: str, body: bytes, api_key: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One call of the gateway's own ASGI app, as a client holding ``api_key`` would make it."""
    headers = [(b"authorization", b"Bearer " + api_key.encode("latin-1"))]
    for name in (b"content-type", b"accept"):
        value = request.headers.get(name.decode())
        if value is not None:
            headers.append((name, value.encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": request.scope.get("asgi", {"version": "3.0"}),
        "http_version": request.scope.get("http_version", "1.1"),
        "method": request.method,
        "scheme": request.url.scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": request.scope.get("query_string", b""),
        "root_path": "",
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "state": {},
    }
    answered = asyncio.Event()
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()  # the "client" stays until the answer is complete
        return {"type": "http.disconnect"}

    status = 500
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    # a task of its own: the inner request binds its own request id in its copy of the context
    await asyncio.create_task(app(scope, receive, send))
    answered.set()
    return status, out_headers, b"".join(chunks)


def ui_routes(gateway: Gateway, store: Callable[[], SessionStore | None]) -> list[Route]:
    assets = _load_assets()
    index_html = assets["index.html"][0]
    settings = gateway.plugin_config("admin_ui") or AdminUISettings()
    ttl = parse_duration(settings.session_ttl, "plugins.admin_ui.session_ttl")

    def sessions() -> SessionStore:
        found = store()
        if found is None:
            raise ServiceUnavailableError("the admin UI's session store is not open yet; retry in a moment")
        return found

    async def current(request: Request) -> Session | None:
        secret = request.cookies.get(COOKIE)
        return await sessions().get(secret) if secret else None

    async def index(request: Request) -> Response:
        return _answer(Response(index_html, media_type=TYPES[".html"]))

    async def bare(request: Request) -> Response:
        return _answer(RedirectResponse("/ui/", status_code=308))

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["asset"])
        if found is None or found[1] == TYPES[".html"]:
            return _error(NotFoundError(f"no UI asset {request.path_params['asset']!r}", code="404"))
        response = Response(found[0], media_type=found[1])
        _answer(response)
        response.headers["cache-control"] = "no-cache"
        return response

    async def login(request: Request) -> Response:
        if not _same_origin(request):
            return _csrf_refused("log in from the UI's own page (/ui/): the Origin header must name this host")
        body = await request.body()
        try:
            data = orjson.loads(body) if len(body) <= MAX_BODY else None
        except orjson.JSONDecodeError:
            data = None
        key = data.get("key") if isinstance(data, dict) else None
        if not isinstance(key, str) or not key.strip() or len(key) > 1024 or not key.isprintable():
            return _error(
                BadRequestError(
                    'send {"key": "<the master key or a virtual key>"} as JSON; the key is required', param="key"
                )
            )
        key = key.strip()
        if not key.isascii():
            return _error(AuthenticationError("invalid key: the key is not one this gateway issued", code="401"))
        probe = Request({**request.scope, "headers": [(b"authorization", b"Bearer " + key.encode())]})
        try:
            principal = await authenticate_request(probe, gateway)
        except GatewayError as exc:
            return _error(exc)
        if principal.kind == "anonymous":
            return _error(
                AuthenticationError(
                    "this gateway has no master key and no virtual keys, so there is nothing to log in with: "
                    "set general_settings.master_key",
                    code="401",
                )
            )
        identity = {
            "role": "proxy_admin" if principal.is_admin else str(principal.extra.get("user_role") or "internal_user"),
            "user_id": principal.user_id,
            "team_id": principal.team_id,
            "team_alias": principal.team_alias,
            "key_alias": principal.key_alias,
            "master_key": principal.kind == "master",
        }
        expires = ttl.after(datetime.now(UTC))
        secret, csrf = await sessions().create(key, identity, expires)
        response = _answer(json_response({**identity, "csrf_token": csrf, "expires_at": expires.isoformat()}))
        response.set_cookie(
            COOKIE,
            secret,
            max_age=max(1, int((expires - datetime.now(UTC)).total_seconds())),
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )
        return response

    async def logout(request: Request) -> Response:
        if not _same_origin(request):  # another site may not log the user out either
            return _csrf_refused("log out from the UI's own page (/ui/): the Origin header must name this host")
        session = await current(request)
        if session is not None:
            refused = _check_csrf(request, session)
            if refused is not None:
                return refused
            await sessions().delete(request.cookies[COOKIE])
        response = _answer(json_response({"logged_out": True}))
        response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict", secure=_secure(request))
        return response

    async def whoami(request: Request) -> Response:
        session = await current(request)
        if session is None:
            return _not_logged_in()
        return _answer(
            json_response(
                {**session.identity, "csrf_token": session.csrf_token, "expires_at": session.expires_at.isoformat()}
            )
        )

    async def api(request: Request) -> Response:
        session = await current(request)
        if session is None:
            return _not_logged_in()
        if request.method not in ("GET", "HEAD"):
            refused = _check_csrf(request, session)
            if refused is not None:
                return refused
        path = request.path_params["path"]
        if not _api_allowed(path):
            return _error(
                NotFoundError(
                    f"/ui/api/ reaches the admin API only (/key/, /team/, /user/, /spend/ ...), not /{path}",
                    code="404",
                )
            )
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(GatewayError("the body is larger than 1 MiB", status=413, type="invalid_request_error"))
        status, headers, content = await _call_api(request.scope["app"], request, "/" + path, body, session.api_key)
        response = Response(content, status_code=status)
        for name, value in headers:
            if name.lower() in PASSED_HEADERS:
                response.headers[name.decode("latin-1")] = value.decode("latin-1")
        return _answer(response)

    return [
        Route("/ui", bare, methods=["GET"]),
        Route("/ui/", index, methods=["GET"]),
        Route("/ui/assets/{asset:path}", asset, methods=["GET"]),
        Route("/ui/login", login, methods=["POST"]),
        Route("/ui/logout", logout, methods=["POST"]),
        Route("/ui/session", whoami, methods=["GET"]),
        Route("/ui/api/{path:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]


def _check_csrf(request: Request, session: Session) -> Response | None:
    if not _same_origin(request):
        return _csrf_refused("the Origin header must name this host")
    token = request.headers.get(CSRF_HEADER, "")
    if not token or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        return _csrf_refused(f"the {CSRF_HEADER} header must carry the session's token (from GET /ui/session)")
    return None
