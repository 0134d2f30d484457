"""Benchmark: resident memory of a gateway process per 1,000 requests, ledger on (PostgreSQL) or off.

    .venv/bin/python plugins/governance/spend/bench/ledger_memory.py [--requests 100000] [--ledger on|off|both]
    .venv/bin/python plugins/governance/spend/bench/ledger_memory.py --tracemalloc [--requests 30000]

The gateway is the ``gateway`` CLI in its own process (one worker, the in-process mock model, a
key with a budget, counters in process memory) writing its ledger to a throw-away PostgreSQL
database on 127.0.0.1:5432.  A client in this process sends ``--requests`` chat completions
over 32 keep-alive connections after a warm-up of 5,000, and reads the gateway's ``VmRSS`` every
5,000 requests.  It prints the growth per 1,000 requests (least squares over the samples) for
the whole run and for its second half: a leak grows in both, a cache that fills up and stops
(a plateau) only in the first.

``--tracemalloc`` runs the gateway in this process instead (ASGI in process, no sockets) and
prints the source lines whose allocations grew most between the end of the warm-up and the end.

Figures (2-core VM shared with other work, PostgreSQL on the same host, 100,000 requests after
the warm-up; MB of RSS per 1,000 requests, whole run / second half):
    before (commit 12c6f79), ledger on:  0.494 / 0.457   (98.6 -> 151.8 MB: no plateau)
    before,                  ledger off: 0.037 / -0.003
    after (d5b816c),         ledger on:  0.036 / 0.013   (98.6 -> 102.3 MB)
    after (a545e6c),         ledger on:  0.017 / 0.016   (100.0 -> 102.6 MB); ledger off: 0.023 / 0.002
The cause (found with ``--tracemalloc`` and by counting the caches): SQLAlchemy's insertmanyvalues
renders one ``VALUES`` group per row, so every batch size is a different statement text, and
SQLAlchemy's asyncpg adapter and asyncpg cache up to 100 prepared statements per pooled
connection, each holding a text of up to hundreds of kilobytes.  Batches are now one statement
text of any size (see ``store.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from spend_helpers import MASTER, PG_ADMIN, GatewayProcess  # noqa: E402

KEY = "sk-bench-memory"
WARMUP = 5_000
SAMPLE_EVERY = 5_000
CONNECTIONS = 32
BODY = b'{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":7}'


def config(pg_url: str, ledger: bool) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "m",
                "litellm_params": {
                    "model": "mock/m",
                    "input_cost_per_token": 0.000001,
                    "output_cost_per_token": 0.000002,
                },
            }
        ],
        "general_settings": {"master_key": MASTER, "database_url": pg_url},
        "plugins": {
            "spend": {"ledger": ledger, "ship_interval_seconds": 0.5},
            "spend_testauth": {
                "keys": {
                    KEY: {
                        "key_hash": "bench-memory",
                        "key_alias": "bench",
                        "team_id": "bench-team",
                        "scopes": [
                            {"scope": "key", "id": "bench-memory", "max_budget": "1000000"},
                            {"scope": "team", "id": "bench-team", "max_budget": "1000000"},
                        ],
                    }
                }
            },
        },
    }


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def slope_per_thousand(samples: list[tuple[int, float]]) -> float:
    """Least-squares growth in MB per 1,000 requests."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in samples)
    den = sum((x - mean_x) ** 2 for x, _ in samples)
    return num / den * 1000


async def drive(url: str, total: int, on_progress: Any) -> int:
    """Send ``total`` requests over CONNECTIONS keep-alive connections; call ``on_progress(done)``."""
    import aiohttp

    done = 0
    failures = 0
    next_mark = SAMPLE_EVERY
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done, failures, next_mark
            while done < total:
                done += 1
                async with session.post(url + "/v1/chat/completions", data=BODY, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                if done >= next_mark:
                    next_mark += SAMPLE_EVERY
                    on_progress(done)

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return failures


def measure(pg_url: str, requests: int, ledger: bool, workdir: Path) -> dict[str, float]:
    gateway = GatewayProcess(config(pg_url, ledger), workdir).start()
    assert gateway.proc is not None
    pid = gateway.proc.pid
    try:
        asyncio.run(drive(gateway.url, WARMUP, lambda done: None))
        time.sleep(1)  # the shipper catches up
        samples: list[tuple[int, float]] = [(0, rss_mb(pid))]
        started = time.monotonic()
        failures = asyncio.run(drive(gateway.url, requests, lambda done: samples.append((done, rss_mb(pid)))))
        elapsed = time.monotonic() - started
        time.sleep(1)
        if ledger:
            status = gateway.admin("/spend/ledger/status")["ledger"]
            shipped = status["shipped"]
        else:
            shipped = 0
    finally:
        gateway.stop()
    half = [s for s in samples if s[0] >= requests // 2]
    return {
        "ledger": ledger,
        "requests": requests,
        "failures": failures,
        "rps": requests / elapsed,
        "rss_start": samples[0][1],
        "rss_end": samples[-1][1],
        "shipped": shipped,
        "slope": slope_per_thousand(samples),
        "slope_second_half": slope_per_thousand(half),
    }


def trace(pg_url: str, requests: int) -> None:
    """The gateway in this process under tracemalloc: which lines keep allocating."""
    import tracemalloc

    import httpx

    from gateway.testing import in_process_client

    os.environ["GATEWAY_LOAD_PLUGINS"] = "mock,spend,spend_testauth"
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 7}

    async def scenario() -> None:
        import gateway_mock
        import gateway_spend
        from spend_testauth import KeySpec, TestAuth

        cfg = config(pg_url, True)
        keys = {k: KeySpec.model_validate(v) for k, v in cfg["plugins"].pop("spend_testauth")["keys"].items()}
        plugins = [("mock", gateway_mock), ("spend", gateway_spend), TestAuth(keys)]
        async with in_process_client(cfg, plugins=plugins, load_entrypoints=False) as client:
            client: httpx.AsyncClient

            async def burst(count: int) -> None:
                sem = asyncio.Semaphore(CONNECTIONS)

                async def one() -> None:
                    async with sem:
                        response = await client.post("/v1/chat/completions", json=body, headers=headers)
                        assert response.status_code == 200, response.text

                await asyncio.gather(*(one() for _ in range(count)))

            gov = client.gateway.state["spend"]  # type: ignore[attr-defined]

            async def drained(records: int) -> None:
                # the log queue and the shipper run behind the answers (slower still under tracemalloc)
                while gov.ledger.shipper.shipped < records:
                    await asyncio.sleep(0.2)
                await asyncio.sleep(1)

            await burst(WARMUP)
            await drained(WARMUP)
            tracemalloc.start(8)
            first = tracemalloc.take_snapshot()
            for _ in range(requests // 1000):
                await burst(1000)
            await drained(WARMUP + requests // 1000 * 1000)
            last = tracemalloc.take_snapshot()
            grew = last.compare_to(first, "traceback")
            print(f"top allocations grown over {requests} requests (ledger on):")
            for stat in grew[:10]:
                print(f"\n{stat.size_diff / 1024:10.1f} KiB in {stat.count_diff:+d} blocks")
                for frame in stat.traceback.format()[-16:]:
                    print("   ", frame)

    asyncio.run(scenario())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--ledger", choices=["on", "off", "both"], default="both")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    name = f"spend_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    pg_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        if args.tracemalloc:
            trace(pg_url, args.requests)
            return
        modes = {"on": [True], "off": [False], "both": [True, False]}[args.ledger]
        with tempfile.TemporaryDirectory(prefix="spend-bench-") as tmp:
            for ledger in modes:
                result = measure(pg_url, args.requests, ledger, Path(tmp) / ("on" if ledger else "off"))
                print(
                    f"ledger {'on ' if ledger else 'off'}: {result['requests']} requests ({result['failures']} failed, "
                    f"{result['rps']:.0f}/s, {result['shipped']} rows shipped), RSS {result['rss_start']:.1f} -> "
                    f"{result['rss_end']:.1f} MB: {result['slope']:.3f} MB per 1,000 requests "
                    f"(second half: {result['slope_second_half']:.3f})",
                    flush=True,
                )
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
