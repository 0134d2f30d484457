"""Durations as LiteLLM writes them (``30s``, ``15m``, ``24h``, ``7d``, ``2w``, ``1mo``) and the
time windows they make.

One parser for every duration a config file or an admin call carries (``budget_duration``, a
key's ``duration``, ``grace_period`` ...), so that every plugin reads ``1mo`` the same way.  The
units are LiteLLM's: ``s`` seconds, ``m`` minutes (never months), ``h`` hours, ``d`` days, ``w``
weeks and ``mo`` calendar months.  ``N`` months after a moment is the same day of the month ``N``
months later at the same time of day, or the last day of that month when it is shorter: one month
after 31 January is 28 February (29 in a leap year); one month after 15 December is 15 January.

A *window* is one period of a repeating duration, such as a budget that resets every ``1mo``.
Windows are counted from an anchor: window ``k`` starts ``k`` durations after it.  Months are
added to the anchor, never chained from one window to the next, so windows anchored on 31 January
start on 28 February, then 31 March, and never drift to the 28th.  Without an anchor windows follow
the UTC calendar, the same on every host: seconds, minutes, hours and days count from the Unix
epoch (``1d`` starts at midnight UTC, ``1h`` on the hour), weeks from a Monday (1970-01-05), months
from 1 January 1970 (``1mo`` starts on the 1st of every month, ``3mo`` on 1 January, 1 April ...).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_DURATION",
    "MAX_DURATION_CHARS",
    "MAX_DURATION_TEXT",
    "MAX_MONTHS",
    "Duration",
    "DurationError",
    "add_months",
    "parse_duration",
]

#: seconds per fixed-length unit; ``mo`` has no fixed length
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_PATTERN = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w)\s*$")
_FORMS = "a whole number above 0 and a unit: 30s, 15m (minutes), 24h, 7d, 2w or 1mo (calendar months)"
#: the longest duration accepted: longer ones run off the calendar (Python's ends in year 9999)
#: and mean "forever", which is written as no duration at all
MAX_DURATION = timedelta(days=36_500)
MAX_MONTHS = 1_200
MAX_DURATION_TEXT = "100 years (36500d or 1200mo)"
#: what a ``budget_duration`` column holds
MAX_DURATION_CHARS = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: 1970-01-05 was a Monday: weeks start on Mondays
_FIRST_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)


class DurationError(ValueError):
    """Not a duration, or a longer one than accepted: ``"<field> <reason>"``, the reason saying what
    is accepted.  ``field`` and ``reason`` are kept apart for callers that name the field their way."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration: ``count`` times ``unit`` (``s``, ``m``, ``h``, ``d``, ``w`` or ``mo``)."""

    count: int
    unit: str
    #: as written, without surrounding blanks (``"1mo"``)
    text: str

    @property
    def seconds(self) -> int | None:
        """The length in seconds; None for months, whose length depends on where they start."""
        return None if self.unit == "mo" else self.count * _SECONDS[self.unit]

    def after(self, start: datetime, times: int = 1) -> datetime:
        """The moment ``times`` durations after ``start`` (before it when ``times`` is negative)."""
        if self.unit == "mo":
            return add_months(start, self.count * times)
        return start + timedelta(seconds=self.count * _SECONDS[self.unit] * times)

    def window(self, now: datetime, anchor: datetime | None = None) -> tuple[datetime, datetime]:
        """Start and end of the window that holds ``now`` (the end is the next window's start)."""
        start, end = self.window_starts(now, anchor)
        return start, end

    def window_starts(
        self, now: datetime, anchor: datetime | None = None, *, previous: int = 0, following: int = 1
    ) -> list[datetime]:
        """Consecutive window starts around ``now``: ``previous`` earlier ones, the start of the
        window holding ``now``, and ``following`` later ones (the first of them ends that window).

        ``anchor`` is where window 0 starts; None follows the UTC calendar (see the module docstring).
        """
        now = _aware(now)
        if anchor is None:
            anchor = _FIRST_MONDAY if self.unit == "w" else _EPOCH
        anchor = _aware(anchor)
        if self.unit == "mo":
            local = now.astimezone(anchor.tzinfo)
            index = _months_between(anchor, local) // self.count
            if self.after(anchor, index) > now:  # earlier in its month than the anchor is in its own
                index -= 1
        else:
            index = (now - anchor) // timedelta(seconds=self.count * _SECONDS[self.unit])
        return [self.after(anchor, index + step) for step in range(-previous, following + 1)]

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str, field: str = "duration") -> Duration:
    """``"30d"`` -> :class:`Duration`; anything else raises :class:`DurationError` naming ``field``.

    Accepted: a whole number above 0 and one of the units, blanks around them allowed, at most
    :data:`MAX_DURATION_CHARS` characters and :data:`MAX_DURATION_TEXT`.
    """
    if not isinstance(text, str):
        raise DurationError(field, f"must be text such as '30d': {_FORMS}")
    if len(text) > MAX_DURATION_CHARS:
        raise DurationError(field, f"has at most {MAX_DURATION_CHARS} characters: {_FORMS}")
    match = _PATTERN.match(text)
    if match is None or int(match.group(1)) == 0:
        raise DurationError(field, f"{text!r} is not a duration; write {_FORMS}")
    count, unit = int(match.group(1)), match.group(2)
    too_long = count > MAX_MONTHS if unit == "mo" else timedelta(seconds=count * _SECONDS[unit]) > MAX_DURATION
    if too_long:
        raise DurationError(field, f"{text!r} is longer than {MAX_DURATION_TEXT}, the longest accepted")
    return Duration(count, unit, text.strip())


def add_months(moment: datetime, months: int) -> datetime:
    """The same day of the month ``months`` later (earlier when negative), at the same time of day;
    the month's last day when it is shorter (31 January + 1 month = 28 or 29 February)."""
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _months_between(start: datetime, end: datetime) -> int:
    """Calendar months from ``start``'s month to ``end``'s (days ignored)."""
    return (end.year - start.year) * 12 + end.month - start.month


def _aware(moment: datetime) -> datetime:
    # a moment without a zone is UTC, as everywhere in the gateway
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
