"""Requests/s through the gateway with a virtual key vs the master key, in the same run.

    .venv/bin/python plugins/governance/virtual-keys/bench/bench_auth.py [--seconds 1] [--rounds 2] [--connections 16]

One gateway process (SQLite store, gateway-openai provider) in front of the fixed-answer nginx
upstream (``shared/bench/upstream.sh``); wrk (``shared/bench/wrkrun.sh``) drives
``/v1/chat/completions``.  Runs alternate master, virtual, virtual, master (ABBA, ``--rounds``
times) so drift on a shared machine cancels out; the load lasts 4 x rounds x seconds (keep it at
most ~10 s), plus a 1 s warm-up per key.  Reported per key: requests/s (mean of its runs) and
the gateway's CPU time per request (from ``/proc/<pid>/stat``), which stays meaningful when other
work shares the machine; the verdict uses both as virtual/master ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from gateway.testing import free_port

BENCH = Path(os.environ.get("GATEWAY_SHARED_BENCH", "/work/shared/bench"))
MASTER = "sk-bench-master"


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {MASTER}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            sys.exit(f"the gateway exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health/liveliness", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("the gateway did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(name: str, url: str, key: str, connections: int, seconds: float) -> float:
    env = {**os.environ, "KEY": key, "MODEL": "gpt-4o-mini"}
    line = subprocess.run(
        [str(BENCH / "wrkrun.sh"), name, url + "/v1/chat/completions", str(connections), str(int(seconds))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    print(line)
    if "non2xx=0" not in line:
        sys.exit(f"{name}: some requests failed: {line}")
    return float(re.search(r"rps=([\d.]+)", line).group(1))  # type: ignore[union-attr]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("nginx") is None:
        sys.exit("needs wrk and nginx (apt-get install -y wrk nginx-light libnginx-mod-http-echo)")
    upstream_port, port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="vk-bench-"))
    config = workdir / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": "gpt-4o-mini",
                        "litellm_params": {
                            "model": "openai/gpt-4o-mini",
                            "api_base": f"http://127.0.0.1:{upstream_port}/v1",
                            "api_key": "sk-up",
                        },
                    }
                ],
                "general_settings": {"master_key": MASTER},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(GATEWAY_LOAD_PLUGINS="virtual_keys,openai", TMPDIR=str(workdir))
    subprocess.run([str(BENCH / "upstream.sh"), "start", str(upstream_port)], check=True, env=env, capture_output=True)
    gateway = subprocess.Popen(
        [str(Path(sys.executable).with_name("gateway")), "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "gateway.log", "w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, gateway)
        key = str(
            _post(
                url + "/key/generate",
                {"user_id": "bench", "team_id": "bench", "models": ["gpt-4o-mini"], "max_budget": 1000},
            )["key"]
        )
        for name, credential in (("warm-master", MASTER), ("warm-virtual", key)):
            _wrk(name, url, credential, args.connections, 1)
        rps: dict[str, list[float]] = {"master": [], "virtual": []}
        cpu: dict[str, float] = {"master": 0.0, "virtual": 0.0}
        served: dict[str, float] = {"master": 0.0, "virtual": 0.0}
        for _ in range(args.rounds):
            for name, credential in (("master", MASTER), ("virtual", key), ("virtual", key), ("master", MASTER)):
                before = _cpu_seconds(gateway.pid)
                rate = _wrk(name, url, credential, args.connections, args.seconds)
                cpu[name] += _cpu_seconds(gateway.pid) - before
                served[name] += rate * args.seconds
                rps[name].append(rate)
        mean = {name: sum(v) / len(v) for name, v in rps.items()}
        per_request = {name: 1e6 * cpu[name] / served[name] for name in cpu}
        for name in ("master", "virtual"):
            print(f"{name:<8} key  {mean[name]:9.1f} req/s   {per_request[name]:7.1f} µs gateway CPU per request")
        print(
            f"virtual/master throughput {mean['virtual'] / mean['master']:.3f}   "
            f"CPU per request {per_request['virtual'] / per_request['master']:.3f}  (target: within 10%)"
        )
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        subprocess.run([str(BENCH / "upstream.sh"), "stop", str(upstream_port)], env=env, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
