"""The ledger as the rest of the plugin sees it: append a record, ask for totals.

It ties the write-ahead log (durability), the shipper (batches off the request path) and the
store (the database) together, and decides where the files and the database live.
"""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from .config import SpendConfig
from .shipper import DeadLetters, Shipper
from .store import LedgerStore
from .wal import WalWriter

log = structlog.get_logger("gateway.spend")

#: seconds the first shipping of dead workers' logs may take before serving starts
STARTUP_RECOVERY_SECONDS = 10.0


def wal_directory(config: SpendConfig, config_path: Path | None) -> tuple[Path, Path | None]:
    """(WAL directory, temporary directory to delete at shutdown or None).

    ``plugins.spend.wal_dir``, else ``spend-wal/`` next to the config file; a gateway built from a
    dict (tests, embedding) without ``wal_dir`` uses a temporary directory.
    """
    if config.wal_dir:
        return Path(config.wal_dir), None
    if config_path is not None:
        return config_path.resolve().parent / "spend-wal", None
    temp = Path(tempfile.mkdtemp(prefix="gateway-spend-"))
    return temp, temp


class Ledger:
    """One worker's view of the spend ledger."""

    def __init__(self, config: SpendConfig, store: LedgerStore, wal_dir: Path, on_rejected: Any) -> None:
        self.config = config
        self.store = store
        self.wal_dir = wal_dir
        self.on_rejected = on_rejected
        self.writer: WalWriter | None = None
        self.shipper: Shipper | None = None
        self.append_failures = 0
        self._unannounced = 0

    async def start(self) -> None:
        if self.store.owns_engine:
            try:
                await asyncio.wait_for(self.store.create_tables(), 10)
            except Exception as exc:  # the database may be down at start: records wait in the log
                log.warning("spend_ledger_tables_not_checked", error=f"{type(exc).__name__}: {exc}")
        self.writer = WalWriter(self.wal_dir, self.config.wal_segment_bytes)
        self.shipper = Shipper(
            self.writer,
            self.store,
            batch_size=self.config.ship_batch_size,
            interval=self.config.ship_interval_seconds,
            max_backoff=self.config.ship_max_backoff_seconds,
            dead_letters=DeadLetters(self.wal_dir, self.on_rejected),
        )
        # ship what dead workers left behind before serving, so budgets seeded from the ledger see it
        try:
            await asyncio.wait_for(self.shipper._adopt_orphans(), STARTUP_RECOVERY_SECONDS)
        except TimeoutError:
            log.warning("spend_recovery_continues_in_background")
        self.shipper.start()

    async def stop(self, timeout: float = 10.0) -> None:
        if self.shipper is not None:
            await self.shipper.stop(timeout)
        if self.writer is not None:
            self.writer.close(remove_if_shipped=True)
        await self.store.close()

    def append(self, record: dict[str, Any]) -> None:
        """Durably append one record (page cache) and wake the shipper."""
        assert self.writer is not None and self.shipper is not None, "the ledger is not started"
        try:
            self.writer.append(record)
        except OSError as exc:  # a full disk must not fail the request; it is loud instead
            self.append_failures += 1
            log.error("spend_wal_append_failed", request_id=record.get("request_id"), error=str(exc))
            return
        self._unannounced += 1
        if self._unannounced >= self.config.ship_batch_size:  # a full batch: no need to wait for the timer
            self._unannounced = 0
            self.shipper.notify()

    async def spend_since(self, scope: str, scope_id: str, start: float) -> Decimal:
        if self.shipper is not None:
            await self.shipper.flush()
        return await self.store.spend_since(scope, scope_id, start)

    async def totals(self, scope: str, ids: list[str]) -> dict[str, Decimal]:
        if self.shipper is not None:
            await self.shipper.flush()
        return await self.store.totals(scope, ids)

    def status(self) -> dict[str, Any]:
        data = self.shipper.status() if self.shipper else {}
        data["wal_append_failures"] = self.append_failures
        data["wal_dir"] = str(self.wal_dir)
        return data
