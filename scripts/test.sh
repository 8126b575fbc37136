#!/usr/bin/env bash
# Runs every test: unit, corruption, concurrency and interop tests (kafka-python; the
# broker-written partitions in ../shared/data when present), replays the fuzz corpus, then runs
# the C API's tests (scripts/test-c.sh).
# Ends with a summary line "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --interop || exit 1
export STRATA_REQUIRE_INTEROP=1
export STRATA_REQUIRE_UNICODE_DATA=1
log=/tmp/strata-test.log
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]'
swift test >"$log" 2>&1
status=$?
grep -vP '^(Test Case|\[[0-9]+/[0-9]+\]|.*✔ Test (?!run with)|◇ )' "$log"
passed=$(grep -oE 'Test run with [0-9]+ tests' "$log" | grep -oE '[0-9]+' | tail -1)
# One line per failed test ("✘ Test name() failed after ..."), not its issues or the run's line.
failed=$(grep -E '✘ Test .* failed after' "$log" | grep -cv '✘ Test run with' || true)
if [ "$status" -ne 0 ] || [ -z "$passed" ] || grep -qE '✘ Test run' "$log"; then
  echo "swift test FAILED (exit $status; full log: $log)"
  echo "tests: $(( ${passed:-0} - failed )) passed, ${failed:-1} failed"
  exit 1
fi
# Fuzz corpus in regression mode (no sanitizer build needed).
swift build --product strata-fuzz 2>&1 | grep -E 'error|warning'
.build/debug/strata-fuzz batch Fuzz/corpus/batch || exit 1
.build/debug/strata-fuzz segment Fuzz/corpus/segment || exit 1
.build/debug/strata-fuzz files Fuzz/corpus/files || exit 1
.build/debug/strata-fuzz query Fuzz/corpus/query || exit 1
.build/debug/strata-fuzz index Fuzz/corpus/index || exit 1
.build/debug/strata-fuzz indexfiles Fuzz/corpus/indexfiles || exit 1
# The C API: header, C suite plain / ASan / valgrind, quick start, C fuzz corpus, Python binding.
if ! scripts/test-c.sh; then
  echo "C API tests FAILED"
  echo "tests: $passed passed, 1 failed"
  exit 1
fi
echo "tests: $passed passed, 0 failed"
