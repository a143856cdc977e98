#!/bin/sh
# Builds the native kernel variants into $1/native/<os>-<arch>/ (Maven runs this in generate-resources;
# the libraries land in target/classes and so in the jar). Without a C compiler, or on a system the
# variants are not made for, it writes no library, leaves a one-line reason in UNAVAILABLE beside
# them (Java prints it when it falls back to its own kernels) and exits 0: the build never fails
# for lack of gcc.
set -u
src="$(cd "$(dirname "$0")" && pwd)/tessera_kernels.c"
os="$(uname -s | tr 'A-Z' 'a-z')"
arch="$(uname -m)"
case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
out="$1/native/$os-$arch"
mkdir -p "$out"
rm -f "$out"/libtessera-*.so "$out/UNAVAILABLE"
cc="${CC:-gcc}"
unavailable() {
    echo "$1" > "$out/UNAVAILABLE"
    echo "tessera native kernels: $1; Java kernels only"
    exit 0
}
command -v "$cc" >/dev/null 2>&1 || unavailable "no C compiler ($cc) at build time"
[ "$os" = linux ] || unavailable "native kernels are built for Linux only, not $os"
# -ffp-contract=off: the compiler must not fuse a multiply and an add the Java kernels round apart.
common="-O3 -std=c11 -fPIC -shared -fvisibility=hidden -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror"
build() {
    name=$1; shift
    "$cc" $common "$@" -o "$out/libtessera-$name.so" "$src" -lm
}
build generic || unavailable "$cc failed on the generic variant"
if [ "$arch" = x86_64 ]; then
    # a compiler too old for a variant's flags only loses that variant
    build avx2 -mavx2 -mfma -mf16c || echo "tessera native kernels: no avx2 variant ($cc failed)"
    build avx512 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni \
        || echo "tessera native kernels: no avx512 variant ($cc failed)"
fi
echo "tessera native kernels: built $(cd "$out" && ls libtessera-*.so | tr '\n' ' ')in $out"
