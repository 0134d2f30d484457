"""Collecting what the gateway logs: gateway_log payloads and structlog lines."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any


class LogCollector:
    """A plugin that keeps every ``gateway_log`` payload; register it in ``plugins=[...]``.

    The payloads are :meth:`gateway.LogEvent.to_dict` dicts, the same shape sinks export.
    """

    gateway_plugin_name = "log_collector"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._arrived = threading.Condition()

    from gateway._hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def gateway_log(self, event: Any) -> None:
        with self._arrived:
            self.events.append(event.to_dict())
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Block until ``count`` events arrived (log delivery is asynchronous by design)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.events) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} log events, got {len(self.events)}")
                self._arrived.wait(left)
        return list(self.events)

    def matching(self, **fields: Any) -> list[dict[str, Any]]:
        """The events whose top-level fields equal ``fields`` (``status=400, model_group="gpt-4o"``)."""
        return [e for e in list(self.events) if all(e.get(k) == v for k, v in fields.items())]

    def assert_logged(self, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Wait for an event with these field values and return it; fail listing what arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self.matching(**fields)
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [{k: e.get(k) for k in fields} for e in self.events]
                    raise AssertionError(f"no log event with {fields}; events seen: {seen}")
                self._arrived.wait(left)


class ServerLogs:
    """The gateway's own structured log lines (``structlog``) captured during a test, as dicts.

    The list fills while the test runs (the gateway may log from its server thread).
    """

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self.lines = lines

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.lines))

    def __len__(self) -> int:
        return len(self.lines)

    def named(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """Lines whose ``event`` is ``event`` and whose fields equal ``fields``."""
        return [r for r in self if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())]

    def wait_for(self, event: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Wait until a line ``event`` with these fields was logged, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.named(event, **fields)
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line {event!r} with {fields}; got {[r.get('event') for r in self]}")
            time.sleep(0.01)


# --------------------------------------------------------------------------- pytest fixtures
