"""What the complexity router costs, measured two ways in one run.

1. The classifier alone: time per request for a 2k-token prompt and for a 1 MB prompt (what the
   router does per request: pick the newest ask, cut the head and tail, classify), over many
   runs; wall time and this thread's CPU time (the machine is shared, so wall-time tails include
   other processes' work; CPU time does not).
2. The gateway pipeline in-process: CPU per request through the router and direct (robust to
   other load on the machine, since it counts this thread's CPU time only).
3. End to end: requests/s through ``smart-router`` (the seed's entry) vs the same request sent to
   the tier's model name directly, against one ``gateway serve`` process with mock deployments
   (no upstream latency, so the gateway's own work is all there is to measure).  Ten rounds
   alternate router/direct and the medians are compared; total load <= 10 s.

    python plugins/routers/complexity/bench/bench_complexity.py [--seconds 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from gateway_complexity_router.config import ComplexityRouterConfig
from gateway_complexity_router.router import TierRouter

from gateway import RequestContext
from gateway.chat import decode_openai_chat
from gateway.testing import free_port

TIERS = {"SIMPLE": "gpt-4o-mini", "MEDIUM": "gpt-4o", "COMPLEX": "claude-sonnet"}
MASTER = "sk-bench"
ASK = (
    "We are splitting our Django monolith into microservices. First, propose the service boundaries; then design "
    "the Kafka event flow between the order, payment and inventory services, and explain how you keep data consistent."
)
FILLER = (
    "The platform team reviewed the incident timeline, the deployment history and the dashboards of the "
    "affected services, and wrote down what each on-call engineer saw and did during the outage. "
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def classifier_timing(runs: int) -> None:
    router = TierRouter("smart-router", ComplexityRouterConfig(tiers=TIERS))
    prompts = {
        "2k tokens (8,000 chars)": (FILLER * 60)[:7600] + "\n" + ASK,
        "1 MB": FILLER * (1_000_000 // len(FILLER) + 1) + ASK,
    }
    print("classifier, per request (extract the ask + classify):")
    for name, prompt in prompts.items():
        body = {"model": "smart-router", "messages": [{"role": "user", "content": prompt}]}
        ctx = RequestContext(request_id="bench", endpoint="chat", body=body, headers={})
        ctx.request = decode_openai_chat(body)
        wall, cpu = [], []
        for _ in range(200):
            router.decide(ctx)
        for _ in range(runs):
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            decision = router.decide(ctx)
            cpu.append((time.thread_time_ns() - c0) / 1000)
            wall.append((time.perf_counter_ns() - w0) / 1000)
        print(
            f"  {name:>24}: wall p50 {percentile(wall, 0.5):6.1f} us, p99 {percentile(wall, 0.99):6.1f} us | "
            f"cpu p50 {percentile(cpu, 0.5):6.1f} us, p99 {percentile(cpu, 0.99):6.1f} us  -> {decision.tier}"
        )


def bench_config() -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {
            "model_name": "smart-router",
            "litellm_params": {"model": "auto_router/complexity_router", "complexity_router_config": {"tiers": TIERS}},
        },
    ]
    entries += [
        {"model_name": g, "litellm_params": {"model": f"mock/{g}", "mock_response": "ok"}} for g in TIERS.values()
    ]
    return {"model_list": entries, "general_settings": {"master_key": MASTER}}


def write_config(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(bench_config()))
    return path


def pipeline_cpu(requests: int) -> None:
    """The gateway's request pipeline in-process (no HTTP, no other process): CPU per request."""
    import logging

    import gateway_complexity_router
    import gateway_mock

    from gateway import Gateway
    from gateway import _pipeline as pipeline  # a benchmark of the kernel's internals, not plugin code

    logging.disable(logging.INFO)  # the access line is the same for both; keep it out of the terminal
    gateway = Gateway(bench_config(), plugins=[gateway_mock, gateway_complexity_router], load_entrypoints=False)

    async def run(model: str) -> float:
        async with gateway.running():
            started = time.thread_time_ns()
            for i in range(requests):
                body = {"model": model, "messages": [{"role": "user", "content": ASK}]}
                ctx = RequestContext(request_id=f"r{i}", endpoint="chat", body=body, headers={}, api_key=MASTER)
                ctx.request = decode_openai_chat(body)  # what the OpenAI surface does before the pipeline
                ctx.requested_model = model
                await pipeline.run(gateway, ctx)
                pipeline.finish(gateway, ctx)
            return (time.thread_time_ns() - started) / requests / 1000

    # a full collection scans every object of the process (tens of ms here): start each arm from a
    # collected, frozen heap so that one arm does not pay for the other's garbage
    gc.collect()
    gc.freeze()
    cpu: dict[str, list[float]] = {"smart-router": [], "claude-sonnet": []}
    for round_number in range(6):
        for model in cpu if round_number % 2 else reversed(list(cpu)):
            gc.collect()
            cpu[model].append(asyncio.run(run(model)))
    routed, direct = statistics.median(cpu["smart-router"]), statistics.median(cpu["claude-sonnet"])
    print(
        f"\npipeline in-process (auth, hooks, routing, mock call, log hand-off), CPU per request, medians of 6 x {requests}:"
    )
    print(f"  router {routed:.1f} us, direct {direct:.1f} us: the router adds {routed - direct:.1f} us per request")


async def load(url: str, model: str, seconds: float, concurrency: int) -> float:
    body = {"model": model, "messages": [{"role": "user", "content": ASK}]}
    headers = {"Authorization": f"Bearer {MASTER}"}
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(url, json=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}: {await resp.text()}")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return done / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(seconds: float, concurrency: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder))
        env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "mock,complexity_router"}
        gateway = str(Path(sys.executable).with_name("gateway"))
        server = subprocess.Popen(
            [gateway, "serve", "--config", str(config), "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready = f"http://127.0.0.1:{port}/health/readiness"
            for _ in range(200):
                try:
                    if asyncio.run(_get(ready)) == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            asyncio.run(load(url, "smart-router", 0.5, concurrency))  # warm-up
            rounds = 10
            results: dict[str, list[float]] = {"smart-router": [], "claude-sonnet": []}
            cpu: dict[str, list[float]] = {"smart-router": [], "claude-sonnet": []}
            for _ in range(rounds // 2):
                for model in results:
                    before = cpu_seconds(server.pid)
                    rate = asyncio.run(load(url, model, seconds / rounds, concurrency))
                    used = cpu_seconds(server.pid) - before
                    results[model].append(rate)
                    cpu[model].append(used / (rate * seconds / rounds) * 1e6)
        finally:
            server.terminate()
            server.wait(timeout=30)
    # medians of alternating rounds: another process taking the CPU for a second spoils one round, not the ratio
    routed, direct = statistics.median(results["smart-router"]), statistics.median(results["claude-sonnet"])
    print(f"\nthroughput, concurrency {concurrency}, {seconds:g} s of load, one gateway worker, mock upstream:")
    print(
        f"  through smart-router (classified to COMPLEX): {routed:8.0f} req/s  rounds {[round(r) for r in results['smart-router']]}"
    )
    print(
        f"  direct model name claude-sonnet:              {direct:8.0f} req/s  rounds {[round(r) for r in results['claude-sonnet']]}"
    )
    print(f"  ratio router/direct: {routed / direct:.3f} (wall clock: sensitive to other load on the machine)")
    cpu_routed, cpu_direct = statistics.median(cpu["smart-router"]), statistics.median(cpu["claude-sonnet"])
    print(
        f"  gateway CPU per request: router {cpu_routed:.0f} us, direct {cpu_direct:.0f} us -> capacity ratio "
        f"router/direct {cpu_direct / cpu_routed:.3f} (what one worker can serve when the CPU is its own)"
    )


async def _get(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="total load time (split over 10 rounds)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5000, help="classifier runs per prompt")
    args = parser.parse_args()
    classifier_timing(args.runs)
    pipeline_cpu(2000)
    throughput(min(args.seconds, 10.0), args.concurrency)


if __name__ == "__main__":
    main()
