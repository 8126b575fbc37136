#!/usr/bin/env bash
# Builds the C library (release) and installs it under a prefix:
#   PREFIX/lib/libstrata.so.0.9.0 (SONAME libstrata.so.0) and its symlinks,
#   PREFIX/include/strata.h, PREFIX/lib/pkgconfig/strata.pc.
# Then: cc app.c $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs strata)
#
#   scripts/install.sh --prefix DIR            the library needs the Swift runtime of this
#                                              toolchain (found through its RUNPATH)
#   scripts/install.sh --prefix DIR --static   self-contained: the Swift runtime and Foundation
#                                              linked in (-static-stdlib); needs only liblz4,
#                                              zlib, libstdc++ and libc
#   --debug                                    a debug build (tests under valgrind/ASan)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="" static=0 config=release
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --static) static=1; shift ;;
    --debug) config=debug; shift ;;
    *) echo "usage: scripts/install.sh --prefix DIR [--static] [--debug]" >&2; exit 2 ;;
  esac
done
[ -n "$prefix" ] || { echo "usage: scripts/install.sh --prefix DIR [--static] [--debug]" >&2; exit 2; }
scripts/ensure-deps.sh
version=$(sed -n 's/^#define STRATA_VERSION *"\(.*\)"/\1/p' Sources/CStrata/include/strata.h)
if [ "$static" = 1 ]; then
  swift build -c "$config" --product strata-c -Xswiftc -static-stdlib --scratch-path .build-static 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
  built=".build-static/$config/libstrata-c.so"
else
  swift build -c "$config" --product strata-c 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
  built=".build/$config/libstrata-c.so"
fi
[ -f "$built" ] || { echo "install: $built was not built" >&2; exit 1; }
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
prefix=$(cd "$prefix" && pwd)
install -m 0755 "$built" "$prefix/lib/libstrata.so.$version"
ln -sf "libstrata.so.$version" "$prefix/lib/libstrata.so.0"
ln -sf "libstrata.so.0" "$prefix/lib/libstrata.so"
install -m 0644 Sources/CStrata/include/strata.h "$prefix/include/strata.h"
cat > "$prefix/lib/pkgconfig/strata.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: strata
Description: Embeddable log-and-index storage engine (Kafka-format topics, full-text indexes)
Version: $version
Libs: -L\${libdir} -lstrata -Wl,-rpath,\${libdir}
Cflags: -I\${includedir}
PC
echo "installed libstrata $version ($([ "$static" = 1 ] && echo self-contained || echo "Swift runtime from $(dirname "$(command -v swift)")/../lib/swift/linux")) under $prefix"
