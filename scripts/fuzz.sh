#!/usr/bin/env bash
# Builds the libFuzzer targets with AddressSanitizer and fuzzes each for SECONDS (default 30).
# New inputs go to Fuzz/corpus-work/ (git-ignored); crashes are written to the current directory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
scripts/ensure-deps.sh
swift build -c debug --product strata-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld \
  -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
for target in batch segment files query index indexfiles; do
  mkdir -p "Fuzz/corpus-work/$target"
  cp -n Fuzz/corpus/$target/* "Fuzz/corpus-work/$target/" 2>/dev/null || true
  echo "fuzzing $target for ${seconds}s"
  SWIFT_BACKTRACE=enable=no .build-fuzz/debug/strata-fuzz "$target" "Fuzz/corpus-work/$target" \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 2>&1 | grep -E 'Done|ERROR|SUMMARY|stat::number_of_executed_units' || true
  # libFuzzer writes crash-*/leak-*/timeout-* files for failing inputs.
  if compgen -G "crash-*" >/dev/null || compgen -G "leak-*" >/dev/null || compgen -G "timeout-*" >/dev/null; then
    echo "fuzzer found a failing input: $(ls crash-* leak-* timeout-* 2>/dev/null | tr '\n' ' ')"
    exit 1
  fi
done
