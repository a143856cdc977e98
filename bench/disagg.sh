#!/usr/bin/env bash
# Prefill/decode disaggregation against one colocated instance, under the same bursty workload mix:
#   disagg:  a prefill instance pinned to CPU 0 and a decode instance pinned to CPU 1 behind
#            `tessera router --prefill/--decode`;
#   coloc:   one instance on both CPUs with chunked prefill (--max-batched-tokens $CHUNK).
# Each configuration runs `tessera bench serve` over the same rate sweep, seed and mix; rounds
# alternate the two, so load from elsewhere on the machine falls on both alike. With LINKS set
# (bytes/s, comma-separated), the disaggregated setup is also run once per emulated KV link
# (--kv-link-shaping on the prefill instance) at the first rate.
#
# Usage: bench/disagg.sh MODEL.gguf OUT_DIR
#   env: RATES (0.5,1,2)  N (30 requests per rate)  ROUNDS (2)  CHUNK (128)
#        MIX (0.2:256-512/8,0.8:16-32/48)  SLO (ttft:20000,tpot:250)  ARRIVALS (gamma)  BURSTINESS (0.5)
#        LINKS (e.g. 125000000,1250000000,12500000000 for 1/10/100 Gb/s; default none)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$1"
out="$2"
mkdir -p "$out"
rates="${RATES:-0.5,1,2}"
n="${N:-30}"
rounds="${ROUNDS:-2}"
chunk="${CHUNK:-128}"
mix="${MIX:-0.2:256-512/8,0.8:16-32/48}"
slo="${SLO:-ttft:20000,tpot:250}"
arrivals="${ARRIVALS:-gamma}"
burstiness="${BURSTINESS:-0.5}"
export TESSERA_CLUSTER_TOKEN="${TESSERA_CLUSTER_TOKEN:-disagg-bench-token-of-32-chars!!}"
tessera="$root/tessera"
"$tessera" --version >/dev/null  # builds the jar when needed

pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

# waits up to 120 s for a server's /v1/models
ready() {
  for _ in $(seq 1 240); do
    curl -sf "$1/v1/models" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "disagg: $1 did not come up" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

serve_opts=(--model "$model" --kv-cache-memory 256M --max-seqs 32 --no-access-log)

load() {  # url name rates count
  "$tessera" bench serve --base-url "$1" --request-rate "$3" --num-prompts "$4" --mix "$mix" \
    --arrivals "$arrivals" --burstiness "$burstiness" --slo "$slo" --seed 7 --timeout 300 --warmup-requests 6 \
    --result-json "$out/$2.json" --plot "$out/$2.html" > "$out/$2.txt" 2>&1 || true
  tail -n 12 "$out/$2.txt"
}

coloc() {  # name
  local p; p=$(free_port)
  taskset -c 0,1 "$tessera" serve "${serve_opts[@]}" --port "$p" --threads 2 --max-batched-tokens "$chunk" \
    > "$out/$1.serve.log" 2>&1 &
  pids+=($!)
  ready "http://127.0.0.1:$p"
  load "http://127.0.0.1:$p" "$1" "$rates" "$n"
  stop_all
}

disagg() {  # name rates count [shaping]
  local pp dp kp rp
  pp=$(free_port); dp=$(free_port); kp=$(free_port); rp=$(free_port)
  local shaping=()
  [ -n "${4:-}" ] && shaping=(--kv-link-shaping "$4")
  taskset -c 0 "$tessera" serve "${serve_opts[@]}" --port "$pp" --threads 1 --kv-role prefill \
    --kv-transfer-listen "127.0.0.1:$kp" "${shaping[@]}" > "$out/$1.prefill.log" 2>&1 &
  pids+=($!)
  taskset -c 1 "$tessera" serve "${serve_opts[@]}" --port "$dp" --threads 1 --kv-role decode \
    --kv-peers "127.0.0.1:$kp" > "$out/$1.decode.log" 2>&1 &
  pids+=($!)
  ready "http://127.0.0.1:$pp"
  ready "http://127.0.0.1:$dp"
  "$tessera" router --prefill "http://127.0.0.1:$pp" --decode "http://127.0.0.1:$dp" --listen "127.0.0.1:$rp" \
    > "$out/$1.router.log" 2>&1 &
  pids+=($!)
  ready "http://127.0.0.1:$rp"
  load "http://127.0.0.1:$rp" "$1" "$2" "$3"
  curl -s "http://127.0.0.1:$dp/metrics" | grep -E '^tessera_kv_transfer' > "$out/$1.decode-metrics.txt" || true
  stop_all
}

for r in $(seq 1 "$rounds"); do
  echo "== round $r: disaggregated"
  disagg "disagg-r$r" "$rates" "$n"
  echo "== round $r: colocated"
  coloc "coloc-r$r"
done
if [ -n "${LINKS:-}" ]; then
  first_rate="${rates%%,*}"
  for bw in ${LINKS//,/ }; do
    echo "== disaggregated, KV link $bw bytes/s"
    disagg "link-$bw" "$first_rate" "$n" "$bw"
  done
fi
