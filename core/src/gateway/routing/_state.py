"""What the router remembers between requests: failures, usage, latencies, in-flight calls, cooldowns.

The router reads these numbers on every request, so every read is a dictionary look-up in process
memory.  :class:`RouterState` keeps them for one worker.  :class:`gateway._strategies.redis_state.RedisRouterState`
has the same interface and mirrors the numbers through Redis, so that all workers and instances
see the same cooldowns and statistics (each worker within ``sync_interval`` of the others).

Four kinds of numbers:

* **per-minute counters** (``add``/``count``): failures, requests and tokens in the current
  wall-clock minute, the window LiteLLM uses for ``allowed_fails`` and ``rpm``/``tpm``;
* **gauges** (``enter``/``leave``/``in_flight``): calls in progress per deployment;
* **samples** (``add_sample``/``samples``): the most recent latencies per key, with an age limit;
* **cooldowns** (``cool``/``cooling_until``): until when (epoch seconds) a deployment rests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

#: samples kept per key when nobody asked for more
DEFAULT_SAMPLE_LIMIT = 10


def current_minute(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 60)


class RouterState:
    """Router statistics for one worker (no sharing)."""

    #: True when the numbers are shared with other workers
    shared = False

    def __init__(self) -> None:
        self._minute = current_minute()
        #: this worker's per-minute counts not yet known to any other worker
        self._counts: dict[str, float] = {}
        self._in_flight: dict[str, int] = {}
        self._samples: dict[str, deque[tuple[float, float]]] = {}
        self._sample_limits: dict[str, int] = {}
        self._cooling: dict[str, float] = {}

    # ------------------------------------------------------------------ per-minute counters

    def _roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute = minute
            self._new_minute()

    def _new_minute(self) -> None:
        self._counts = {}

    def add(self, name: str, amount: float = 1.0) -> None:
        """Add to a counter of the current minute (a negative amount takes away)."""
        self._roll(time.time())
        self._counts[name] = self._counts.get(name, 0.0) + amount

    def count(self, name: str) -> float:
        """The counter's value in the current minute, over every worker that shares state."""
        self._roll(time.time())
        return self._counts.get(name, 0.0)

    @staticmethod
    def seconds_left_in_minute(now: float | None = None) -> float:
        now = time.time() if now is None else now
        return 60 - (now % 60)

    # ------------------------------------------------------------------ in-flight gauges

    def enter(self, deployment_id: str) -> None:
        self._in_flight[deployment_id] = self._in_flight.get(deployment_id, 0) + 1

    def leave(self, deployment_id: str) -> None:
        left = self._in_flight.get(deployment_id, 0) - 1
        self._in_flight[deployment_id] = max(left, 0)

    def in_flight(self, deployment_id: str) -> int:
        return self._in_flight.get(deployment_id, 0)

    # ------------------------------------------------------------------ samples

    def watch_samples(self, keys: Iterable[str], limit: int) -> None:
        """Declare sample series this worker reads (a shared store fetches them from the others)."""
        for key in keys:
            self._sample_limits[key] = limit
            self._samples.setdefault(key, deque(maxlen=limit))

    def add_sample(self, key: str, value: float) -> None:
        series = self._samples.get(key)
        if series is None:
            series = self._samples[key] = deque(maxlen=self._sample_limits.get(key, DEFAULT_SAMPLE_LIMIT))
        series.append((time.time(), value))

    def samples(self, key: str, max_age: float) -> list[float]:
        """The most recent values of a series, none older than ``max_age`` seconds."""
        series = self._samples.get(key)
        if not series:
            return []
        oldest = time.time() - max_age
        return [value for at, value in series if at >= oldest]

    # ------------------------------------------------------------------ cooldowns

    def cool(self, deployment_id: str, until: float) -> None:
        """Take a deployment out of rotation until ``until`` (epoch seconds)."""
        self._cooling[deployment_id] = max(until, self._cooling.get(deployment_id, 0.0))

    def cooling_until(self, deployment_id: str) -> float:
        return self._cooling.get(deployment_id, 0.0)

    def cooling(self, now: float | None = None) -> dict[str, float]:
        """Every deployment cooling down now, with the epoch second it comes back."""
        now = time.time() if now is None else now
        return {d: until for d, until in self._cooling.items() if until > now}
