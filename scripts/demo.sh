#!/usr/bin/env bash
# The main job: build Strata (release) and run `strata demo` — ingest 1 M realistic log records
# into ./strata-data, read them back, report throughput. Extra arguments go to `strata demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product strata 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
exec .build/release/strata demo "$@"
