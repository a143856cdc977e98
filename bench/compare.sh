#!/usr/bin/env bash
# Tessera side by side with llama.cpp on the same GGUF files, same threads, in one run:
#   - Tessera:   tessera bench offline --json
#   - llama.cpp, current: node-llama-cpp 3.22.1's prebuilt CPU binaries (the best variant this CPU runs)
#   - llama.cpp b4916 (AVX2), as packaged in the de.kherud:llama 4.2.0 Maven artifact
# plus the machine's memory bandwidth and FMA peak, and prints a Markdown table with the ratios.
#
# usage: bench/compare.sh [--threads N] [--input-len N] [--output-len N] [--batch 1,8,32]
#                         [--repeat N] [--rounds N] [--engines tessera,llamacpp,llamacpp_b4916]
#                         [--kernels native,java] [--json FILE] MODEL.gguf...
# --kernels takes a list: Tessera then runs once per choice each round, and the ratios are the first
# choice's (e.g. native ÷ java in the row of the Java kernels).
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=../scripts/find-jdk.sh
. "$root/scripts/find-jdk.sh"
tessera_find_jdk || exit 1

if [ ! -d "$here/llamacpp-node/node_modules/node-llama-cpp" ]; then
  echo "compare: installing node-llama-cpp (npm) ..." >&2
  (cd "$here/llamacpp-node" && npm install --ignore-scripts --no-audit --no-fund >&2)
fi
bench_jar="$root/tessera-bench/target/tessera-bench.jar"
if [ ! -f "$bench_jar" ] || [ -n "$(find "$root/tessera-bench/src" "$root/tessera-core/src/main" -newer "$bench_jar" -print -quit)" ]; then
  echo "compare: building tessera-bench ..." >&2
  (cd "$root" && ./mvnw -q -B -DskipTests -pl tessera-bench -am package >&2)
fi
"$root/tessera" --version >/dev/null  # builds the tessera jar when needed

export TESSERA_ROOT="$root" TESSERA_BENCH_JAR="$bench_jar" TESSERA_JAVA="$JAVA_HOME/bin/java"
exec node "$here/compare.mjs" "$@"
