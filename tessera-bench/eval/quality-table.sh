#!/usr/bin/env bash
# Regenerates the quality table: stories260K converted to each weight type, run with each KV cache
# type, perplexity on tinystories-style.txt and KL divergence from the F32 file with an F32 cache;
# then one synthetic large shape (random weights), KL divergence of each weight type from its F32 file,
# and of each KV cache type from an F32 cache.
# FP8 has no GGUF type: its rows are the F32 file quantized at load (--quantize FP8, E4M3 with one
# scale per output channel, the bytes `convert --type FP8` writes). W8A8 rows come from `tessera quantize`
# directories (with and without SmoothQuant).
# Usage: tessera-bench/eval/quality-table.sh [MODELS_DIR] [WORK_DIR]
#   MODELS_DIR holds stories260K.bin, tok512.bin, tokenizer-llama2-32k.bin (default: ../shared/models
#   beside the repository); WORK_DIR receives the converted files (default: a temporary directory).
# Prints three Markdown tables on standard output.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
models="${1:-$root/../shared/models}"
work="${2:-$(mktemp -d)}"
text="$root/tessera-bench/eval/tinystories-style.txt"
tessera="$root/tessera"
types="F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q4_K_M"
at_load="FP8"
# every KV cache type stories260K's heads of 8 values can hold (q8_0 needs multiples of 32)
kv_types="f32 f16 bf16 int8 fp8_e4m3 fp8_e5m2"

row() { # json -> "| ppl ± err | KL mean | KL p99 | KL max | same top |"
  python3 -c 'import json,sys; r=json.load(sys.stdin); k=r["kl"]
print("| %.4f ± %.4f | %.6f | %.6f | %.6f | %.2f %% |" % (r["perplexity"], r["perplexity_stderr"], k["mean"], k["p99"], k["max"], 100*k["same_top_rate"]))'
}

for t in $types; do
  "$tessera" convert "$models/stories260K.bin" --tokenizer "$models/tok512.bin" --type "$t" \
    -o "$work/stories260K-$t.gguf" >/dev/null 2>&1
done
echo "stories260K, tinystories-style.txt, --ctx 256 (llama.cpp's windows), KL from F32 weights with an F32 KV cache"
echo
echo "| weights | KV cache | perplexity | KL mean | KL p99 | KL max | same top token |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for t in $types; do
  for kv in $kv_types; do
    printf '| %s | %s ' "$t" "$kv"
    "$tessera" eval perplexity "$work/stories260K-$t.gguf" --text "$text" --ctx 256 --kv-cache-dtype "$kv" \
      --kl-base "$work/stories260K-F32.gguf" --json 2>/dev/null | row
  done
done
for t in $at_load; do
  for kv in $kv_types; do
    printf '| %s | %s ' "$t" "$kv"
    "$tessera" eval perplexity "$work/stories260K-F32.gguf" --quantize "$t" --text "$text" --ctx 256 \
      --kv-cache-dtype "$kv" --kl-base "$work/stories260K-F32.gguf" --json 2>/dev/null | row
  done
done
# W8A8 (int8 weights per channel, int8 activations per token): rounded as is, and SmoothQuant calibrated on a
# different text (calibration-stories.txt), alpha 0.5; directories loaded with the F32 file's tokenizer
"$tessera" quantize "$work/stories260K-F32.gguf" --method rtn -o "$work/stories260K-w8a8" >/dev/null 2>&1
"$tessera" quantize "$work/stories260K-F32.gguf" --method smoothquant --alpha 0.5 --calibration-ctx 256 \
  --calibration "$root/tessera-bench/eval/calibration-stories.txt" -o "$work/stories260K-w8a8-sq" >/dev/null 2>&1
for d in w8a8 w8a8-sq; do
  printf '| %s | f32 ' "$([ "$d" = w8a8 ] && echo W8A8 || echo 'W8A8 SmoothQuant 0.5')"
  "$tessera" eval perplexity "$work/stories260K-$d" --tokenizer "$models/tok512.bin" --text "$text" --ctx 256 \
    --kv-cache-dtype f32 --kl-base "$models/stories260K.bin" --json 2>/dev/null | row
done

shape="${SYNTH_SHAPE:-llama-3.2-1b}"
layers="${SYNTH_LAYERS:-2}"
for t in $types; do
  "$tessera" synth --shape "$shape" --layers "$layers" --tokenizer "$models/tokenizer-llama2-32k.bin" --type "$t" \
    -o "$work/synth-$t.gguf" >/dev/null 2>&1
done
echo
echo "$shape shape, $layers layers, random weights (seed 42), Llama 2 vocabulary; --ctx 128, F32 KV cache;"
echo "KL from the F32 file (perplexity means nothing for random weights)"
echo
echo "| weights | perplexity | KL mean | KL p99 | KL max | same top token |"
echo "| --- | --- | --- | --- | --- | --- |"
for t in $types; do
  [ "$t" = F32 ] && continue
  printf '| %s ' "$t"
  "$tessera" eval perplexity "$work/synth-$t.gguf" --text "$text" --ctx 128 --kv-cache-dtype f32 \
    --kl-base "$work/synth-F32.gguf" --json 2>/dev/null | row
done
for t in $at_load; do
  printf '| %s ' "$t"
  "$tessera" eval perplexity "$work/synth-F32.gguf" --quantize "$t" --text "$text" --ctx 128 --kv-cache-dtype f32 \
    --kl-base "$work/synth-F32.gguf" --json 2>/dev/null | row
done

echo
echo "$shape shape, $layers layers, F32 weights: each KV cache type (q8_0 needs heads of a multiple of 32 values,"
echo "which stories260K's 8 are not); KL from the same file with an F32 KV cache"
echo
echo "| KV cache | perplexity | KL mean | KL p99 | KL max | same top token |"
echo "| --- | --- | --- | --- | --- | --- |"
for kv in f16 bf16 q8_0 int8 fp8_e4m3 fp8_e5m2; do
  printf '| %s ' "$kv"
  "$tessera" eval perplexity "$work/synth-F32.gguf" --text "$text" --ctx 128 --kv-cache-dtype "$kv" \
    --kl-base "$work/synth-F32.gguf" --json 2>/dev/null | row
done
