#!/bin/bash
# neon.test.sh - tests the AArch64 NEON kernel path on any machine: cross-
# compiles the tensor sources with the kernel tests for aarch64 and runs
# them under qemu-aarch64 (user-mode emulation).  Skips (exit 77) when the
# cross compiler or qemu is missing: Debian packages gcc-aarch64-linux-gnu
# and qemu-user.
set -euo pipefail

SRC=${TLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CC=${TLM_AARCH64_CC:-aarch64-linux-gnu-gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "skipped: $CC not found (apt-get install gcc-aarch64-linux-gnu qemu-user)"
    exit 77
fi
QEMU=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
if [ -z "$QEMU" ]; then
    echo "skipped: qemu-aarch64 not found (apt-get install qemu-user)"
    exit 77
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# The tensor subsystem and what it uses from core/; the x86 kernel files
# are left out exactly as CMake leaves them out on aarch64.
SOURCES="$SRC/src/core/util.c $SRC/src/core/threads.c"
for f in "$SRC"/src/tensor/*.c; do
    case "$f" in *_avx2.c|*_avx512.c) continue ;; esac
    SOURCES="$SOURCES $f"
done
CFLAGS="-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wno-unused-parameter -UNDEBUG
        -I$SRC/include -I$SRC/src -I$SRC/tests"

for t in test_matmul test_ops; do
    # shellcheck disable=SC2086
    "$CC" $CFLAGS "$SRC/tests/tensor/$t.c" $SOURCES -o "$OUT/$t" -static -lm -lpthread
done

# The NEON path against the scalar reference, thread-count identity and
# batch independence (n tokens at once = one by one) on both paths, the activation quantizers, and every operator.
"$QEMU" "$OUT/test_matmul" neon
"$QEMU" "$OUT/test_matmul" thread_counts
"$QEMU" "$OUT/test_matmul" batched_equals_single
"$QEMU" "$OUT/test_matmul" simd_env
"$QEMU" "$OUT/test_ops"
echo "neon kernels: ok under $(basename "$QEMU")"
