"""Admissions per second on a local three-master Redis Cluster: one hot slot against slots spread over the nodes.

Starts the cluster itself (redis-server --cluster-enabled, redis-cli --cluster create), then drives
gateway-spend's real counters (RedisCounters: the admit and settle scripts a request runs) from 3
client processes:

* ``one slot``: every process uses the same prefix, so every script runs on the one node serving
  its hash slot (what one gateway deployment does today: one ``redis_prefix``, one slot);
* ``spread``: each process uses a prefix whose slot lives on a different node.

Each request is a key budget + a team budget + a key rpm limit (the common case), admitted then
settled.  Printed: requests per second (wall clock, client-bound on a small machine) and, from
``INFO commandstats``, the server's microseconds per script call: the ceiling one node puts on one
slot, whatever the clients.  docs/scaling.md quotes a run.

    .venv/bin/python bench/cluster_admissions.py [--requests 6000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path

from gateway_spend.admission import AdmissionPlan, Admitted, BudgetLine, NeedSeed, RateLine
from gateway_spend.backend_redis import RedisCounters
from gateway_spend.resp import RespClient

from gateway.testing import local_redis_cluster


async def _drive(port: int, prefix: str, requests: int, concurrency: int) -> float:
    counters = RedisCounters(f"redis://127.0.0.1:{port}", prefix, window=60, buckets=60, timeout=10)
    lines = [
        BudgetLine("key", "k1", "key 'k1'", "key:k1", 10**18),
        BudgetLine("team", "t1", "team 't1'", "team:t1", 10**18),
    ]
    rates = [RateLine("key 'k1'", "rate:key:k1", 10**9, None)]
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            plan = AdmissionPlan(uuid.uuid4().hex, list(lines), list(rates), [], reserve=1000, ttl=60, tokens=0)
            outcome = await counters.admit(plan, None)
            if isinstance(outcome, NeedSeed):
                outcome = await counters.admit(plan, None, dict.fromkeys(outcome.indexes, 0))
            assert isinstance(outcome, Admitted), outcome
            await counters.settle(plan.rid, outcome.window_keys, 900, 10)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await counters.close()
    return elapsed


def _process(args: tuple[int, str, int, int]) -> float:
    return asyncio.run(_drive(*args))


async def _command(port: int, *args: object) -> object:
    client = RespClient(f"redis://127.0.0.1:{port}", timeout=10)
    try:
        return await client.execute(*args)
    finally:
        await client.close()


def command(port: int, *args: object) -> object:
    return asyncio.run(_command(port, *args))


def owner(ports: list[int], prefix: str) -> int:
    slot = command(ports[0], "CLUSTER", "KEYSLOT", f"{{{prefix}}}")
    for start, end, node, *_ in command(ports[0], "CLUSTER", "SLOTS"):  # type: ignore[union-attr]
        if start <= slot <= end:
            return int(node[1])
    raise RuntimeError("slot not served")


def script_usec(ports: list[int]) -> dict[int, tuple[int, float]]:
    """Per node: (script calls, microseconds per call) since the last CONFIG RESETSTAT."""
    found = {}
    for port in ports:
        text = command(port, "INFO", "commandstats").decode()  # type: ignore[union-attr]
        for line in text.splitlines():
            if line.startswith("cmdstat_evalsha:"):
                fields = dict(item.split("=") for item in line.split(":", 1)[1].split(","))
                found[port] = (int(fields["calls"]), float(fields["usec_per_call"]))
    return found


def scenario(name: str, ports: list[int], prefixes: list[str], requests: int, concurrency: int) -> None:
    for port in ports:
        command(port, "CONFIG", "RESETSTAT")
    share = requests // len(prefixes)
    jobs = [(owner(ports, p), p, share, concurrency) for p in prefixes]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        pool.map(_process, jobs)
    wall = time.perf_counter() - start
    stats = script_usec(ports)
    busy = {port: calls * usec / 1e6 for port, (calls, usec) in stats.items()}
    usec = sum(c * u for c, u in stats.values()) / max(1, sum(c for c, _ in stats.values()))
    print(
        f"{name:9s}: {share * len(jobs)} requests in {wall:.2f} s = {share * len(jobs) / wall:,.0f} req/s "
        f"(2 scripts each); server {usec:.1f} us per script; nodes busy "
        + ", ".join(f"{port}: {seconds:.2f} s" for port, seconds in sorted(busy.items()))
        + f"; one node's ceiling for one slot ~{1e6 / (2 * usec):,.0f} req/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight per client process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, local_redis_cluster(Path(folder)) as ports:
        hot = f"bench-{uuid.uuid4().hex[:6]}"
        spread: dict[int, str] = {}
        while len(spread) < len(ports):
            candidate = f"bench-{uuid.uuid4().hex[:6]}"
            spread.setdefault(owner(ports, candidate), candidate)
        print(f"cluster {ports}; 3 client processes, {args.concurrency} requests in flight each")
        scenario("one slot", ports, [hot] * 3, args.requests, args.concurrency)
        scenario("spread", ports, list(spread.values()), args.requests, args.concurrency)


if __name__ == "__main__":
    main()
