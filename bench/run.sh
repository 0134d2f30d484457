#!/usr/bin/env bash
# The kernel benchmark: one run, side by side, on this machine.
#   direct upstream (nginx, fixed answer)  |  minimal pass-through proxy (the floor)  |  gateway
# plus the issue's calibration point (the minimal proxy with six trivial pluggy hooks, pluggy_floor.py),
# at 1 and 32 connections, plus the gateway's idle RSS and time from start to first served request.
# A LiteLLM proxy is added when .litellm/bin/litellm exists (see ../shared/bench/litellm-compare.yaml).
#   bash bench/run.sh [SECONDS]        (default 10 s per wrk run)
# The sequential runs are what wrk sees; on a shared VM their requests/s swing by a third from run to
# run, so the gateway/minimal ratio is also measured paired (bench/paired.sh), which is stable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_RUN=${1:-10}
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
[ -d "$SHARED" ] || SHARED=/work/shared/bench
PY=$ROOT/.venv/bin/python
UP=18080 REF=18081 GW=18082 LL=18083 FLOOR=18084

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || [ ! -f /usr/lib/nginx/modules/ngx_http_echo_module.so ]; then
  apt-get update -qq && apt-get install -y -qq nginx-light libnginx-mod-http-echo wrk >/dev/null
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; bash "$SHARED/upstream.sh" stop $UP >/dev/null 2>&1 || true; }
trap cleanup EXIT

bash "$SHARED/upstream.sh" start $UP >/dev/null
wait_port() { for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }

$PY bench/minimal_proxy.py "http://127.0.0.1:$UP" $REF & ref_pid=$!; pids+=($ref_pid)
wait_port $REF
$PY bench/pluggy_floor.py "http://127.0.0.1:$UP" $FLOOR & floor_pid=$!; pids+=($floor_pid)
wait_port $FLOOR

# the gateway: time from start to the first served chat completion
start=$(date +%s%N)
$ROOT/.venv/bin/gateway --config examples/bench.yaml --port $GW --log-format json 2>/tmp/gateway-bench.log & gw_pid=$!; pids+=($gw_pid)
until curl -sf -o /dev/null "http://127.0.0.1:$GW/v1/chat/completions" -H 'Authorization: Bearer sk-bench-master' \
      -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'; do sleep 0.01; done
first_ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 1
rss_kb=$(ps -o rss= -p "$(pgrep -P $gw_pid | head -1 || echo $gw_pid)" 2>/dev/null || ps -o rss= -p $gw_pid)
[ -n "$rss_kb" ] || rss_kb=$(ps -o rss= -p $gw_pid)

if [ -x .litellm/bin/litellm ]; then
  .litellm/bin/litellm --config "$SHARED/litellm-compare.yaml" --port $LL --num_workers 1 >/tmp/litellm-bench.log 2>&1 & pids+=($!)
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$LL/health/liveliness" && break; sleep 0.1; done
fi

run() { bash "$SHARED/wrkrun.sh" "$1" "$2" "$3" "$SECONDS_PER_RUN"; }
results=$(mktemp)
for c in 1 32; do
  run direct  "http://127.0.0.1:$UP/v1/chat/completions" $c | tee -a "$results"
  run minimal "http://127.0.0.1:$REF/v1/chat/completions" $c | tee -a "$results"
  run gateway "http://127.0.0.1:$GW/v1/chat/completions" $c | tee -a "$results"
  if [ -x .litellm/bin/litellm ]; then run litellm "http://127.0.0.1:$LL/v1/chat/completions" $c | tee -a "$results"; fi
done
STREAM=1 MODEL=stream run gateway-stream "http://127.0.0.1:$GW/v1/chat/completions" 32 | tee -a "$results"

# the ratio again, paired: both servers on one core at the same moment (see bench/paired.sh)
bash bench/paired.sh minimal "http://127.0.0.1:$REF/v1/chat/completions" "$ref_pid" \
  gateway "http://127.0.0.1:$GW/v1/chat/completions" "$gw_pid" "${PAIRED_ROUNDS:-5}" 3 | tee -a "$results"
# the calibration point measured the same way: what six trivial hooks cost on this machine (the issue: 89%)
bash bench/paired.sh minimal "http://127.0.0.1:$REF/v1/chat/completions" "$ref_pid" \
  pluggy-floor "http://127.0.0.1:$FLOOR/v1/chat/completions" "$floor_pid" "${PAIRED_ROUNDS:-5}" 3 | tee -a "$results"

$PY bench/summarize.py "$results" "$first_ms" "$rss_kb"
