#!/usr/bin/env bash
# The C API benchmark: installs a release libstrata under .build-c/release, builds
# Benchmarks/c/capi_bench.c against it, then runs `strata-bench --only capi`, which times the
# same work through the Swift API and the C program in alternating rounds and prints ratios.
# Extra arguments go to strata-bench (default: --capi-rounds 7; e.g. --capi-records 200000).
#
#   scripts/bench-c.sh --instructions [RECORDS]
#
# counts instead, under callgrind (stable on a noisy machine), the instructions per record of
# a cursor scan: inside strata_cursor_next for C, inside LogCursor.next for Swift, each the
# call a program makes per record, over the same RECORDS (default 200,000) records.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --prefix .build-c/release >/dev/null
export PKG_CONFIG_PATH="$PWD/.build-c/release/lib/pkgconfig"
read -r -a strata <<<"$(pkg-config --cflags --libs strata)"
cc -std=c11 -O2 -Wall -Wextra -Werror Benchmarks/c/capi_bench.c "${strata[@]}" -o .build-c/capi_bench
swift build -c release --product strata-bench 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
[ "${PIPESTATUS[0]}" = 0 ] || { echo "bench-c: strata-bench did not build" >&2; exit 1; }

if [ "${1:-}" != --instructions ]; then
    [ $# -gt 0 ] || set -- --capi-rounds 7
    exec .build/release/strata-bench --only capi --capi-bench .build-c/capi_bench "$@"
fi

records=${2:-200000}
command -v valgrind >/dev/null || { echo "bench-c: --instructions needs valgrind" >&2; exit 1; }
# valgrind 3.19 cannot read the DWARF 5 this toolchain writes: count on copies without it.
cg=.build-c/callgrind
rm -rf "$cg" && mkdir -p "$cg"
lib=$(basename "$(readlink -f .build-c/release/lib/libstrata.so)")
objcopy --strip-debug ".build-c/release/lib/$lib" "$cg/$lib"
ln -s "$lib" "$cg/libstrata.so.0"
objcopy --strip-debug .build/release/strata-bench "$cg/strata-bench"
count() { # OUT FUNCTION COMMAND...: instructions inside FUNCTION (inclusive)
    local out=$1 fn=$2; shift 2
    LD_LIBRARY_PATH="$PWD/$cg" valgrind -q --tool=callgrind --collect-atstart=no --toggle-collect="$fn" \
        --callgrind-out-file="$out" "$@" >/dev/null
    local n
    n=$(awk '/^summary:/ { print $2 }' "$out")
    [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "bench-c: no instructions counted in $fn (inlined?)" >&2; exit 1; }
    echo "$n"
}
c=$(count "$cg/c.out" strata_cursor_next .build-c/capi_bench "$cg/c-store" "$records" scan-only)
swift=$(count "$cg/swift.out" '$s9StrataLog0B6CursorC4nextAA10RecordViewVSgyKF' \
        "$cg/strata-bench" --capi-scan-only "$cg/swift-store" --capi-records "$records")
awk -v c="$c" -v s="$swift" -v n="$records" 'BEGIN {
    printf "| cursor scan, instructions per record (%d records, callgrind) | C strata_cursor_next | Swift LogCursor.next | C ÷ Swift speed |\n", n
    printf "|---|---|---|---|\n"
    printf "| | %.1f | %.1f | %.2f× |\n", c / n, s / n, s / c
}'
rm -rf "$cg/c-store" "$cg/swift-store"
