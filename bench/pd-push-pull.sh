#!/usr/bin/env bash
# Prefill/decode disaggregation, push vs pull: time to first token and KV bytes of a long prompt
# through the router, on one prefill and one decode instance (`tessera serve` processes on
# loopback), with and without an emulated link (`--kv-link-shaping` on the prefill instance).
# Both routers (pull and push) run over the same two instances; the modes alternate within each
# round (pull first in odd rounds, push first in even ones), and every request's prompt starts
# with its own words, so that no prefix cache holds any of it.
#
#   bench/pd-push-pull.sh MODEL.gguf [ROUNDS] [PROMPT_WORDS] [SHAPING...]
#   e.g. bench/pd-push-pull.sh l1b-4l.gguf 4 150 none 12.5M
#
# SHAPING is a --kv-link-shaping value (12.5M = 100 Mb/s) or "none". Prints one line per request
# and, per shaping, the push/pull TTFT ratio per round with its median and range.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
model="$1"; rounds="${2:-4}"; words="${3:-150}"; shift $(( $# < 3 ? $# : 3 ))
shapings=("$@"); [ ${#shapings[@]} -gt 0 ] || shapings=(none 12.5M)
export TESSERA_CLUSTER_TOKEN="${TESSERA_CLUSTER_TOKEN:-pd-bench-token-$(date +%s)-0123456789}"
work="$(mktemp -d)"; pids=()
# each launcher runs its JVM as a child: stop the child, then the launcher
stop() { for p in "$@"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
cleanup() { stop "${pids[@]}"; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 600); do curl -sf "$1/health" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "$1 did not come up" >&2; return 1; }

for shaping in "${shapings[@]}"; do
  pp=$(port); dp=$(port); pk=$(port); dk=$(port); rpull=$(port); rpush=$(port)
  extra=(); [ "$shaping" = none ] || extra=(--kv-link-shaping "$shaping")
  common=(serve "$model" --threads 1 --kv-cache-memory 256M --max-seqs 4 --host 127.0.0.1)
  "$root/tessera" "${common[@]}" --port "$pp" --kv-role prefill --kv-transfer-listen "127.0.0.1:$pk" \
    --kv-peers "127.0.0.1:$dk" "${extra[@]}" >"$work/prefill.log" 2>&1 & pids+=($!)
  "$root/tessera" "${common[@]}" --port "$dp" --kv-role decode --kv-transfer-listen "127.0.0.1:$dk" \
    --kv-peers "127.0.0.1:$pk" >"$work/decode.log" 2>&1 & pids+=($!)
  wait_up "http://127.0.0.1:$pp"; wait_up "http://127.0.0.1:$dp"
  "$root/tessera" router --prefill "http://127.0.0.1:$pp" --decode "http://127.0.0.1:$dp" \
    --listen "127.0.0.1:$rpull" >"$work/router-pull.log" 2>&1 & pids+=($!)
  "$root/tessera" router --prefill "http://127.0.0.1:$pp" --decode "http://127.0.0.1:$dp" --kv-transfer-mode push \
    --decode-kv "127.0.0.1:$dk" --listen "127.0.0.1:$rpush" >"$work/router-push.log" 2>&1 & pids+=($!)
  wait_up "http://127.0.0.1:$rpull"; wait_up "http://127.0.0.1:$rpush"
  python3 - "$shaping" "$rounds" "$words" "$pp" "$rpull" "$rpush" "$dp" <<'EOF'
import http.client, json, re, statistics, sys, time
shaping, rounds, words, prefill, rpull, rpush, decode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(int, sys.argv[4:])
def metric(port, pattern):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60); c.request("GET", "/metrics")
    m = re.search(pattern, c.getresponse().read().decode(), re.M)
    return float(m.group(1)) if m else 0.0
def counter(name):
    return metric(prefill, r'^tessera_kv_transfer_connector\{[^}]*counter="%s"[^}]*\} ([0-9.eE+]+)$' % name)
def ttft(port, tag):
    text = tag + " " + " ".join("w%d" % (i % 97) for i in range(words))
    body = json.dumps({"prompt": text, "max_tokens": 4, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.monotonic(); c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse(); first = None; usage = None
    for line in r:
        if line.startswith(b"data: {"):
            j = json.loads(line[6:])
            if "error" in j: raise SystemExit("error: %s" % j)
            if first is None and j.get("choices"): first = time.monotonic() - t0
            if j.get("usage"): usage = j["usage"]["prompt_tokens"]
    return first, usage
ttft(rpull, "warm-pull"); ttft(rpush, "warm-push")
ratios = []; res = {"pull": [], "push": []}
for k in range(rounds):
    order = ["pull", "push"] if k % 2 == 0 else ["push", "pull"]
    got = {}
    for mode in order:
        name = "bytes_sent" if mode == "pull" else "bytes_pushed"
        before = counter(name)
        t, n = ttft(rpull if mode == "pull" else rpush, "r%d-%s-%d" % (k, mode, time.time_ns()))
        time.sleep(0.3)
        b = counter(name) - before
        got[mode] = t; res[mode].append(t)
        print("shaping=%s round=%d mode=%s prompt_tokens=%d ttft_s=%.3f kv_bytes=%d bytes_per_token=%.0f"
              % (shaping, k + 1, mode, n, t, b, b / max(1, n - 1)), flush=True)
    ratios.append(got["push"] / got["pull"])
failures = metric(decode, r'^tessera_kv_transfer_load_failures_total\{[^}]*\} ([0-9.eE+]+)$')
print("shaping=%s decode-side load failures (a failed load is a local prefill, not a transfer): %d" % (shaping, failures))
print("shaping=%s TTFT median pull %.3f s (%.3f-%.3f), push %.3f s (%.3f-%.3f); push/pull per round %s: median %.3f (%.3f-%.3f)"
      % (shaping, statistics.median(res["pull"]), min(res["pull"]), max(res["pull"]), statistics.median(res["push"]),
         min(res["push"]), max(res["push"]), " ".join("%.3f" % r for r in ratios), statistics.median(ratios),
         min(ratios), max(ratios)), flush=True)
EOF
  stop "${pids[@]}"; pids=()
done
