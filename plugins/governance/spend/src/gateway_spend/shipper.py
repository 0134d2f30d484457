"""Shipping write-ahead records to the database, off the request path.

One background task per worker reads its own log in batches, inserts them (idempotent by
request id), then moves the cursor.  While the database is down it retries with exponential
backoff; the records wait on disk, so memory stays bounded however long the outage lasts.  A
batch the database refuses while it is up is split until the offending records are found; those
go to ``dead-letter.jsonl`` next to the logs, are counted and reported, and never block the rest.
Their spend stays in the ledger all the same, as a *skeleton* row (ids, cost, times: see
:func:`~.store.skeleton_of`), so budget counters re-seeded from the ledger after a Redis restart,
reports and ``/key/info`` totals still include it.
Logs of dead workers are adopted and shipped too (see :mod:`.wal`).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import orjson
import structlog

from gateway import wait_event

from .store import LedgerStore, skeleton_of
from .wal import WalLog, WalWriter, orphaned_logs

log = structlog.get_logger("gateway.spend")

#: seconds between looks for logs of dead workers
ADOPT_INTERVAL = 10.0


class DatabaseDown(Exception):
    """The database cannot be reached; retry later."""


class DeadLetters:
    """Records the database refused, kept in ``dead-letter.jsonl`` with the reason."""

    def __init__(self, directory: Path, on_rejected: Any) -> None:
        self.path = directory / "dead-letter.jsonl"
        self.count = 0
        self.on_rejected = on_rejected

    def add(self, record: Any, reason: str, *, spend_kept: bool | None = None) -> None:
        """Keep ``record`` in the file; ``spend_kept``: whether its skeleton row is in the ledger."""
        entry = {"reason": reason[:2000], "record": record, "time": time.time(), "spend_kept": spend_kept}
        line = orjson.dumps(entry, default=str) + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        self.count += 1
        request_id = record.get("request_id") if isinstance(record, dict) else None
        log.error(
            "spend_record_rejected",
            request_id=request_id,
            reason=reason[:300],
            dead_letter_file=str(self.path),
            spend_kept=spend_kept,
        )
        self.on_rejected(request_id, reason)


class Shipper:
    """The background task that moves records from the write-ahead logs into the ledger."""

    def __init__(
        self,
        writer: WalWriter,
        store: LedgerStore,
        *,
        batch_size: int,
        interval: float,
        max_backoff: float,
        dead_letters: DeadLetters,
    ) -> None:
        self.writer = writer
        self.store = store
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self.dead_letters = dead_letters
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()
        self.shipped = 0
        self.duplicates = 0
        #: dead letters whose spend could not be kept as a skeleton row either (should stay 0)
        self.spend_lost = 0
        self.database_failures = 0
        self.database_down_since: float | None = None
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gateway-spend-shipper")

    async def stop(self, timeout: float) -> None:
        """Ship what is left (within ``timeout``), then stop; unshipped records stay on disk."""
        self._stopping = True
        self.wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except (TimeoutError, asyncio.CancelledError):
                pass
            self._task.cancel()
            try:
                await self._task
            except BaseException:
                pass

    def notify(self) -> None:
        self.wake.set()

    async def flush(self, timeout: float = 2.0) -> bool:
        """Ship this worker's records now (used before answering spend questions); False on timeout/outage."""
        try:
            return await asyncio.wait_for(self._ship(self.writer.log, final=False, retry=False), timeout)
        except (TimeoutError, DatabaseDown):
            return False

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        next_adopt = 0.0
        while True:
            if time.monotonic() >= next_adopt:
                await self._adopt_orphans()
                next_adopt = time.monotonic() + ADOPT_INTERVAL
            try:
                await self._ship(self.writer.log, final=False, retry=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the shipper die; the records are safe on disk
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("spend_shipper_error", error=self.last_error)
            if self._stopping:
                return
            await wait_event(self.wake, self.interval)
            self.wake.clear()

    async def _adopt_orphans(self) -> None:
        directory = self.writer.dir
        own = {self.writer.owner}
        for owner, fd in await asyncio.to_thread(orphaned_logs, directory, own):
            try:
                wal = WalLog(directory, owner)
                log.info("spend_log_adopted", owner=owner, pending_bytes=wal.pending_bytes())
                if await self._ship(wal, final=True, retry=not self._stopping):
                    wal.remove()
            except DatabaseDown:
                pass
            finally:
                os.close(fd)

    async def _ship(self, wal: WalLog, *, final: bool, retry: bool) -> bool:
        """Ship everything in ``wal``; True when nothing is left."""
        async with self.lock:
            while True:
                batch = await asyncio.to_thread(wal.read, self.batch_size, final=final)
                for line in batch.garbage:
                    self.dead_letters.add(
                        {"raw": line.decode("utf-8", "replace")}, "not a valid record (cut short by a crash?)"
                    )
                if not batch.records:
                    if batch.end != wal.position:
                        wal.commit(batch.end)
                    return True
                await self._store(batch.records, retry=retry)
                await asyncio.to_thread(wal.commit, batch.end)
                # read again even when this batch was short, also while stopping: requests may have
                # appended records while it was being stored (only an empty read says nothing is left;
                # ``stop``'s timeout bounds a log that keeps growing)

    async def _store(self, records: list[dict[str, Any]], *, retry: bool) -> None:
        backoff = 0.1
        while True:
            try:
                await self._insert_or_bisect(records)
                if self.database_down_since is not None:
                    log.info(
                        "spend_database_back", outage_seconds=round(time.monotonic() - self.database_down_since, 1)
                    )
                    self.database_down_since = None
                return
            except DatabaseDown as exc:
                self.database_failures += 1
                self.last_error = str(exc)
                if self.database_down_since is None:
                    self.database_down_since = time.monotonic()
                    log.warning("spend_database_down", error=self.last_error, pending_records=len(records))
                if not retry or self._stopping:
                    raise
                await asyncio.sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, self.max_backoff)

    async def _insert_or_bisect(self, records: list[dict[str, Any]]) -> None:
        try:
            inserted = await self.store.insert_batch(records)
        except Exception as exc:
            if not await self._database_up():
                raise DatabaseDown(f"{type(exc).__name__}: {exc}") from exc
            if len(records) == 1:
                await self._dead_letter(records[0], f"{type(exc).__name__}: {exc}")
                return
            middle = len(records) // 2
            await self._insert_or_bisect(records[:middle])
            await self._insert_or_bisect(records[middle:])
            return
        self.shipped += inserted
        self.duplicates += len(records) - inserted

    async def _dead_letter(self, record: dict[str, Any], reason: str) -> None:
        """The database refuses ``record``: keep its spend as a skeleton row, the record in the file."""
        try:
            await self.store.insert_batch([skeleton_of(record, reason)])
            kept = True
        except Exception as exc:
            if not await self._database_up():
                raise DatabaseDown(f"{type(exc).__name__}: {exc}") from exc  # the batch is retried
            kept = False
            self.spend_lost += 1
            reason += f"; its spend could not be kept in the ledger either: {type(exc).__name__}: {exc}"
        self.dead_letters.add(record, reason, spend_kept=kept)

    async def _database_up(self) -> bool:
        try:
            await asyncio.wait_for(self.store.ping(), 5)
            return True
        except Exception:
            return False

    def status(self) -> dict[str, Any]:
        return {
            "shipped": self.shipped,
            "duplicates_skipped": self.duplicates,
            "dead_letters": self.dead_letters.count,
            "dead_letters_spend_lost": self.spend_lost,
            "dead_letter_file": str(self.dead_letters.path),
            "database_failures": self.database_failures,
            "database_down_seconds": None
            if self.database_down_since is None
            else round(time.monotonic() - self.database_down_since, 1),
            "pending_bytes": self.writer.log.pending_bytes(),
            "last_error": self.last_error,
        }
