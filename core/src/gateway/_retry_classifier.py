"""Which upstream errors are worth another attempt (``router_settings.retry_classifier``, issue 24).

The retry loop asks :func:`verdict` about each failed attempt.  Beyond the error kinds
(``retry_policy``), two things decide:

* the configured patterns, matched against the upstream's error message: ``never`` (a problem of
  the request, such as a local server refusing list content) and ``always`` (a 400 that is
  transient, such as Ollama's "model is loading");
* a 500 whose message is the same as the one the same deployment gave on its previous attempt: a
  deterministic problem of the request, not of the server (``can only concatenate str (not "list")
  to str``), so it stops after that one retry (unless ``retry_policy`` sets the kind's retries).

Each decision comes with a short reason, which the access line shows (``retried_because``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from gateway._errors import GatewayError, UpstreamError

if TYPE_CHECKING:
    from gateway._config.schema import RetryClassifier

#: ``ctx.annotations`` key: why each retry was made, or why retrying stopped (the access line's ``retried_because``)
RETRY_REASONS = "retry_reasons"


@lru_cache(maxsize=8)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    # one alternation per list, compiled once per process (errors are rare; the cache makes them cheap)
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


def _matches(patterns: list[str], message: str) -> bool:
    compiled = _compiled(tuple(patterns))
    return compiled is not None and compiled.search(message) is not None


def verdict(
    settings: RetryClassifier, error: GatewayError, kind: str, previous: GatewayError | None
) -> tuple[bool | None, str]:
    """``(retry, why)``: False never retry, True retry whatever the kind, None as the kind says.

    ``previous`` is the error the same deployment gave on its previous attempt (None: there was none).
    """
    status = getattr(error, "upstream_status", None)
    label = f"{kind} ({status})" if status is not None else kind
    if settings.never and _matches(settings.never, error.message):
        return False, f"{label} matches retry_classifier.never"
    if settings.always and _matches(settings.always, error.message):
        return True, f"{label} matches retry_classifier.always"
    if (
        settings.stop_on_repeated_error
        and isinstance(previous, UpstreamError)
        and status == 500  # 502, 503, 504 say the server is busy or away: those pass
        and previous.upstream_status == status
        and previous.message == error.message
    ):
        return False, f"{label} repeated: the same error on two attempts is the request's problem"
    return None, label
