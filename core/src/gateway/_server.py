"""Running the app under uvicorn (default: uvloop + httptools) or hypercorn."""

from __future__ import annotations

import math
import os
import sys

from gateway._errors import ConfigError
from gateway._logs import configure_logging


def serve(
    *,
    config: str | None,
    host: str,
    port: int,
    workers: int = 1,
    server: str = "uvicorn",
    allow_unauthenticated: bool = False,
    log_format: str | None = None,
) -> int:
    if log_format:
        os.environ["GATEWAY_LOG_FORMAT"] = log_format
    configure_logging()
    # workers build their own Gateway from these variables (process memory is never shared)
    if config:
        os.environ["GATEWAY_CONFIG"] = os.path.abspath(config)
    os.environ["GATEWAY_HOST"] = host
    if allow_unauthenticated:
        os.environ["GATEWAY_ALLOW_UNAUTHENTICATED"] = "1"

    # validate once in the parent so a bad config fails before any worker starts
    from gateway._gateway import Gateway

    gateway = Gateway(config, host=host, allow_unauthenticated=allow_unauthenticated or None)
    if workers > 1 and gateway.single_worker_reasons:
        reasons = "; ".join(f"{name}: {why}" for name, why in gateway.single_worker_reasons.items())
        raise ConfigError(f"cannot run {workers} workers: {reasons}")
    general = gateway.config.general_settings
    graceful = general.graceful_shutdown_timeout
    from gateway._startup import prepare

    sock, banner = prepare(gateway, host, port, workers)  # the database, Redis and the port, each one line
    del gateway

    if server == "hypercorn" or workers > 1:
        sock.close()  # they bind by address; the check above still caught a port in use
        print(banner, file=sys.stderr, flush=True)
    if server == "hypercorn":
        # hypercorn has one deadline for every read: the longer one, so no body is cut short
        return _hypercorn(
            host,
            port,
            workers,
            graceful,
            read_timeout=max(general.request_header_timeout, general.request_body_timeout),
        )
    import uvicorn

    from gateway.http._head_timeout import HeadTimeoutProtocol

    if workers <= 1:
        from gateway._startup import serve_one

        config = uvicorn.Config(
            "gateway._app:app_from_environment",
            factory=True,
            loop="uvloop" if sys.platform != "win32" else "asyncio",
            http=HeadTimeoutProtocol,
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=int(graceful),
            backlog=4096,
        )
        return serve_one(config, sock, banner)  # on the socket bound above
    uvicorn.run(
        "gateway._app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        # httptools, with a deadline for the request head (uvicorn has none): general_settings.request_header_timeout
        http=HeadTimeoutProtocol,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(graceful),
        backlog=4096,
    )
    return 0


def _hypercorn(host: str, port: int, workers: int, graceful: float, *, read_timeout: float) -> int:
    try:
        from hypercorn.config import Config
        from hypercorn.run import run
    except ImportError as exc:
        raise ConfigError("--server hypercorn needs hypercorn: pip install 'gateway[hypercorn]'") from exc
    cfg = Config()
    cfg.application_path = "gateway._app:app_from_environment()"
    cfg.bind = [f"{host}:{port}"]
    cfg.workers = workers
    cfg.worker_class = "uvloop"
    cfg.graceful_timeout = graceful
    cfg.read_timeout = math.ceil(read_timeout)  # whole seconds in hypercorn's config
    cfg.accesslog = None
    exit_code: int = run(cfg)  # hypercorn is untyped here (an optional extra)
    return exit_code
