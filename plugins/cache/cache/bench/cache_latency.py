"""Benchmark: what a cache hit and a cache miss cost, against the minimal proxy and the gateway without a cache.

    .venv/bin/python plugins/cache/cache/bench/cache_latency.py [REQUESTS]     (default 2000 per variant)

One run, every server its own process on this machine:

* the upstream: ``gateway-mock serve`` (an OpenAI-compatible server answering at once);
* ``minimal``: bench/minimal_proxy.py in front of it (the floor of a Python proxy);
* ``no-plugin``: the gateway without gateway-cache;
* ``off``: the gateway with gateway-cache installed but ``cache`` not set (must cost nothing);
* ``local`` and ``redis``: the gateway with the cache (in process; Redis on 127.0.0.1:6379);
* ``semantic``: the gateway with ``type: redis-semantic`` (the shipped embedder, default settings).

A sequential keep-alive client sends chat completions, the variants interleaved round by round
(so a noisy neighbour hits them all alike), and prints the median and 90th percentile latency.
``hit``: the same prompt every time (all but the first are hits); ``miss``: a new prompt every time
(each a miss that stores its answer), compared with ``no-plugin`` on the same new prompts.
``semantic hit``: a paraphrase of a stored prompt every time (an exact miss, then a semantic hit);
the semantic variant's misses fill its candidate list to its bound (256) within the first rounds,
so they measure a lookup that compares the full bound.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
VENV = Path(sys.executable).parent
MASTER = "sk-bench-master"
ROUNDS = 20


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def gateway(
    tmp: Path, name: str, upstream: str, cache: dict | None, plugins: str
) -> tuple[str, subprocess.Popen[bytes]]:
    config: dict = {
        "model_list": [
            {"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": upstream, "api_key": "sk-up"}}
        ],
        "general_settings": {"master_key": MASTER},
    }
    if cache is not None:
        config["litellm_settings"] = {"cache": True, "cache_params": cache}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": plugins}
    for var in ("DATABASE_URL", "REDIS_URL", "GATEWAY_MASTER_KEY", "LITELLM_MASTER_KEY"):
        env.pop(var, None)
    proc = subprocess.Popen(
        [str(VENV / "gateway"), "--config", str(path), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/health/liveliness", proc)
    return url, proc


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    per_round = max(1, requests // ROUNDS)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            mock_port = free_port()
            mock = subprocess.Popen([str(VENV / "gateway-mock"), "serve", "--port", str(mock_port)])
            procs.append(mock)
            upstream = f"http://127.0.0.1:{mock_port}/v1"
            wait_ready(f"http://127.0.0.1:{mock_port}/", mock)
            minimal_port = free_port()
            minimal = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "minimal_proxy.py"),
                    f"http://127.0.0.1:{mock_port}",
                    str(minimal_port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(minimal)
            wait_ready(f"http://127.0.0.1:{minimal_port}/", minimal)
            targets = {"minimal": f"http://127.0.0.1:{minimal_port}/v1/chat/completions"}
            variants = {
                "no-plugin": (None, "openai"),
                "off": (None, "openai,cache"),
                "local": ({"type": "local"}, "openai,cache"),
                "redis": ({"type": "redis", "host": "127.0.0.1", "port": 6379, "namespace": namespace}, "openai,cache"),
                "semantic": (
                    {"type": "redis-semantic", "host": "127.0.0.1", "port": 6379, "namespace": namespace + "s"},
                    "openai,cache",
                ),
            }
            for name, (cache, plugins) in variants.items():
                url, proc = gateway(tmp, name, upstream, cache, plugins)
                procs.append(proc)
                targets[name] = url + "/v1/chat/completions"
            run(targets, per_round)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
            import redis

            client = redis.Redis(host="127.0.0.1", port=6379)
            keys = list(client.scan_iter(f"{namespace}:*")) + list(client.scan_iter(f"{namespace}s:*"))
            if keys:
                client.delete(*keys)


def run(targets: dict[str, str], per_round: int) -> None:
    headers = {"Authorization": f"Bearer {MASTER}"}
    clients = {name: httpx.Client(headers=headers, timeout=30) for name in targets}
    hit: dict[str, list[float]] = {name: [] for name in targets}
    miss: dict[str, list[float]] = {name: [] for name in ("no-plugin", "local", "redis", "semantic")}
    paraphrased: list[float] = []

    def call(name: str, prompt: str) -> float:
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        started = time.perf_counter()
        response = clients[name].post(targets[name], json=body)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        return elapsed

    for name in targets:  # warm-up, and the hit prompt's first (storing) call
        for _ in range(50):
            call(name, "the same question")
    call("semantic", "How do I reverse a list in Python?")  # what the paraphrases are served from
    for round_number in range(ROUNDS):
        for name in targets:
            hit[name].extend(call(name, "the same question") for _ in range(per_round))
        paraphrased.extend(call("semantic", "How can I reverse a list in Python?") for _ in range(per_round))
        for name in miss:
            miss[name].extend(call(name, f"question {round_number}-{i}-{uuid.uuid4().hex}") for i in range(per_round))

    def line(label: str, samples: list[float]) -> str:
        ordered = sorted(samples)
        p50 = statistics.median(ordered) * 1000
        p90 = ordered[int(len(ordered) * 0.9)] * 1000
        return f"{label:<34} p50 {p50:7.3f} ms   p90 {p90:7.3f} ms   (n={len(samples)})"

    print("same prompt every time (cache variants: hits)")
    for name in targets:
        print(line(f"  {name}", hit[name]))
    print(line("  semantic, a paraphrase (semantic hit)", paraphrased))
    print("a new prompt every time (cache variants: misses that store)")
    for name in miss:
        print(line(f"  {name}", miss[name]))
    base = statistics.median(hit["minimal"])
    semantic_hit = (statistics.median(paraphrased) - base) * 1000
    print(f"semantic hit (a paraphrase) vs minimal proxy's direct call: {semantic_hit:+.3f} ms")
    for name in ("local", "redis", "semantic"):
        print(f"hit vs minimal proxy's direct call, {name}: {(statistics.median(hit[name]) - base) * 1000:+.3f} ms")
        over = statistics.median(miss[name]) - statistics.median(miss["no-plugin"])
        print(f"miss overhead vs no cache, {name}: {over * 1000:+.3f} ms")
    off = statistics.median(hit["off"]) - statistics.median(hit["no-plugin"])
    print(f"installed but off vs not installed: {off * 1000:+.3f} ms")


if __name__ == "__main__":
    main()
