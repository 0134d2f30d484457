"""Budget windows: ``budget_duration`` strings and the boundaries of each window.

A budget resets exactly at a window boundary, computed from the clock: the counter of a window
is a different key from the next window's, so nothing has to run at reset time and nothing can be
late.  Windows of seconds, minutes, hours, days and weeks are whole multiples of the duration,
counted from the scope's own start (``BudgetScope.budget_started_at``) or, without one, from
the UTC epoch (so ``1d`` resets at midnight UTC, ``1h`` on the hour).  Months are calendar
months starting on the 1st at midnight UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w|mo)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: 1970-01-05 was a Monday: weekly windows start on Mondays
_WEEK_ORIGIN = 4 * 86400


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed ``budget_duration``: ``count`` units of ``unit``."""

    count: int
    unit: str
    text: str

    @property
    def seconds(self) -> int | None:
        """Length in seconds, or None for calendar months."""
        return None if self.unit == "mo" else self.count * _SECONDS[self.unit]

    def window_start(self, now: float, anchor: float | None = None) -> float:
        """Start (epoch seconds) of the window that contains ``now``."""
        if self.unit == "mo":
            return _month_window_start(now, self.count)
        length = self.count * _SECONDS[self.unit]
        origin = anchor if anchor is not None else (_WEEK_ORIGIN if self.unit == "w" else 0.0)
        return origin + ((now - origin) // length) * length

    def next_start(self, start: float) -> float:
        """Start of the window after the one starting at ``start``."""
        if self.unit == "mo":
            return _add_months(start, self.count)
        return start + self.count * _SECONDS[self.unit]

    def boundaries(self, now: float, anchor: float | None = None) -> list[float]:
        """Four consecutive window starts around ``now``: previous, current, next, the one after.

        The Redis script picks the window by the Redis server's clock among these, so instances
        whose clocks disagree by less than a window still count into the same window.
        """
        current = self.window_start(now, anchor)
        if self.unit == "mo":
            previous = _add_months(current, -self.count)
        else:
            previous = current - self.count * _SECONDS[self.unit]
        following = self.next_start(current)
        return [previous, current, following, self.next_start(following)]


def parse_duration(text: str | None, field: str = "budget_duration") -> Duration | None:
    """``"30d"`` -> Duration; None stays None; anything else is a ``ValueError`` naming ``field``."""
    if text is None or text == "":
        return None
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) <= 0:
        raise ValueError(
            f"{field} {text!r} is not a duration; write a positive number and a unit: 30s, 15m, 24h, 7d, 2w or 1mo"
        )
    return Duration(int(match.group(1)), match.group(2), str(text).strip())


def _month_window_start(now: float, count: int) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    months = moment.year * 12 + (moment.month - 1)
    months -= months % count
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC).timestamp()


def _add_months(start: float, months: int) -> float:
    moment = datetime.fromtimestamp(start, UTC)
    total = moment.year * 12 + (moment.month - 1) + months
    return datetime(total // 12, total % 12 + 1, 1, tzinfo=UTC).timestamp()
