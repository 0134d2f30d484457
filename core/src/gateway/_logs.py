"""Structured logs (structlog): JSON lines in production, readable lines in a terminal.

* ``configure_logging`` picks the format once per process: ``GATEWAY_LOG_FORMAT=json|console``,
  else ``JSON_LOGS=true`` (LiteLLM's switch), else JSON when stderr is not a terminal.
* The request id is bound in a context variable by the HTTP layer, so every line logged while
  serving a request carries it; :func:`access_line` writes the one ``request`` line per finished
  model request (called by the pipeline once the client has its answer; the lines are written
  in batches) with the id passed explicitly.
* Secrets never reach a line: values of fields whose names say they hold one are replaced, and
  anything that looks like a bearer token or an API key inside any string value is masked.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, cast

import orjson
import structlog

if TYPE_CHECKING:
    from structlog.typing import EventDict

    from gateway._types import RequestContext

SECRET_FIELD_MARKERS = ("key", "secret", "password", "token", "authorization", "dsn")
#: field names that contain a marker but hold no secret
NOT_SECRET_FIELDS = frozenset(
    {
        "key_hash",
        "key_alias",
        "key_name",
        "api_key_hash",
        "tokens_in",
        "tokens_out",
        "total_tokens",
        "prompt_tokens",
        "completion_tokens",
    }
)
#: what a credential looks like inside free text (error messages, URLs)
SECRET_PATTERN = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"
    r"|\b(sk|pk|rk)-[A-Za-z0-9_-]{6,}"
    r"|(?<=[?&])(api[_-]?key|key|token|secret|sig)=[^&\s\"']+"
    r"|(?<=://)[^/@\s:]+:[^/@\s]+(?=@)"
)
#: the id of the request being served, added to every log line written while serving it
request_id_var: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)
_configured = False
_json_format = True
_access_enabled = True


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


def bind_request_id(request_id: str) -> None:
    """Tag every line logged from here on in this task with ``request_id`` (one ContextVar set:
    cheaper than structlog's ``bind_contextvars`` on the hot path)."""
    request_id_var.set(request_id)


def add_request_id(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the bound request id, unless the line names one itself."""
    if "request_id" not in event_dict:
        request_id = request_id_var.get()
        if request_id is not None:
            event_dict["request_id"] = request_id
    return event_dict


def redact(_: Any, __: str, event_dict: EventDict) -> EventDict:
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
    global _configured, _json_format, _access_enabled
    if json is None:
        json = _json_wanted()
    level_name = (level or os.environ.get("GATEWAY_LOG_LEVEL") or os.environ.get("LITELLM_LOG") or "INFO").upper()
    _json_format = json
    _access_enabled = getattr(logging, level_name, logging.INFO) <= logging.INFO
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level_name, logging.INFO)),
        # structlog asks for a TextIO but only writes and flushes: _CurrentStderr does both
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at write time (test runners swap it), not the one at start-up."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


#: fields the console format prints before the key=value pairs
_CONSOLE_PREFIX = frozenset({"event", "level", "timestamp"})
#: fields listeners get under another name (``log_level``) or not at all, as structlog's lines
_NOT_FOR_LISTENERS = frozenset({"level", "timestamp"})


class AccessLog:
    """Access lines are rendered with orjson and written in batches: one write per ``interval``.

    At thousands of requests a second, one structlog call and one ``write`` per request cost a
    fifth of the gateway's throughput and, run back to back by the log worker, stalled the event
    loop (p99 of 100+ ms in ``bench/run.sh``).  The fields are fixed and hold no secret.
    """

    def __init__(self, interval: float = 0.1, max_pending: int = 2000) -> None:
        self.interval = interval
        self.max_pending = max_pending
        self._pending: list[bytes] = []
        self._scheduled = False
        #: callables that receive every line as a dict (the test fixture ``server_logs`` uses this)
        self.listeners: list[Any] = []
        atexit.register(self.flush)

    def write(self, line: dict[str, Any]) -> None:
        """Queue one line: ``{"event", "level", "timestamp" (an aware datetime), fields...}``."""
        for listener in self.listeners:
            listener({"log_level": line["level"], **{k: v for k, v in line.items() if k not in _NOT_FOR_LISTENERS}})
        if _json_format:
            line_bytes = orjson.dumps(line)  # orjson writes the datetime in ISO 8601 itself
        else:
            pairs = " ".join(f"{k}={v}" for k, v in line.items() if v is not None and k not in _CONSOLE_PREFIX)
            line_bytes = f"{line['timestamp'].isoformat()} [{line['level']:<9}] {line['event']} {pairs}".encode()
        self._pending.append(line_bytes)
        if len(self._pending) >= self.max_pending:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(self.interval, self.flush)
                self._scheduled = True
            except RuntimeError:  # no event loop: write now
                self.flush()

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = b"\n".join(self._pending) + b"\n"
        self._pending = []
        stream = sys.stderr
        binary = getattr(stream, "buffer", None)
        try:
            if binary is not None:  # the bytes as they are: no decoding and re-encoding of every batch
                stream.flush()  # lines structlog wrote through the text layer go first
                binary.write(data)
                binary.flush()
            else:
                stream.write(data.decode())
                stream.flush()
        except (OSError, ValueError):  # stderr closed at interpreter exit
            pass


access_log = AccessLog()


def access_line(ctx: RequestContext) -> None:
    """The one ``request`` line for a finished model request (called once the client has its answer)."""
    if not _access_enabled:
        return
    principal = ctx.principal
    usage = ctx.usage
    deployment = ctx.deployment
    end = ctx.finished or ctx.started
    error = ctx.error
    access_log.write(
        {
            "event": "request",
            "level": "info",
            # when the request finished, from its start and the measured latency (one clock, both figures agree)
            "timestamp": datetime.fromtimestamp(ctx.start_time + (end - ctx.started), UTC),
            "request_id": ctx.request_id,
            "client_request_id": ctx.client_request_id,
            "endpoint": ctx.endpoint,
            "model": ctx.requested_model,
            "model_group": ctx.model_group or None,
            "deployment_id": deployment.id if deployment else None,
            "provider": deployment.provider if deployment else None,
            "status": ctx.status,
            "stream": ctx.stream,
            "latency_ms": int((end - ctx.started) * 100_000 + 0.5) / 100,  # round(x, 2), without its string round trip
            "ttft_ms": int((ctx.first_token_at - ctx.started) * 100_000 + 0.5) / 100 if ctx.first_token_at else None,
            "tokens_in": usage.prompt_tokens if usage else None,
            "tokens_out": usage.completion_tokens if usage else None,
            "cost": None if ctx.cost is None else str(ctx.cost),
            "caller": (principal.key_alias or principal.id) if principal else None,
            "team": principal.team_alias or principal.team_id if principal else None,
            "retries": len(ctx.attempts) or None,
            # why each retry was made, or why retrying stopped (gateway._retry_classifier)
            "retried_because": "; ".join(ctx.annotations.get("retry_reasons") or ()) or None,
            "fallbacks": ctx.fallbacks_used or None,
            "error": type(error).__name__ if error else None,
        }
    )
