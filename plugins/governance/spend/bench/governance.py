"""Benchmark: full governance (scoped key with budgets, rpm/tpm, parallel limit, ledger) vs the master key.

    .venv/bin/python plugins/governance/spend/bench/governance.py [SECONDS]     (default 6 s per wrk run)

Same run, same gateway process for both kinds of request, with wrk (Debian's) driving:
  1. one worker, counters in process memory: 1 and 32 connections;
  2. two workers (``--workers 2``) sharing a private Redis (started here on a free port, so its
     INFO commandstats counts only this benchmark): 32 connections, and Redis commands per request.
The model is the in-process mock (the fastest possible provider), so the differences are the
plugin's own cost.  The ledger is a SQLite file; its shipping runs in the same processes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(HERE.parent / "tests"))
from spend_helpers import GatewayProcess  # noqa: E402

SHARED = Path(os.environ.get("SHARED_BENCH", ROOT.parent / "shared" / "bench"))
MASTER = "sk-bench-master"
GOVERNED = "sk-bench-governed"
SCOPES = [
    {
        "scope": "key",
        "id": "bench-key",
        "max_budget": "1000000",
        "rpm_limit": 10**9,
        "tpm_limit": 10**12,
        "max_parallel_requests": 100000,
        "alias": "bench",
    },
    {"scope": "team", "id": "bench-team", "max_budget": "1000000", "soft_budget": "999999"},
]


def config(tmp: Path, redis_url: str | None) -> dict:
    spend: dict = {"ship_interval_seconds": 0.5}
    if redis_url:
        spend["redis_url"] = redis_url
    return {
        "model_list": [
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {
                    "model": "mock/gpt-4o-mini",
                    "input_cost_per_token": 0.00000015,
                    "output_cost_per_token": 0.0000006,
                },
            }
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp / 'ledger.db'}"},
        "plugins": {
            "spend": spend,
            "spend_testauth": {
                "keys": {
                    GOVERNED: {"key_hash": "bench-key", "key_alias": "bench", "team_id": "bench-team", "scopes": SCOPES}
                }
            },
        },
    }


def wrk(name: str, url: str, connections: int, seconds: int, key: str) -> dict:
    out = subprocess.run(
        ["bash", str(SHARED / "wrkrun.sh"), name, url, str(connections), str(seconds)],
        env={**os.environ, "KEY": key},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    fields = dict(p.split("=", 1) for p in out.split()[2:] if "=" in p)
    return {
        "line": out,
        "rps": float(fields["rps"]),
        "p50": _ms(fields["p50"]),
        "non2xx": int(fields.get("non2xx") or 0),
    }


def _ms(value: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", value))
    return (
        number / 1000
        if value.endswith("us")
        else number * 1000
        if value.endswith("s") and not value.endswith("ms")
        else number
    )


def redis_round_trips(port: int) -> int:
    """Client commands that reached Redis: script calls (EVALSHA/EVAL) plus any plain command.

    Commands a script runs inside Redis are listed under their own names in commandstats too, so
    they are excluded: only what a client sent counts as a round trip.
    """
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "commandstats"], capture_output=True, text=True).stdout
    calls = {m[0]: int(m[1]) for m in re.findall(r"cmdstat_([a-z|]+):calls=(\d+)", out)}
    return sum(v for k, v in calls.items() if k in ("evalsha", "eval", "ping", "script|load", "get", "set", "publish"))


def warm(url: str, key: str) -> None:
    for _ in range(20):
        httpx.post(
            url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    tmp = Path(tempfile.mkdtemp(prefix="spend-bench-"))
    results = []
    try:
        # ---- one worker, in-process counters
        gateway = GatewayProcess(config(tmp / "one", None), tmp / "one").start()
        try:
            url = gateway.url + "/v1/chat/completions"
            warm(gateway.url, MASTER)
            warm(gateway.url, GOVERNED)
            # alternating pairs: the machine is shared, so neighbours in time are compared
            for connections in (1, 32):
                for key in (MASTER, GOVERNED) * 3:
                    label = f"1w-{'master' if key == MASTER else 'governed'}"
                    results.append((label, connections, wrk(label, url, connections, seconds, key)))
        finally:
            gateway.stop()

        # ---- two workers sharing a private Redis
        redis_port = _free_port()
        redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
        )
        try:
            time.sleep(0.3)
            two = GatewayProcess(config(tmp / "two", f"redis://127.0.0.1:{redis_port}/0"), tmp / "two")
            two.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gateway"),
                    "--config",
                    str(two.config_path),
                    "--port",
                    str(two.port),
                    "--workers",
                    "2",
                ],
                cwd=two.workdir,
                env=two.env,
                stdout=open(two.log_path, "ab"),
                stderr=subprocess.STDOUT,
            )
            two.start()
            try:
                url = two.url + "/v1/chat/completions"
                warm(two.url, MASTER)
                warm(two.url, GOVERNED)
                for key in (MASTER, GOVERNED):
                    label = f"2w-{'master' if key == MASTER else 'governed'}"
                    before = redis_round_trips(redis_port)
                    run = wrk(label, url, 32, seconds, key)
                    run["redis_per_request"] = (redis_round_trips(redis_port) - before) / max(1, run["rps"] * seconds)
                    results.append((label, 32, run))
            finally:
                two.stop()
        finally:
            redis_proc.terminate()
            redis_proc.wait(5)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(results)


def _free_port() -> int:
    from gateway.testing import free_port

    return free_port()


def report(results: list) -> None:
    print()
    for _label, _connections, run in results:
        extra = f"  redis commands/request={run['redis_per_request']:.2f}" if "redis_per_request" in run else ""
        print(f"{run['line']}{extra}")
    print()

    def best(label: str, connections: int, field: str) -> float:
        values = [r[field] for lab, c, r in results if lab == label and c == connections]
        return max(values) if field == "rps" else min(values)

    def pair_ratios(connections: int) -> list[float]:
        runs = [r for lab, c, r in results if lab.startswith("1w") and c == connections]
        return sorted(g["rps"] / m["rps"] for m, g in zip(runs[0::2], runs[1::2], strict=True))

    for connections in (1, 32):
        m_rps, g_rps = best("1w-master", connections, "rps"), best("1w-governed", connections, "rps")
        m_p50, g_p50 = best("1w-master", connections, "p50"), best("1w-governed", connections, "p50")
        ratios = pair_ratios(connections)
        print(
            f"one worker, c{connections}: governed/master requests/s, median of adjacent pairs = "
            f"{ratios[len(ratios) // 2]:.2f} (pairs {', '.join(f'{r:.2f}' for r in ratios)}; best {g_rps:.0f} vs "
            f"{m_rps:.0f}); added p50 = {g_p50 - m_p50:+.2f} ms (best {g_p50:.2f} vs {m_p50:.2f})"
        )
    m_rps, g_rps = best("2w-master", 32, "rps"), best("2w-governed", 32, "rps")
    per_request = [r["redis_per_request"] for lab, _, r in results if lab == "2w-governed"][0]
    print(
        f"two workers + Redis, c32: governed/master requests/s = {g_rps / m_rps:.2f} ({g_rps:.0f} vs {m_rps:.0f}); "
        f"Redis commands per governed request = {per_request:.2f}"
    )
    print(
        yaml.safe_dump(
            {"note": "non2xx must be 0 everywhere", "non2xx": {f"{lab}-c{c}": r["non2xx"] for lab, c, r in results}},
            sort_keys=False,
        )
    )


if __name__ == "__main__":
    main()
