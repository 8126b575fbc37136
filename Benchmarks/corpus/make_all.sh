#!/usr/bin/env bash
# Makes both scale corpora and their query sets (Benchmarks/corpus/README.md).
#   Benchmarks/corpus/make_all.sh [OUT_DIR [LOG_LINES]]     defaults: /tmp/strata-scale 10000000
# Writes OUT_DIR/logs.json, logs.queries.json, kernel-docs.json, kernel-docs.queries.json
# (each through a .tmp file, renamed when complete). Needs ../shared/data/loghub beside the
# repository (or LOGHUB=DIR) and installs Debian's linux-doc-6.1 when it is missing.
set -euo pipefail
out=${1:-/tmp/strata-scale}
lines=${2:-10000000}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

run() {  # run OUTPUT_FILE COMMAND...: the command writes to OUTPUT_FILE.tmp
  local target=$1; shift
  "$@" --out "$target.tmp"
  mv -f "$target.tmp" "$target"
}

loghub=()
[ -n "${LOGHUB:-}" ] && loghub=(--loghub "$LOGHUB")
run "$out/logs.json" python3 "$here/gen_logs.py" --lines "$lines" "${loghub[@]}"
run "$out/logs.queries.json" python3 "$here/gen_queries.py" --docs "$out/logs.json"
run "$out/kernel-docs.json" python3 "$here/gen_kernel_docs.py"
run "$out/kernel-docs.queries.json" python3 "$here/gen_queries.py" --docs "$out/kernel-docs.json"
ls -l "$out"/logs.json "$out"/logs.queries.json "$out"/kernel-docs.json "$out"/kernel-docs.queries.json
