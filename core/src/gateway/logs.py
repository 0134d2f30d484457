"""Structured logs (structlog): JSON lines in production, readable lines in a terminal.

The request id is bound in a context variable, so every line logged while serving a request
carries it.  Secrets are never passed to the logger; ``redact`` is a last line of defence for
fields whose names say they hold one.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

SECRET_FIELD_MARKERS = ("key", "secret", "password", "token", "authorization", "dsn")
_configured = False


def redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for name in list(event_dict):
        lowered = name.lower()
        if lowered in ("key_hash", "key_alias", "key_name", "api_key_hash"):
            continue
        if any(marker in lowered for marker in SECRET_FIELD_MARKERS) and isinstance(event_dict[name], str):
            event_dict[name] = "[redacted]"
    return event_dict


def configure_logging(*, json: bool | None = None, level: str | None = None) -> None:
    """Set up structlog once per process.  ``json`` defaults to "stderr is not a terminal"."""
    global _configured
    if json is None:
        env = os.environ.get("GATEWAY_LOG_FORMAT")
        json = (env == "json") if env else not sys.stderr.isatty()
    level_name = (level or os.environ.get("GATEWAY_LOG_LEVEL") or os.environ.get("LITELLM_LOG") or "INFO").upper()
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level_name, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
