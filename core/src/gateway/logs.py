"""Structured logs (structlog): JSON lines in production, readable lines in a terminal.

* ``configure_logging`` picks the format once per process: ``GATEWAY_LOG_FORMAT=json|console``,
  else ``JSON_LOGS=true`` (LiteLLM's switch), else JSON when stderr is not a terminal.
* The request id is bound in a context variable by the HTTP layer, so every line logged while
  serving a request carries it; :func:`access_line` writes the one ``request`` line per finished
  model request (from the log worker, off the request path) with the id passed explicitly.
* Secrets never reach a line: values of fields whose names say they hold one are replaced, and
  anything that looks like a bearer token or an API key inside any string value is masked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from .types import RequestContext

SECRET_FIELD_MARKERS = ("key", "secret", "password", "token", "authorization", "dsn")
#: field names that contain a marker but hold no secret
NOT_SECRET_FIELDS = frozenset({"key_hash", "key_alias", "key_name", "api_key_hash", "tokens_in", "tokens_out",
                               "total_tokens", "prompt_tokens", "completion_tokens"})
#: what a credential looks like inside free text (error messages, URLs)
SECRET_PATTERN = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"
    r"|\b(sk|pk|rk)-[A-Za-z0-9_-]{6,}"
    r"|(?<=[?&])(api[_-]?key|key|token|secret|sig)=[^&\s\"']+"
    r"|(?<=://)[^/@\s:]+:[^/@\s]+(?=@)"
)
_configured = False


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.group(1):  # keep "Bearer " so the line stays readable
        return match.group(1) + "[redacted]"
    if "=" in text and not text.startswith(("sk-", "pk-", "rk-")):
        return text.split("=", 1)[0] + "=[redacted]"
    return "[redacted]"


def scrub(text: str) -> str:
    """``text`` with anything that looks like a credential masked."""
    return SECRET_PATTERN.sub(_mask, text) if text else text


def redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last line of defence against a secret in a log line."""
    for name, value in list(event_dict.items()):
        if not isinstance(value, str):
            continue
        lowered = name.lower()
        if lowered not in NOT_SECRET_FIELDS and any(marker in lowered for marker in SECRET_FIELD_MARKERS):
            event_dict[name] = "[redacted]"
        else:
            event_dict[name] = scrub(value)
    return event_dict


def _json_wanted() -> bool:
    env = os.environ.get("GATEWAY_LOG_FORMAT")
    if env:
        return env == "json"
    flag = os.environ.get("JSON_LOGS")
    if flag is not None:
        return flag.strip().lower() in ("1", "true", "yes")
    return not sys.stderr.isatty()


def configure_logging(*, json: bool | None = None, level: str | None = None) -> None:
    """Set up structlog once per process.  ``json`` defaults to :func:`_json_wanted`."""
    global _configured
    if json is None:
        json = _json_wanted()
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


_access = get_logger("gateway.access")


def access_line(ctx: RequestContext) -> None:
    """The one ``request`` line for a finished model request (called off the request path)."""
    principal = ctx.principal
    usage = ctx.usage
    deployment = ctx.deployment
    end = ctx.finished or ctx.started
    error = ctx.error
    _access.info(
        "request",
        request_id=ctx.request_id,
        endpoint=ctx.endpoint,
        model=ctx.requested_model,
        model_group=ctx.model_group or None,
        deployment_id=deployment.id if deployment else None,
        provider=deployment.provider if deployment else None,
        status=ctx.status,
        stream=ctx.stream,
        latency_ms=round((end - ctx.started) * 1000, 2),
        ttft_ms=round((ctx.first_token_at - ctx.started) * 1000, 2) if ctx.first_token_at else None,
        tokens_in=usage.prompt_tokens if usage else None,
        tokens_out=usage.completion_tokens if usage else None,
        cost=None if ctx.cost is None else str(ctx.cost),
        caller=(principal.key_alias or principal.id) if principal else None,
        team=principal.team_alias or principal.team_id if principal else None,
        retries=len(ctx.attempts) or None,
        fallbacks=ctx.fallbacks_used or None,
        error=type(error).__name__ if error else None,
    )
