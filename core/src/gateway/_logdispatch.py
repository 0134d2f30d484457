"""Delivering finished requests to ``gateway_log`` implementations, off the request path.

Each implementation gets its own bounded queue and worker task, so a slow or failing one never
delays another, nor any request: submitting is a non-blocking append; when a backlog is full
the event is dropped for that implementation and counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from gateway._logs import get_logger

if TYPE_CHECKING:
    from gateway._hooks import Impl

log = get_logger("gateway.log_hook")

#: how long one worker may deliver before it yields to the event loop
BATCH_SECONDS = 0.0005
#: how long a woken worker lets events gather before delivering them: under load a wake-up per
#: request (a future, two task steps) was a measurable share of the gateway's CPU (bench/paired.sh);
#: 5 ms turns thousands of wake-ups a second into at most two hundred
GATHER_SECONDS = 0.005


class LogWorker:
    """One implementation's bounded backlog and the task that delivers it.

    A plain deque with a wake-up future rather than ``asyncio.Queue``: submitting happens once per
    request and must cost next to nothing; the worker is only woken when it is idle, and then
    waits ``GATHER_SECONDS`` so that it delivers a batch per wake-up, not an event.
    """

    def __init__(
        self, impl: Impl, kwargs_base: dict[str, Any], size: int, timeout: float, payload: str = "event"
    ) -> None:
        self.impl = impl
        #: the hook argument name the queued object is passed as (``event`` or ``alert``)
        self.payload = payload
        self.pending: deque[Any] = deque()
        self.size = size
        self.kwargs_base = dict(kwargs_base)
        self.timeout = timeout
        self.dropped = 0
        self.failed = 0
        self.delivered = 0
        self.task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._stopping = False
        #: the event being delivered (for log lines about it)
        self._event: Any = None

    def submit(self, event: Any) -> None:
        if len(self.pending) >= self.size:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("log_event_dropped", plugin=self.impl.plugin, dropped_total=self.dropped)
            return
        self.pending.append(event)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def stop(self) -> None:
        self._stopping = True
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        pending = self.pending
        while True:
            if not pending:
                if self._stopping:
                    return
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
                if not self._stopping:
                    await asyncio.sleep(GATHER_SECONDS)
                continue
            # deliver for at most BATCH_SECONDS, then give the loop back: a backlog of costly
            # events (a sink building payloads) must never hold every in-flight request for long
            deadline = time.perf_counter() + BATCH_SECONDS
            while pending:
                awaitable = self._call(pending.popleft())
                if awaitable is not None:  # only async implementations cost a coroutine and a timeout
                    await self._finish(awaitable)
                if time.perf_counter() >= deadline:
                    break
            await asyncio.sleep(0)

    def qsize(self) -> int:
        return len(self.pending)

    def _call(self, event: Any) -> Any:
        """Call the implementation; return what it returned when that must still be awaited."""
        self._event = event
        kwargs = self.kwargs_base  # one worker delivers one event at a time: the dict is reused
        kwargs[self.payload] = event
        try:
            result = self.impl.call(kwargs)
        except Exception as exc:  # a sink's bug must never reach anything else
            self._failed(exc)
            return None
        if result is not None and hasattr(result, "__await__"):  # cheaper than inspect.isawaitable
            return result
        self.delivered += 1
        return None

    async def _finish(self, awaitable: Any) -> None:
        try:
            # asyncio.timeout runs the coroutine in this task; wait_for would start a task per
            # event, costing a loop turn and ~10 µs each (the backlog then outgrew the load)
            async with asyncio.timeout(self.timeout):
                await awaitable
            self.delivered += 1
        except TimeoutError:
            self.failed += 1
            log.warning(
                "log_hook_timeout", plugin=self.impl.plugin, timeout_s=self.timeout, request_id=_request_id(self._event)
            )
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self.failed += 1
        log.error(
            "log_hook_failed",
            plugin=self.impl.plugin,
            error=f"{type(exc).__name__}: {exc}",
            request_id=_request_id(self._event),
        )


def _request_id(event: Any) -> str | None:
    ctx = getattr(event, "ctx", None)
    return getattr(ctx, "request_id", None)


class LogDispatcher:
    def __init__(
        self, impls: list[Impl], kwargs_base: dict[str, Any], *, size: int, timeout: float, payload: str = "event"
    ) -> None:
        self.workers = [LogWorker(impl, kwargs_base, size, timeout, payload) for impl in impls]

    def start(self) -> None:
        for worker in self.workers:
            if worker.task is None:
                worker._stopping = False  # a gateway may be started again after a drain (tests do)
                worker.task = asyncio.get_running_loop().create_task(
                    worker.run(), name=f"gateway-log-{worker.impl.plugin}"
                )

    def submit(self, event: Any) -> None:
        for worker in self.workers:
            worker.submit(event)

    async def drain(self, timeout: float) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then stop the workers."""
        for worker in self.workers:
            worker.stop()
        tasks = [w.task for w in self.workers if w.task is not None]
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("log_drain_timeout", pending=[t.get_name() for t in pending])
        for worker in self.workers:
            worker.task = None

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            w.impl.plugin: {"queued": w.qsize(), "delivered": w.delivered, "failed": w.failed, "dropped": w.dropped}
            for w in self.workers
        }
