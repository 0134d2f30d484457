#!/usr/bin/env bash
# Requests/s through the complexity router vs the same request sent to the tier's model name, paired
# (bench/paired.sh): two identical gateways on one core, loaded at the same moment, deployments on the
# fixed-answer nginx upstream of the kernel bench (../shared/bench/upstream.sh), one worker each.
#   bash plugins/routers/complexity/bench/throughput.sh [ROUNDS] [SECONDS]
# Two prompts: the shared bench's "Say hello in one short sentence." (SIMPLE -> gpt-4o-mini) and the
# architecture ask of ask.lua (COMPLEX -> claude-sonnet).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
[ -d "$SHARED" ] || SHARED=/work/shared/bench
export SHARED_BENCH=$SHARED
rounds=${1:-7} seconds=${2:-3}
UP=18080 A=18095 B=18096
config=$(mktemp --suffix=.yaml)
cat >"$config" <<YAML
model_list:
  - model_name: smart-router
    litellm_params:
      model: auto_router/complexity_router
      complexity_router_config:
        tiers: {SIMPLE: gpt-4o-mini, MEDIUM: gpt-4o, COMPLEX: claude-sonnet}
  - {model_name: gpt-4o-mini, litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:$UP/v1", api_key: sk-upstream}}
  - {model_name: gpt-4o, litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:$UP/v1", api_key: sk-upstream}}
  - {model_name: claude-sonnet, litellm_params: {model: openai/claude-sonnet, api_base: "http://127.0.0.1:$UP/v1", api_key: sk-upstream}}
general_settings:
  master_key: sk-bench-master
YAML
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; bash "$SHARED/upstream.sh" stop $UP >/dev/null 2>&1 || true; rm -f "$config"; }
trap cleanup EXIT
bash "$SHARED/upstream.sh" start $UP >/dev/null
for port in $A $B; do
  GATEWAY_LOAD_PLUGINS=openai,complexity_router "$ROOT/.venv/bin/gateway" --config "$config" --port $port --log-format json 2>/dev/null &
  pids+=($!)
done
for port in $A $B; do
  for _ in $(seq 1 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" -H 'Authorization: Bearer sk-bench-master' \
      -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' && break
    sleep 0.05
  done
done
echo "short prompt (SIMPLE): direct gpt-4o-mini vs smart-router"
MODEL_A=gpt-4o-mini MODEL_B=smart-router bash "$ROOT/bench/paired.sh" direct "http://127.0.0.1:$A/v1/chat/completions" "${pids[0]}" \
  router "http://127.0.0.1:$B/v1/chat/completions" "${pids[1]}" "$rounds" "$seconds"
echo "architecture ask (COMPLEX): direct claude-sonnet vs smart-router"
LUA=$HERE/ask.lua MODEL_A=claude-sonnet MODEL_B=smart-router bash "$ROOT/bench/paired.sh" direct "http://127.0.0.1:$A/v1/chat/completions" "${pids[0]}" \
  router "http://127.0.0.1:$B/v1/chat/completions" "${pids[1]}" "$rounds" "$seconds"
