#!/bin/sh
# The native kernels under AddressSanitizer and UndefinedBehaviorSanitizer: kernels_check.c, built
# once per variant this CPU runs, each against the generic variant. Run by .ci/run; takes seconds.
# Without gcc there is no native code to check: says so and succeeds.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../main/c/tessera_kernels.c"
cc="${CC:-gcc}"
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "sanitize: no C compiler; no native kernels to check"
    exit 0
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
san="-O1 -g -std=c11 -ffp-contract=off -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# the generic build, its symbols renamed ref_*, is the reference of every variant
"$cc" $san -c -o "$out/ref.o" "$src"
nm --defined-only -g "$out/ref.o" | awk '$3 ~ /^tsr_/ {print $3 " ref_" $3}' > "$out/ref.syms"
objcopy --redefine-syms="$out/ref.syms" "$out/ref.o"
flags_generic=""
flags_avx2="-mavx2 -mfma -mf16c"
flags_avx512="-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
for v in generic avx2 avx512; do
    case $v in
        generic) need="" ;;
        avx2) need="avx2 fma f16c" ;;
        avx512) need="avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni" ;;
    esac
    missing=""
    for f in $need; do
        grep -qw "$f" /proc/cpuinfo || missing="$missing $f"
    done
    if [ -n "$missing" ]; then
        echo "sanitize: $v skipped, this CPU lacks$missing"
        continue
    fi
    eval flags=\$flags_$v
    "$cc" $san $flags -o "$out/check-$v" "$here/kernels_check.c" "$src" "$out/ref.o" -lm
    printf 'sanitize: %s ' "$v"
    "$out/check-$v"
done
