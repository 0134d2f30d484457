"""Turns wrkrun.sh lines into the ratios the README reports."""

from __future__ import annotations

import re
import sys


def ms(value: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", value))
    if value.endswith("us"):
        return number / 1000
    if value.endswith("ms"):
        return number
    if value.endswith("s"):
        return number * 1000
    return number


def main() -> None:
    path, first_ms, rss_kb = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rows: dict[tuple[str, str], dict[str, float]] = {}
    paired: list[str] = []
    for line in open(path):
        if line.startswith(("paired gateway/minimal", "paired pluggy-floor/minimal")):
            paired.append(line.strip())
        parts = line.split()
        if len(parts) < 5 or not parts[2].startswith("rps="):
            continue
        name, conns = parts[0], parts[1]
        fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        rows[(name, conns)] = {"rps": float(fields["rps"]), "p50": ms(fields["p50"]), "p99": ms(fields["p99"])}
    print()
    print(f"{'stack':<16}{'conns':>6}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for (name, conns), r in rows.items():
        print(f"{name:<16}{conns:>6}{r['rps']:>11.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}")
    gw, ref = rows.get(("gateway", "c32")), rows.get(("minimal", "c32"))
    if gw and ref:
        print(
            f"\ngateway / minimal proxy at 32 connections: {gw['rps'] / ref['rps']:.1%} of requests/s (one run after the other)"
        )
    for line in paired:
        print(line)
    gw1, ref1 = rows.get(("gateway", "c1")), rows.get(("minimal", "c1"))
    if gw1 and ref1:
        print(
            f"gateway p50 at 1 connection: +{gw1['p50'] - ref1['p50']:.2f} ms over the minimal proxy; p99 {gw1['p99']:.2f} ms"
        )
    ll = rows.get(("litellm", "c32"))
    if gw and ll:
        print(f"gateway / LiteLLM at 32 connections: {gw['rps'] / ll['rps']:.1f}x")
    print(f"idle RSS: {rss_kb / 1024:.0f} MB; start to first served request: {first_ms / 1000:.2f} s")


if __name__ == "__main__":
    main()
