"""What ``gateway`` checks before it serves, and the banner it prints once it listens.

The parent process checks what an operator most often gets wrong, so each is one line naming the
cause and the fix (``gateway._cli`` prints it, exit status 2) instead of a traceback after a line
saying the gateway is ready: the config (loaded and validated by ``Gateway``), the database and
Redis it names (reached once), and the port (bound here and handed to the server, so the URL the
banner shows is one that listens).
"""

from __future__ import annotations

import asyncio
import copy
import errno
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

import uvicorn

from gateway._banner import banner, print_banner, redis_line
from gateway._errors import ConfigError
from gateway._hooks import ordered_impls

if TYPE_CHECKING:
    from gateway._gateway import Gateway

#: seconds the start-up checks wait for the database and Redis
PREFLIGHT_TIMEOUT = 5.0


def prepare(gateway: Gateway, host: str, port: int, workers: int) -> tuple[socket.socket, str]:
    """Reach the database and Redis, bind the port; the bound socket and the banner's text."""
    asyncio.run(preflight(gateway))
    sock = bind(host, port)
    from gateway._app import create_app

    try:
        create_app(gateway)  # the surfaces and routes whose plugins the banner lists (no I/O)
        text = banner(gateway, url=url_of(host, port), workers=workers, config=os.environ.get("GATEWAY_CONFIG"))
    except BaseException:
        sock.close()
        raise
    return sock, text


def url_of(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says the gateway is up; a port in use is one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is already in use (another gateway?); stop that process or pass --port N"
            ) from None
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); pass another --host or --port") from None
    sock.set_inheritable(True)
    return sock


async def preflight(gateway: Gateway) -> None:
    """Reach the database and Redis the config names once, so a wrong URL or a stopped server is a
    one-line start-up error instead of a traceback from every worker (or, for Redis, a gateway that
    serves while sharing nothing with the other workers and instances)."""
    await _check_database(gateway)
    await _check_redis(gateway)


async def _check_database(gateway: Gateway) -> None:
    if not ordered_impls(gateway.pm, "gateway_register_migrations"):
        return  # no installed plugin keeps data: nothing opens a database
    from gateway.storage._engine import database_url, safe_url

    url = database_url(gateway.config)
    if url.startswith("sqlite"):
        return  # a local file, created on first start
    try:
        import asyncpg  # type: ignore[import-untyped]  # untyped; installed with gateway[sql]
    except ImportError:  # pragma: no cover - gateway.storage names the missing extra when a plugin opens it
        return
    shown = safe_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(
            url.replace("postgresql+asyncpg://", "postgresql://", 1), timeout=PREFLIGHT_TIMEOUT
        )
    except Exception as exc:  # refused, unknown host, bad password, no such database, timeout ...
        reason = str(exc).splitlines()[0] if str(exc) else "no answer"
        raise ConfigError(
            f"cannot reach the database {shown} ({type(exc).__name__}: {reason}); start PostgreSQL "
            "or fix DATABASE_URL / general_settings.database_url"
        ) from None
    await conn.close()


async def _check_redis(gateway: Gateway) -> None:
    from gateway._strategies.redis_state import redis_location

    location = redis_location(gateway.config.router_settings)
    if location is None:
        return
    try:
        import redis.asyncio as aioredis
    except ImportError:  # pragma: no cover - the router says what to install when it needs Redis
        return
    url, password = location
    client = aioredis.Redis.from_url(url, password=password, socket_connect_timeout=PREFLIGHT_TIMEOUT)
    try:
        await asyncio.wait_for(client.ping(), PREFLIGHT_TIMEOUT)
    except Exception as exc:
        reason = str(exc) or "no answer"
        raise ConfigError(
            f"cannot reach Redis at {redis_line(gateway)} ({type(exc).__name__}: {reason}); start Redis, fix "
            "REDIS_URL / router_settings.redis_url, or unset it to keep routing state per worker"
        ) from None
    finally:
        await client.aclose()


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging set-up with :class:`StartupFailedFilter` on its error logger: passed as
    ``log_config``, so every worker process (``--workers N``) applies it too."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["startup_failed"] = {"()": "gateway._startup.StartupFailedFilter"}
    config["loggers"].setdefault("uvicorn.error", {"level": "INFO"})["filters"] = ["startup_failed"]
    return config


class StartupFailedFilter(logging.Filter):
    """A failure of the app's start-up (a plugin's lifespan: a database migration, a SQLite file
    that cannot be created ...) as one line: uvicorn logs the traceback Starlette hands it, then
    "Application startup failed. Exiting."; the operator gets the traceback's last line (the
    error, which names the fix) and nothing after it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message == "Application startup failed. Exiting." or message.endswith(
            "failed to start, stopping the parent process."  # --workers N: a worker said why already
        ):
            return False
        if message.startswith("Traceback (most recent call last)"):
            last = message.strip().splitlines()[-1]  # "module.ErrorType: what went wrong"
            kind, _, text = last.partition(": ")
            record.msg = text if kind.endswith(("ConfigError", "PluginError", "MigrationError")) and text else last
            record.args = ()
        return True


class BannerServer(uvicorn.Server):
    """uvicorn's server on the socket bound by :func:`bind`, printing the banner once the app has
    started and the socket listens."""

    def __init__(self, config: uvicorn.Config, text: str) -> None:
        super().__init__(config)
        self.text = text

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            print_banner(self.text)


def serve_one(config: uvicorn.Config, sock: socket.socket, text: str) -> int:
    """Serve in this process; 2 when the app failed to start (its lifespan said why, in one line
    when ``config`` has :func:`uvicorn_log_config`)."""
    server = BannerServer(config, text)
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's exit when the app's lifespan failed to start
        return 2
    return 0 if server.started else 2
