#!/usr/bin/env bash
# Fuzzes the C API for SECONDS (default 30): Fuzz/c/fuzz_api.c built with libFuzzer and
# AddressSanitizer, linked against a debug libstrata (installed under .build-c/prefix), runs
# random programs of API calls. The harness is coverage-instrumented; the Swift library is
# not (its crashes, traps and memory errors in malloc'd buffers are still caught).
# New inputs go to Fuzz/c/corpus-work/ (git-ignored); a failing input is written to the
# current directory and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
prefix="$PWD/.build-c/prefix"
[ -f "$prefix/lib/libstrata.so" ] || scripts/install.sh --prefix "$prefix" --debug >/dev/null
mkdir -p .build-c Fuzz/c/corpus-work
cp -n Fuzz/c/corpus/* Fuzz/c/corpus-work/ 2>/dev/null || true
clang -std=c11 -g -O1 -fsanitize=fuzzer,address -I"$prefix/include" Fuzz/c/fuzz_api.c \
  -L"$prefix/lib" -lstrata -Wl,-rpath,"$prefix/lib" -o .build-c/fuzz_api
echo "fuzzing the C API for ${seconds}s"
ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no .build-c/fuzz_api Fuzz/c/corpus-work \
  -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | grep -E 'Done|ERROR|SUMMARY|stat::number_of_executed_units' || true
if compgen -G "crash-*" >/dev/null || compgen -G "leak-*" >/dev/null || compgen -G "timeout-*" >/dev/null; then
  echo "fuzzer found a failing input: $(ls crash-* leak-* timeout-* 2>/dev/null | tr '\n' ' ')"
  exit 1
fi
