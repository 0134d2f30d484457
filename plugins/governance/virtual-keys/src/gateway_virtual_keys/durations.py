"""LiteLLM durations: ``30s``, ``30m``, ``24h``, ``30d``, ``2w``, ``1mo``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}
HELP = "a number followed by s, m, h, d, w or mo (for example '30d', '24h', '1mo')"
#: the longest duration (and the furthest expiry) accepted: longer ones overflow the calendar
#: somewhere (Python's datetime ends in year 9999) and mean "forever", which is ``null``
MAX_DURATION = timedelta(days=36_500)
MAX_DURATION_TEXT = "100 years (36500d)"
#: the ``budget_duration`` columns hold 16 characters
MAX_DURATION_CHARS = 16


def parse_duration(value: str) -> timedelta:
    """The length of a duration; ``ValueError`` (with the accepted forms and limits) when it is not one."""
    if len(value) > MAX_DURATION_CHARS:
        raise ValueError(f"a duration has at most {MAX_DURATION_CHARS} characters; use {HELP}")
    match = _DURATION.match(value)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration; use {HELP}")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than {MAX_DURATION_TEXT}, the longest accepted")
    return timedelta(seconds=seconds)


def utcnow() -> datetime:
    return datetime.now(UTC)


def expiry_from_duration(duration: str | None) -> datetime | None:
    return None if duration is None else utcnow() + parse_duration(duration)
