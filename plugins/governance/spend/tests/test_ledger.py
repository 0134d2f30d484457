"""The write-ahead log, the shipper and the store, against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
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
    base = {
        "request_id": request_id or uuid.uuid4().hex,
        "call_type": "chat",
        "api_key": "hash-a",
        "team_id": "t1",
        "model_group": "m",
        "custom_llm_provider": "mock",
        "prompt_tokens": 4,
        "completion_tokens": 7,
        "total_tokens": 11,
        "spend": spend,
        "spend_pico": int(Decimal(spend) * 10**12),
        "status": "success",
        "http_status": 200,
        "start_time": now,
        "end_time": now + 0.01,
    }
    return {**base, **fields}


def shipper_for(writer: WalWriter, store: LedgerStore, rejected: list[Any]) -> Shipper:
    return Shipper(
        writer,
        store,
        batch_size=50,
        interval=0.05,
        max_backoff=0.2,
        dead_letters=DeadLetters(writer.dir, lambda rid, reason: rejected.append(rid)),
    )


async def stored_ids(store: LedgerStore) -> list[str]:
    found, _ = await store.logs({}, None, None, 10_000, 0)
    return sorted(r["request_id"] for r in found)


def test_a_record_postgres_refuses_is_dead_lettered_but_its_spend_stays_in_the_ledger(
    fresh_pg: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        store = LedgerStore.from_url(fresh_pg)
        await store.create_tables()
        writer = WalWriter(tmp_path, 1 << 20)
        rejected: list[Any] = []
        shipper = shipper_for(writer, store, rejected)
        good = [record() for _ in range(20)]
        # an upstream that reported three billion tokens: more than the column holds
        bad = record(spend="6000", prompt_tokens=3_000_000_000, api_key="hash-b", end_user="carol")
        for r in good[:10] + [bad] + good[10:]:
            writer.append(r)
        assert await shipper.flush(10)

        assert rejected == [bad["request_id"]]
        letters = [orjson.loads(line) for line in (tmp_path / "dead-letter.jsonl").read_bytes().splitlines()]
        assert [(x["record"], x["spend_kept"]) for x in letters] == [(bad, True)]
        assert "out of range" in letters[0]["reason"]
        # every row is there, the refused one as a skeleton that keeps who spent how much
        assert await stored_ids(store) == sorted(r["request_id"] for r in good + [bad])
        [skeleton], _ = await store.logs({"request_id": bad["request_id"]}, None, None, 10, 0)
        assert skeleton["spend_pico"] == 6000 * 10**12 and skeleton["end_user"] == "carol"
        assert skeleton["prompt_tokens"] == 2**31 - 1 and "dead-letter" in skeleton["error"]
        # so budgets re-seeded from the ledger and the totals of /key/info include its spend
        assert await store.spend_since("key", "hash-b", 0) == Decimal(6000)
        assert await store.spend_since("end_user", "carol", 0) == Decimal(6000)
        assert await store.spend_since("global", "global", 0) == Decimal(6000) + Decimal("0.000018") * 20
        assert await store.totals("key", ["hash-b", "hash-a"]) == {
            "hash-b": Decimal(6000),
            "hash-a": Decimal("0.000018") * 20,
        }
        status = shipper.status()
        assert status["dead_letters"] == 1 and status["dead_letters_spend_lost"] == 0 and status["pending_bytes"] == 0
        writer.close(remove_if_shipped=True)
        await store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_values_no_column_can_hold_are_stored_under_a_stable_name_that_queries_find(
    database: str, fresh_pg: str, tmp_path: Path
) -> None:
    """The safety net behind the edge checks: a value that did not come from the request."""

    async def scenario() -> None:
        store = LedgerStore.from_url(fresh_pg if database == "postgresql" else f"sqlite:///{tmp_path / 'l.db'}")
        await store.create_tables()
        long_team, nul_user = "t" * 300, "nul\x00byte"
        rows = [
            record(team_id=long_team, user_id=nul_user, error="upstream said \x00", metadata={"tags": ["a\x00"]}),
            record(team_id="t" * 299 + "u"),
        ]
        assert await store.insert_batch(rows) == 2
        assert await store.spend_since("team", long_team, 0) == Decimal("0.000018")
        assert await store.spend_since("user", nul_user, 0) == Decimal("0.000018")
        assert await store.totals("team", [long_team, "t" * 299 + "u"]) == {
            long_team: Decimal("0.000018"),
            "t" * 299 + "u": Decimal("0.000018"),
        }
        [row], _ = await store.logs({"team_id": long_team}, None, None, 10, 0)
        assert len(row["team_id"]) == 255 and row["team_id"].startswith("t" * 200)
        assert "\x00" not in row["user_id"] and "\x00" not in row["error"] and row["metadata"] == {"tags": ["a\ufffd"]}
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


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_the_same_record_twice_in_one_batch_is_one_row_and_counted_once_in_the_daily_roll_up(
    database: str, fresh_pg: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        store = LedgerStore.from_url(fresh_pg if database == "postgresql" else f"sqlite:///{tmp_path / 'l.db'}")
        await store.create_tables()
        twice, once = record("twice"), record("once")
        assert await store.insert_batch([twice, once, dict(twice)]) == 2
        assert await stored_ids(store) == ["once", "twice"]
        assert await store.totals("key", ["hash-a"]) == {"hash-a": Decimal("0.000018") * 2}
        today = datetime.now(UTC).date()
        [day] = await store.daily_rows(today, today, {"api_key": "hash-a"})
        assert (day["api_requests"], day["successful_requests"], day["prompt_tokens"]) == (2, 2, 8)
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


def test_a_clean_shutdown_during_a_ship_ships_every_record_appended_before_it(fresh_pg: str, tmp_path: Path) -> None:
    """Shutdown arrives while the shipper is storing a batch, and requests appended more records
    after that batch was read: the shipper reads again before it stops, so none waits for the
    next start (seen before: 140 of 150 rows after a clean shutdown)."""
    import asyncpg

    async def scenario() -> None:
        store = LedgerStore.from_url(fresh_pg)
        await store.create_tables()
        writer = WalWriter(tmp_path, 1 << 20)
        shipper = Shipper(
            writer, store, batch_size=500, interval=3600, max_backoff=0.2,
            dead_letters=DeadLetters(tmp_path, lambda rid, reason: None),
        )  # fmt: skip
        shipper.start()
        # another session holds the roll-up table: the shipper's insert waits for it
        blocker = await asyncpg.connect(fresh_pg.replace("postgresql://", "postgres://"))
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE gateway_spend_daily IN EXCLUSIVE MODE")
        first = [record() for _ in range(100)]
        for r in first:
            writer.append(r)
        shipper.notify()
        for _ in range(200):  # until the shipper's insert is waiting for the lock
            waiting = await blocker.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting, "the shipper never started storing the first batch"
        later = [record() for _ in range(50)]  # answered while the first batch is being stored
        for r in later:
            writer.append(r)
        stopping = asyncio.create_task(shipper.stop(10))
        await asyncio.sleep(0.1)  # the shutdown has begun
        await transaction.commit()
        await blocker.close()
        await stopping

        assert await stored_ids(store) == sorted(r["request_id"] for r in first + later)
        assert shipper.status()["pending_bytes"] == 0
        writer.close(remove_if_shipped=True)
        await store.close()

    asyncio.run(scenario())


def test_a_ledger_of_its_own_made_before_organizations_gets_the_column_and_its_index(tmp_path: Path) -> None:
    """``plugins.spend.database_url``: no Alembic there, so ``create_tables`` adds what later versions
    added (spend0005's ``organization_id`` and its index with ``start_time``); reports by organization
    then find the rows."""
    import sqlalchemy as sa

    async def scenario() -> None:
        url = f"sqlite:///{tmp_path / 'own.db'}"
        store = LedgerStore.from_url(url)
        await store.create_tables()
        async with store.engine.begin() as conn:  # the ledger as an earlier version made it
            await conn.execute(sa.text("DROP INDEX ix_gateway_spend_logs_organization_start"))
            await conn.execute(sa.text("ALTER TABLE gateway_spend_logs DROP COLUMN organization_id"))
        await store.close()

        upgraded = LedgerStore.from_url(url)
        await upgraded.create_tables()
        async with upgraded.engine.connect() as conn:
            columns, indexes = await conn.run_sync(
                lambda sync: (
                    {c["name"] for c in sa.inspect(sync).get_columns("gateway_spend_logs")},
                    {i["name"]: i["column_names"] for i in sa.inspect(sync).get_indexes("gateway_spend_logs")},
                )
            )
        assert "organization_id" in columns
        assert indexes["ix_gateway_spend_logs_organization_start"] == ["organization_id", "start_time"]
        await upgraded.insert_batch([{**record("org-row"), "organization_id": "acme"}])
        today = datetime.now(UTC).date()
        rows = await upgraded.organization_rows(today, today, {"organization_id": "acme"})
        assert [(r["organization_id"], r["api_requests"]) for r in rows] == [("acme", 1)]
        await upgraded.close()

    asyncio.run(scenario())
