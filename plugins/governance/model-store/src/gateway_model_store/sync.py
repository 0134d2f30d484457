"""Serving the stored models on every worker: a version poll on the database.

Each worker reads ``ms_version`` every ``poll_interval`` seconds (one primary-key read); when it
moved, it reloads ``ms_models`` and hands the whole set to the router
(``Gateway.set_runtime_deployments``), so a model added, changed or deleted on any worker of any
instance is served everywhere within ``poll_interval`` plus one reload.  The worker that wrote
applies the change before it answers.  A row that cannot be served here (its salt key differs,
an ``os.environ/`` variable this worker lacks, a provider plugin not installed on this instance)
is logged and left out, never a reason to stop serving the others.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from gateway import GatewayError, get_logger

from .crypto import DecryptError

if TYPE_CHECKING:
    from gateway import Deployment, Gateway

    from .store import Store

log = get_logger("gateway.model_store")

PLUGIN = "model_store"


class Synchroniser:
    def __init__(self, gateway: Gateway, store: Store, interval: float) -> None:
        self.gateway = gateway
        self.store = store
        self.interval = interval
        self.version = -1
        #: model id -> why it is not served on this worker
        self.skipped: dict[str, str] = {}
        self.last_poll_ok = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._poll_forever(), name="model-store-poll")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def refresh(self) -> None:
        """Serve what the table holds now, if its version moved since the last load."""
        async with self._lock:  # the poll and a write on this worker never load concurrently
            latest = await self.store.current_version()
            if latest == self.version:
                return
            rows = await self.store.all()
            deployments: list[Deployment] = []
            skipped: dict[str, str] = {}
            for row in rows:
                try:
                    entry = row.entry(self.store.params(row))
                    entry["model_info"].update(id=row.model_id, db_model=True)
                    deployments.append(self.gateway.build_deployment(entry))
                except (DecryptError, GatewayError, ValueError) as exc:
                    skipped[row.model_id] = str(exc)
            for model_id, reason in skipped.items():
                if self.skipped.get(model_id) != reason:
                    log.error("stored_model_not_served", model_id=model_id, reason=reason)
            self.skipped = skipped
            self.gateway.set_runtime_deployments(PLUGIN, deployments)
            self.version = latest

    async def _poll_forever(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: keep serving what was loaded
                if not failing:
                    log.warning("model_store_poll_failed", error=f"{type(exc).__name__}: {exc}")
                failing = True
                continue
            if failing:
                log.info("model_store_poll_recovered")
                failing = False
            self.last_poll_ok = time.monotonic()

    def report(self) -> dict[str, Any]:
        age = time.monotonic() - self.last_poll_ok
        status = "ok" if age < max(5.0, self.interval * 10) else "degraded"
        answer: dict[str, Any] = {"status": status, "version": self.version, "seconds_since_poll": round(age, 1)}
        if self.skipped:
            answer["not_served"] = dict(self.skipped)
        return answer
