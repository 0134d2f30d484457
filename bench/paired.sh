#!/usr/bin/env bash
# A paired throughput comparison that the machine's noise cannot skew:
#   bash bench/paired.sh NAME_A URL_A PID_A NAME_B URL_B PID_B [ROUNDS] [SECONDS]
# Both servers are pinned to the same core and loaded at the same moment (wrk and the upstream on
# another core), so each gets half of that core: the ratio of their requests/s is the ratio of their
# CPU cost per request, measured under the same conditions. Run one after the other on a shared
# 2-core VM, the same server's requests/s varied by a third between runs; paired, an A/A run (two
# minimal proxies) gives 100-101% round after round. Prints one line per round and the median.
# MODEL_A / MODEL_B pick the model each load asks for (default gpt-4o-mini); LUA names another wrk script
# than the shared chat.lua (same environment variables); needs taskset and 2+ cores.
set -euo pipefail
name_a=$1 url_a=$2 pid_a=$3 name_b=$4 url_b=$5 pid_b=$6 rounds=${7:-5} seconds=${8:-3}
SHARED=${SHARED_BENCH:-$(cd "$(dirname "$0")/.." && pwd)/../shared/bench}
[ -d "$SHARED" ] || SHARED=/work/shared/bench
cores=$(nproc)
if [ "$cores" -lt 2 ] || ! command -v taskset >/dev/null; then
  echo "paired: needs taskset and at least 2 cores; skipped" >&2
  exit 0
fi
server_core=$((cores - 1))
# threads too (-a): the servers' own helper threads must not run elsewhere
taskset -a -p -c "$server_core" "$pid_a" >/dev/null
taskset -a -p -c "$server_core" "$pid_b" >/dev/null
for p in $(pgrep -f gateway-bench-upstream || true); do taskset -p -c 0 "$p" >/dev/null 2>&1 || true; done

lua=${LUA:-$SHARED/chat.lua}
load() {  # NAME URL MODEL -> "rps" (one wrk run at 32 connections on core 0)
  MODEL=$3 taskset -c 0 wrk -t1 -c32 -d"${seconds}s" -s "$lua" "$2" 2>&1 | awk '/Requests\/sec/{print $2}'
}
ratios=$(mktemp)
for round in $(seq 1 "$rounds"); do
  out_a=$(mktemp) out_b=$(mktemp)
  load "$name_a" "$url_a" "${MODEL_A:-gpt-4o-mini}" >"$out_a" & wa=$!
  load "$name_b" "$url_b" "${MODEL_B:-gpt-4o-mini}" >"$out_b" & wb=$!
  wait $wa $wb
  rps_a=$(cat "$out_a") rps_b=$(cat "$out_b")
  ratio=$(python3 -c "print(f'{$rps_b / $rps_a:.3f}')")
  echo "$ratio" >>"$ratios"
  echo "paired round $round: $name_a $rps_a req/s, $name_b $rps_b req/s, $name_b/$name_a $ratio"
  rm -f "$out_a" "$out_b"
done
python3 -c "
import statistics, sys
values = [float(v) for v in open('$ratios')]
print(f'paired $name_b/$name_a (same core, same moment): median {statistics.median(values):.1%} of {len(values)} rounds '
      f'(min {min(values):.1%}, max {max(values):.1%})')"
rm -f "$ratios"
