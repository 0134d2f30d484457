"""Isolation benchmark: does a sink whose endpoint hangs, plus one that answers 500, slow requests?

Runs, one after the other on this machine, the same gateway config twice:

* **baseline**: no sinks;
* **bad sinks**: ``webhook`` to an endpoint that never answers, ``langfuse`` to one that answers
  HTTP 500, and ``prometheus`` (to read the drop counters), with small queues (200) so drops happen.

Each run: 200 warm-up requests, then 1,000 measured chat completions at 8 concurrent clients
against a local fake upstream.  Prints p50/p99 latency per run, the p99 difference, the gateway's
RSS before and after the load, and the sink drop counters from ``/metrics``.  Everything runs on
127.0.0.1 and stops by itself (well under 10 s of load).

    .venv/bin/python plugins/sinks/prometheus/bench/sink_isolation.py [REQUESTS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from gateway.testing import free_port

PY = sys.executable
MASTER = "sk-bench-master"
SERVER = """
import sys, time
from gateway.testing import FakeUpstream, Reply
kind, port = sys.argv[1], int(sys.argv[2])
server = FakeUpstream()
if kind == "hang":
    server.default = Reply(hang=True)
elif kind == "fail":
    server.default = Reply(status=500, json={"error": "down"})
from gateway.testing import ServerThread
server.server = ServerThread(server.app(), port, graceful_timeout=1).start()
while True:
    time.sleep(3600)
"""


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def load(port: int, count: int, concurrency: int = 8) -> list[float]:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}
    headers = {"authorization": f"Bearer {MASTER}"}
    latencies: list[float] = []
    remaining = iter(range(count))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in remaining:
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def write_config(directory: Path, upstream: int, hang: int | None, fail: int | None) -> Path:
    text = (
        "model_list:\n"
        f"  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_base: 'http://127.0.0.1:{upstream}/v1', api_key: sk-up}}\n"
        f"general_settings: {{master_key: {MASTER}}}\n"
    )
    if hang and fail:
        text += (
            "litellm_settings: {callbacks: [webhook, langfuse, prometheus]}\n"
            "plugins:\n"
            f"  webhook: {{url: 'http://127.0.0.1:{hang}/ingest'}}\n"
            f"  langfuse: {{public_key: pk-lf-bench, secret_key: sk-lf-bench, host: 'http://127.0.0.1:{fail}'}}\n"
            "  sinks:\n"
            "    access_log: false\n"
            "    delivery_defaults: {queue_size: 200, batch_size: 50, send_timeout: 2, max_retries: 2, retry_backoff: 0.2}\n"
        )
    else:
        text += "plugins: {sinks: {access_log: false}}\n"
    path = directory / ("bad-sinks.yaml" if hang else "baseline.yaml")
    path.write_text(text)
    return path


async def run_one(name: str, config: Path, requests: int) -> dict[str, object]:
    port = free_port()
    env = {"GATEWAY_LOAD_PLUGINS": "openai,webhook,langfuse,prometheus", "PROMETHEUS_MULTIPROC_DIR": ""}
    gateway = spawn([PY, "-m", "gateway", "--config", str(config), "--port", str(port)], env)
    try:
        await wait_ready(f"http://127.0.0.1:{port}/health/liveliness")
        await load(port, 200)
        before = rss_kb(gateway.pid)
        latencies = await load(port, requests)
        after = rss_kb(gateway.pid)
        drops = ""
        async with aiohttp.ClientSession() as session:
            async with session.get(
                f"http://127.0.0.1:{port}/metrics", headers={"authorization": f"Bearer {MASTER}"}
            ) as resp:
                if resp.status == 200:
                    drops = "\n".join(
                        line
                        for line in (await resp.text()).splitlines()
                        if line.startswith("gateway_sink_dropped_events_total")
                    )
        return {
            "name": name,
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "mean": statistics.fmean(latencies),
            "rss_before_kb": before,
            "rss_after_kb": after,
            "drops": drops,
        }
    finally:
        stop(gateway)


async def main(requests: int, rounds: int) -> None:
    upstream_port, hang_port, fail_port = free_port(), free_port(), free_port()
    servers = [
        spawn([PY, "-c", SERVER, kind, str(port)])
        for kind, port in (("ok", upstream_port), ("hang", hang_port), ("fail", fail_port))
    ]
    pairs: list[tuple[dict[str, object], dict[str, object]]] = []
    try:
        for port in (upstream_port, hang_port, fail_port):
            await wait_ready(f"http://127.0.0.1:{port}/v1/models") if port == upstream_port else await asyncio.sleep(
                0.5
            )
        with tempfile.TemporaryDirectory() as tmp:
            baseline = write_config(Path(tmp), upstream_port, None, None)
            bad = write_config(Path(tmp), upstream_port, hang_port, fail_port)
            # alternate the order round by round (ABBA ...) so drift in the machine's load
            # does not land on one side only
            for i in range(rounds):
                first, second = ("baseline", "bad") if i % 2 == 0 else ("bad", "baseline")
                got = {}
                for which in (first, second):
                    config, name = (
                        (baseline, "baseline (no sinks)") if which == "baseline" else (bad, "hanging + failing sinks")
                    )
                    got[which] = await run_one(name, config, requests)
                pairs.append((got["baseline"], got["bad"]))
    finally:
        for server in servers:
            stop(server)
    diffs = []
    for i, (base, worse) in enumerate(pairs, 1):
        for r in (base, worse):
            print(
                f"round {i} {r['name']:<26} p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  mean {r['mean']:.2f} ms  "
                f"RSS {r['rss_before_kb'] / 1024:.1f} -> {r['rss_after_kb'] / 1024:.1f} MiB"
            )
        diffs.append(worse["p99"] - base["p99"])  # type: ignore[operator]
    p99s = [float(base["p99"]) for base, _ in pairs]  # type: ignore[arg-type]
    print(
        f"p99 difference (bad sinks - baseline) per round: {', '.join(f'{d:+.2f}' for d in diffs)} ms; "
        f"median {statistics.median(diffs):+.2f} ms"
    )
    print(f"noise floor: the baseline's own p99 ranged {min(p99s):.2f}-{max(p99s):.2f} ms over the rounds")
    print(pairs[-1][1]["drops"] or "(no drop counters scraped)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 4))
