"""Running the app under uvicorn (default: uvloop + httptools) or hypercorn."""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from gateway._errors import ConfigError
from gateway._logs import configure_logging
from gateway.http._models_admin import SUPERVISOR_PID


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

    if server == "hypercorn":
        sock.close()  # hypercorn binds by address; the check above still caught a port in use
    if server == "hypercorn" or workers > 1:
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

    from gateway._startup import uvicorn_log_config
    from gateway.http._head_timeout import HeadTimeoutProtocol

    options: dict[str, Any] = dict(
        factory=True,
        host=host,
        port=port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        # httptools, with a deadline for the request head (uvicorn has none): general_settings.request_header_timeout
        http=HeadTimeoutProtocol,
        lifespan="on",
        access_log=False,
        log_config=uvicorn_log_config(),  # a failed start-up of the app (or a worker's) in one line
        log_level="warning",
        timeout_graceful_shutdown=int(graceful),
        backlog=4096,
    )
    if workers <= 1:  # one process: its own lifespan reloads the config on SIGHUP
        from gateway._startup import serve_one

        del options["host"], options["port"]  # served on the socket bound above
        return serve_one(uvicorn.Config("gateway._app:app_from_environment", **options), sock, banner)
    return _supervise(uvicorn.Config("gateway._app:app_from_environment", workers=workers, **options), sock)


def _supervise(config: Any, sock: Any) -> int:
    """uvicorn's worker supervisor, except for ``SIGHUP``: uvicorn replaces every worker on it (a
    new process per worker, reading the file from scratch); here each worker reloads the config
    file in place (``Gateway.reload_config``), so nothing in flight is cut and a broken file
    leaves every worker serving the config it has.  ``sock`` is the socket bound before the
    banner; 2 when a worker failed to start (it said why), as with one process."""
    import signal

    from uvicorn.supervisors import Multiprocess

    class ReloadingSupervisor(Multiprocess):
        def handle_hup(self) -> None:
            for process in self.processes:
                if process.pid is not None:
                    try:
                        os.kill(process.pid, signal.SIGHUP)
                    except OSError:  # the worker just died: the supervisor replaces it with a fresh one
                        pass

    os.environ[SUPERVISOR_PID] = str(os.getpid())  # a worker's POST /config/reload signals this process
    from uvicorn.config import STARTUP_FAILURE

    supervisor = ReloadingSupervisor(config, sockets=[sock])
    supervisor.run()
    return 2 if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes) else 0


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
