"""What one request must pass, and what the counters answered.

The governor builds an :class:`AdmissionPlan` per request (every budget, rate limit and
parallel-request limit that applies); a backend (:mod:`.backend_memory` for one worker,
:mod:`.backend_redis` for many) checks and reserves all of it in one atomic step, and settles it
in another.  Both backends implement exactly the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from gateway.durations import Duration


@dataclass(slots=True)
class BudgetLine:
    """One budget of one scope (key, team, user, end user, global)."""

    scope: str
    id: str
    #: how messages name it: ``key 'alice-key'``, ``team 'engineering'``
    label: str
    #: counter name; includes the duration so that changing it starts fresh counters
    key: str
    #: nano-dollars; None = only track spend (soft budgets, the master key's share of the global budget)
    limit: int | None
    soft: int | None = None
    duration: Duration | None = None
    #: where the scope's windows are counted from (epoch seconds); None: the UTC calendar
    anchor: float | None = None
    #: the scope's readable name (key alias, team alias), for LiteLLM-shaped messages
    alias: str | None = None
    #: the last boundaries computed: reused until the clock leaves their current window
    _boundaries: list[float] | None = field(default=None, init=False, repr=False, compare=False)

    def boundaries(self, now: float) -> list[float]:
        """Four consecutive window starts around ``now`` (epoch seconds): the previous window's,
        the current one's, the next one's and the one after (all 0 without a duration).

        The Redis script picks the window by the Redis server's clock among these, so instances
        whose clocks disagree by less than a window still count into the same window.  The windows
        are ``gateway.durations``' (calendar months for ``mo``), the same every plugin computes.
        """
        if self.duration is None:
            return [0.0, 0.0, 0.0, 0.0]
        known = self._boundaries
        if known is not None and known[1] <= now < known[2]:
            return known
        starts = self.duration.window_starts(_moment(now), self._anchor(), previous=1, following=2)
        self._boundaries = [start.timestamp() for start in starts]
        return self._boundaries

    def resets_at(self, now: float) -> float | None:
        """When the window holding ``now`` ends (epoch seconds); None for a budget that never resets."""
        if self.duration is None:
            return None
        return self.duration.window(_moment(now), self._anchor())[1].timestamp()

    def _anchor(self) -> datetime | None:
        return None if self.anchor is None else _moment(self.anchor)


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(slots=True)
class RateLine:
    """``rpm_limit`` / ``tpm_limit`` of one scope or deployment."""

    label: str
    key: str
    rpm: int | None
    tpm: int | None


@dataclass(slots=True)
class ParallelLine:
    label: str
    key: str
    limit: int


@dataclass(slots=True)
class AdmissionPlan:
    rid: str
    budgets: list[BudgetLine] = field(default_factory=list)
    rates: list[RateLine] = field(default_factory=list)
    parallels: list[ParallelLine] = field(default_factory=list)
    #: the request's maximum possible cost, nano-dollars
    reserve: int = 0
    #: seconds after which an unsettled reservation is reclaimed
    ttl: float = 900.0
    #: tokens reserved against every ``tpm`` (estimate; settled to the real count)
    tokens: int = 0

    def is_empty(self) -> bool:
        return not (self.budgets or self.rates or self.parallels)


@dataclass(slots=True)
class Admitted:
    #: the counter of each budget's current window (same order as ``plan.budgets``)
    window_keys: list[str]
    #: spent (nanos) in each budget's window before this request
    spent: list[int]
    #: (requests, tokens) already in each rate limit's window before this request
    rate_usage: list[tuple[int, int]]


@dataclass(slots=True)
class Rejected:
    """Why a request was refused: ``budget``, ``rpm``, ``tpm`` or ``parallel``."""

    kind: str
    index: int
    used: int
    limit: int
    reserved: int = 0
    retry_after_ms: int = 0


@dataclass(slots=True)
class NeedSeed:
    """These budget windows have no counter yet: seed them from the ledger, then ask again."""

    indexes: list[int]
    window_starts: list[float]


@dataclass(slots=True)
class Settled:
    #: (spent before, spent after) per budget window; (-1, -1) when the window is gone
    spent: list[tuple[int, int]]


class CountersBackend(Protocol):
    """Atomic check-and-reserve and settle; see the module docstring."""

    shared: bool

    async def admit(
        self, plan: AdmissionPlan, now: float | None, seeds: dict[int, int] | None = None
    ) -> Admitted | Rejected | NeedSeed: ...

    async def settle(self, rid: str, window_keys: list[str], cost: int, tokens: int) -> Settled: ...

    async def close(self) -> None: ...
