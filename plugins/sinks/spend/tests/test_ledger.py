"""The write-ahead log, the shipper and the store, against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway_spend.shipper import DeadLetters, Shipper
from gateway_spend.store import LedgerStore
from gateway_spend.wal import WalLog, WalWriter, orphaned_logs


def record(request_id: str | None = None, *, spend: str = "0.000018", **fields: Any) -> dict[str, Any]:
    now = time.time()
    base = {"request_id": request_id or uuid.uuid4().hex, "call_type": "chat", "api_key": "hash-a", "team_id": "t1",
            "model_group": "m", "custom_llm_provider": "mock", "prompt_tokens": 4, "completion_tokens": 7,
            "total_tokens": 11, "spend": spend, "spend_pico": int(Decimal(spend) * 10**12), "status": "success",
            "http_status": 200, "start_time": now, "end_time": now + 0.01}
    return {**base, **fields}


def shipper_for(writer: WalWriter, store: LedgerStore, rejected: list[Any]) -> Shipper:
    return Shipper(writer, store, batch_size=50, interval=0.05, max_backoff=0.2,
                   dead_letters=DeadLetters(writer.dir, lambda rid, reason: rejected.append(rid)))


async def stored_ids(store: LedgerStore) -> list[str]:
    found, _ = await store.logs({}, None, None, 10_000, 0)
    return sorted(r["request_id"] for r in found)


def test_records_rejected_by_postgres_go_to_the_dead_letter_file_and_the_rest_is_stored(
    fresh_pg: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        store = LedgerStore.from_url(fresh_pg)
        await store.create_tables()
        writer = WalWriter(tmp_path, 1 << 20)
        rejected: list[Any] = []
        shipper = shipper_for(writer, store, rejected)
        good = [record() for _ in range(20)]
        bad = [record(end_user="x" * 300), record(key_alias="nul\x00byte")]  # too long; NUL is invalid in PG text
        for r in good[:10] + bad + good[10:]:
            writer.append(r)
        assert await shipper.flush(10)
        assert await stored_ids(store) == sorted(r["request_id"] for r in good)
        assert sorted(rejected) == sorted(r["request_id"] for r in bad)
        letters = [orjson.loads(line) for line in (tmp_path / "dead-letter.jsonl").read_bytes().splitlines()]
        assert sorted(letter["record"]["request_id"] for letter in letters) == sorted(rejected)
        assert shipper.status()["dead_letters"] == 2 and shipper.status()["pending_bytes"] == 0
        writer.close(remove_if_shipped=True)
        await store.close()

    asyncio.run(scenario())


def test_shipping_the_same_records_twice_stores_them_once_and_counts_them_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = LedgerStore.from_url(f"sqlite:///{tmp_path / 'l.db'}")
        await store.create_tables()
        batch = [record() for _ in range(5)]
        assert await store.insert_batch(batch) == 5
        assert await store.insert_batch(batch + [record("extra")]) == 1
        assert await store.totals("key", ["hash-a"]) == {"hash-a": Decimal("0.000018") * 6}
        assert await store.spend_since("team", "t1", 0) == Decimal("0.000018") * 6
        await store.close()

    asyncio.run(scenario())


def test_database_down_keeps_records_on_disk_and_ships_them_when_it_returns(tmp_path: Path) -> None:
    from gateway.testing import free_port

    async def scenario() -> None:
        closed_port = free_port()
        down = LedgerStore.from_url(f"postgresql://postgres@127.0.0.1:{closed_port}/nothing")
        writer = WalWriter(tmp_path, 4096)  # tiny segments: the outage spans several files
        rejected: list[Any] = []
        shipper = shipper_for(writer, down, rejected)
        shipper.start()
        records = [record() for _ in range(300)]
        for r in records:
            writer.append(r)
        await asyncio.sleep(0.5)
        status = shipper.status()
        assert status["shipped"] == 0 and status["database_failures"] >= 1 and status["pending_bytes"] > 0
        assert len(list(tmp_path.glob("*.wal"))) > 1
        await shipper.stop(0.5)
        writer.close(remove_if_shipped=True)

        # the database is back (here: the next start with a reachable one) and the log is adopted
        up = LedgerStore.from_url(f"sqlite:///{tmp_path / 'l.db'}")
        await up.create_tables()
        heir = WalWriter(tmp_path, 4096)
        heir_shipper = shipper_for(heir, up, rejected)
        await heir_shipper._adopt_orphans()
        assert await stored_ids(up) == sorted(r["request_id"] for r in records)
        assert not rejected and list(tmp_path.glob(f"{writer.owner}*")) == []
        heir.close(remove_if_shipped=True)
        await up.close()

    asyncio.run(scenario())


def test_a_line_cut_short_by_a_crash_is_set_aside_not_lost_silently(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path, 1 << 20)
    writer.append(record("complete"))
    os.write(writer._fd, b'{"request_id": "cut-sh')  # the process died inside os.write
    owner = writer.owner
    os.close(writer._fd)
    os.close(writer._lock_fd)  # what the kernel does for a killed process
    [(found, fd)] = orphaned_logs(tmp_path, set())
    assert found == owner
    batch = WalLog(tmp_path, owner).read(100, final=True)
    os.close(fd)
    assert [r["request_id"] for r in batch.records] == ["complete"]
    assert batch.garbage == [b'{"request_id": "cut-sh']


def test_a_live_workers_log_is_never_adopted(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path, 1 << 20)
    assert orphaned_logs(tmp_path, set()) == []
    writer.close(remove_if_shipped=False)
    found = orphaned_logs(tmp_path, set())
    assert [owner for owner, _ in found] == [writer.owner]
    for _, fd in found:
        os.close(fd)


@pytest.mark.parametrize("size", [200, 5000])
def test_reading_in_batches_across_segments_returns_every_record_once(tmp_path: Path, size: int) -> None:
    writer = WalWriter(tmp_path, size)
    ids = [f"r{i}" for i in range(120)]
    for request_id in ids:
        writer.append(record(request_id))
    log = WalLog(tmp_path, writer.owner)
    seen: list[str] = []
    for _ in range(100):
        batch = log.read(17)
        if not batch.records:
            break
        seen += [r["request_id"] for r in batch.records]
        log.commit(batch.end)
    assert seen == ids
    assert log.pending_bytes() == 0
    writer.close(remove_if_shipped=True)
