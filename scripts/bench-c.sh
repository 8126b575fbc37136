#!/usr/bin/env bash
# The C API benchmark: installs a release libstrata under .build-c/release, builds
# Benchmarks/c/capi_bench.c against it, then runs `strata-bench --only capi`, which times the
# same work through the Swift API and the C program in alternating rounds and prints ratios.
# Extra arguments go to strata-bench (e.g. --capi-records 200000 --capi-rounds 5).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --prefix .build-c/release >/dev/null
export PKG_CONFIG_PATH="$PWD/.build-c/release/lib/pkgconfig"
read -r -a strata <<<"$(pkg-config --cflags --libs strata)"
cc -std=c11 -O2 -Wall -Wextra -Werror Benchmarks/c/capi_bench.c "${strata[@]}" -o .build-c/capi_bench
swift build -c release --product strata-bench 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench-c: strata-bench did not build" >&2; exit 1; }
.build/release/strata-bench --only capi --capi-bench .build-c/capi_bench "$@"
