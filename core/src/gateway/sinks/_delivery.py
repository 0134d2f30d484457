"""Delivering prepared events to one sink: bounded queue, batches, retries, counted drops.

Every enabled sink gets a :class:`SinkRunner`: submitting is a non-blocking ``put_nowait`` into a
queue of ``queue_size`` items; one worker task takes batches of up to ``batch_size`` (waiting at
most ``flush_interval`` for a batch to fill), calls ``send_batch`` with a ``send_timeout``, and
retries failures with exponential backoff up to ``max_retries``.  What cannot be delivered is
dropped and counted by reason, so at any moment::

    submitted == delivered + queued + sending + sum(dropped.values())

A hanging or failing sink therefore costs a bounded amount of memory (the queue plus one batch)
and never slows another sink or any request.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from gateway._aio import wait_event
from gateway._logs import get_logger
from gateway.sinks._base import DeliverySettings, Sink, SinkError

log = get_logger("gateway.sinks")

#: drop reasons, also the ``reason`` label of the drop metric
QUEUE_FULL = "queue_full"
SEND_FAILED = "send_failed"
SHUTDOWN = "shutdown"
DROP_REASONS = (QUEUE_FULL, SEND_FAILED, SHUTDOWN)

DropListener = Callable[[str, str, int], None]


class SinkRunner:
    """One sink's queue and worker task."""

    def __init__(self, sink: Sink, settings: DeliverySettings, on_drop: DropListener) -> None:
        self.sink = sink
        self.settings = settings
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=settings.queue_size)
        self._on_drop = on_drop
        self._batch_ready = asyncio.Event()
        self._closing = False
        self.task: asyncio.Task[None] | None = None
        self.submitted = 0
        self.delivered = 0
        self.sending = 0
        self.retries = 0
        self.high_water = 0
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.last_error: str | None = None
        self._last_error_log = 0.0

    @property
    def name(self) -> str:
        return self.sink.name

    # ------------------------------------------------------------------ producer side

    def submit(self, item: Any) -> None:
        """Queue one item; never blocks.  A full queue drops the new item and counts it."""
        self.submitted += 1
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._drop(QUEUE_FULL, 1)
            return
        size = self.queue.qsize()
        if size > self.high_water:
            self.high_water = size
        if size >= self.settings.batch_size:
            self._batch_ready.set()

    def refuse_if_full(self) -> bool:
        """Count a drop and return True when the queue is full, before any work is spent on the item."""
        if not self.queue.full():
            return False
        self.submitted += 1
        self._drop(QUEUE_FULL, 1)
        return True

    def _drop(self, reason: str, count: int) -> None:
        self.dropped[reason] += count
        self._on_drop(self.name, reason, count)

    # ------------------------------------------------------------------ worker side

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"gateway-sink-{self.name}")

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            self.sending = 1  # taken from the queue: counted as sending until it is resolved
            if (
                not self._closing
                and self.settings.flush_interval > 0
                and self.queue.qsize() + 1 < self.settings.batch_size
            ):
                await wait_event(self._batch_ready, self.settings.flush_interval)
            self._batch_ready.clear()
            batch = [first]
            while len(batch) < self.settings.batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.sending = len(batch)
            await self._deliver(batch)

    async def _deliver(self, batch: list[Any]) -> None:
        settings = self.settings
        try:
            for attempt in range(settings.max_retries + 1):
                try:
                    await asyncio.wait_for(self.sink.send_batch(batch), settings.send_timeout)
                except SinkError as exc:
                    self._note_failure(str(exc))
                    if not exc.retryable:
                        break
                except TimeoutError:
                    self._note_failure(f"no answer within {settings.send_timeout:g} s")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a sink's bug or transport error must stay inside the sink
                    self._note_failure(f"{type(exc).__name__}: {exc}")
                else:
                    self.delivered += len(batch)
                    return
                if attempt >= settings.max_retries or self._closing:
                    break  # at shutdown one attempt per batch: the flush has a deadline
                self.retries += 1
                await asyncio.sleep(self._backoff(attempt))
            self._drop(SEND_FAILED, len(batch))
        finally:
            self.sending = 0

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.retry_backoff * 2.0**attempt, self.settings.retry_backoff_max)
        return delay * (0.75 + random.random() * 0.5)

    def _note_failure(self, message: str) -> None:
        self.last_error = message[:500]
        now = time.monotonic()
        if now - self._last_error_log >= 10:  # one line per sink per 10 s, whatever the rate
            self._last_error_log = now
            log.warning("sink_send_failed", sink=self.name, error=self.last_error)

    # ------------------------------------------------------------------ shutdown

    async def flush(self, deadline: float) -> None:
        """Send what is queued until ``deadline`` (monotonic), then stop; the rest is dropped."""
        self._closing = True
        self._batch_ready.set()
        task = self.task
        in_flight = 0
        if task is not None:
            while (not self.queue.empty() or self.sending) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            in_flight = self.sending  # read and cancel with no await between: the count stays exact
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
            self.task = None
        lost = in_flight + self.queue.qsize()
        self.sending = 0
        while not self.queue.empty():
            self.queue.get_nowait()
        if lost:
            self._drop(SHUTDOWN, lost)
            log.warning("sink_flush_incomplete", sink=self.name, dropped=lost)

    def stats(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            "delivered": self.delivered,
            "queued": self.queue.qsize(),
            "sending": self.sending,
            "retries": self.retries,
            "queue_high_water": self.high_water,
            "queue_size": self.settings.queue_size,
            "dropped": dict(self.dropped),
            "last_error": self.last_error,
        }
