#!/usr/bin/env bash
# The concurrency tests under ThreadSanitizer (a separate build in .build-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
export STRATA_STRESS_SECONDS="${STRATA_STRESS_SECONDS:-5}"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan 2>&1 | grep -E 'error|warning' || true
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  swift test --sanitize=thread --scratch-path .build-tsan --skip-build \
  --filter 'ConcurrencyTests|IndexConcurrencyTests|PipelinedIndexingTests|concurrentReadersSeeOnlyWholeBatches|groupCommitSharesSyncs|TailingTests|appendsContinueDuringCompaction' 2>&1 \
  | grep -vE '^(Test Case|\[[0-9]+/[0-9]+\]|◇ )'
