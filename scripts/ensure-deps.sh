#!/usr/bin/env bash
# Installs what Strata needs when it is missing: liblz4-dev, zlib1g-dev, libzstd-dev and
# libsnappy-dev (Debian), and with --interop the Python packages of the interop tests
# (kafka-python, lz4, crc32c, zstandard, python-snappy), with --c the C toolchain, valgrind
# and pytest of scripts/test-c.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

need=()
[ -f /usr/include/lz4frame.h ] || need+=(liblz4-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
# zstd: Kafka's codec 4, what real topics are often compressed with.
[ -f /usr/include/zstd.h ] || need+=(libzstd-dev)
# snappy: Kafka's codec 2 (Kafka's Java producer's snappy is common in older topics).
[ -f /usr/include/snappy-c.h ] || need+=(libsnappy-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
# Unicode's WordBreakTest.txt for the tokenizer's conformance test (tables are generated from
# the same package by scripts/gen-wordbreak.py and committed).
[ -f /usr/share/unicode/auxiliary/WordBreakTest.txt ] || need+=(unicode-data)
# --c: what scripts/test-c.sh compiles and checks with.
if [ "${1:-}" = "--c" ]; then
  command -v cc >/dev/null || need+=(gcc)
  command -v c++ >/dev/null || need+=(g++)
  command -v valgrind >/dev/null || need+=(valgrind)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${1:-}" = "--c" ] && ! python3 -c "import pytest" 2>/dev/null; then
  echo "ensure-deps: installing pytest (the Python binding's tests)"
  python3 -m pip install -q pytest 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
fi
if [ "${1:-}" = "--interop" ]; then
  if ! python3 -c "import kafka, lz4, crc32c, zstandard, snappy" 2>/dev/null; then
    echo "ensure-deps: installing Python interop packages (Tests/Interop/requirements.txt)"
    python3 -m pip install -q -r Tests/Interop/requirements.txt 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
  fi
fi
