#!/usr/bin/env bash
# The C API's tests: installs a debug libstrata under .build-c/prefix, then
#   - strata.h compiled alone as C11 and as C++ (-pedantic -Wall -Wextra -Werror),
#   - Tests/C/test_strata.c (same flags) run plain, under AddressSanitizer and under
#     valgrind --leak-check=full (definite leaks and memory errors fail),
#   - examples/c/quickstart.c built with pkg-config and run,
#   - the C fuzz target's corpus (Fuzz/c/corpus) replayed, plain and under valgrind,
#   - the Python binding's pytest suite (bindings/python).
# Prints "C API tests: ok" last; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --c
prefix="$PWD/.build-c/prefix"
work="$PWD/.build-c/work"
rm -rf "$work" && mkdir -p "$work"
scripts/install.sh --prefix "$prefix" --debug >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=(-std=c11 -pedantic -Wall -Wextra -Werror -g -pthread)
read -r -a strata <<<"$(pkg-config --cflags --libs strata)"

echo "header alone as C11 and C++17"
cc "${flags[@]}" -fsyntax-only -x c "$prefix/include/strata.h"
c++ -std=c++17 -pedantic -Wall -Wextra -Werror -fsyntax-only -x c++ "$prefix/include/strata.h"

echo "exports: exactly the functions strata.h declares (nm -D / readelf)"
exported=$(readelf --dyn-syms -W "$prefix/lib/libstrata.so" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}' | sed 's/@.*//' | sort -u)
declared=$(grep -oE '^(int|void|const char \*)[ ]*strata_[a-z0-9_]+\(' "$prefix/include/strata.h" | grep -oE 'strata_[a-z0-9_]+' | sort -u)
[ "$exported" = "$declared" ] || { echo "exported symbols differ from strata.h:"; diff <(echo "$declared") <(echo "$exported"); exit 1; }

echo "test_strata: plain"
cc "${flags[@]}" Tests/C/test_strata.c "${strata[@]}" -o "$work/test_strata"
"$work/test_strata" "$work/plain"

echo "test_strata: AddressSanitizer"
cc "${flags[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer Tests/C/test_strata.c "${strata[@]}" -o "$work/test_strata_asan"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 "$work/test_strata_asan" "$work/asan"

# The Swift runtime keeps its metadata caches for the life of the process ("still reachable"
# / "possibly lost"); a definite leak or any memory error fails, in the test's child processes
# too. Valgrind 3.19 cannot read the DWARF 5 of a Swift debug build, so it runs a copy of the
# library without debug sections (symbols kept) placed first on the library path.
mkdir -p "$work/valgrind-lib"
strip --strip-debug -o "$work/valgrind-lib/libstrata.so.0" "$prefix/lib/libstrata.so.0"
grind=(env LD_LIBRARY_PATH="$work/valgrind-lib" valgrind -q --trace-children=yes --suppressions="$PWD/Tests/C/swift-runtime.supp" --leak-check=full
       --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=1)
echo "test_strata: valgrind"
"${grind[@]}" "$work/test_strata" "$work/valgrind"

echo "quickstart (the README's C program)"
awk '/^## C usage/{c=1} c&&/^```c$/{p=1;next} p&&/^```$/{exit} p' README.md | diff -u examples/c/quickstart.c - \
  || { echo "README's C program differs from examples/c/quickstart.c"; exit 1; }
cc "${flags[@]}" examples/c/quickstart.c "${strata[@]}" -o "$work/quickstart"
"$work/quickstart" "$work/quickstart-data" >"$work/quickstart.out"
grep -q "hits" "$work/quickstart.out" || { echo "quickstart printed no hits:"; cat "$work/quickstart.out"; exit 1; }

echo "fuzz corpus replay ($(ls Fuzz/c/corpus | wc -l) inputs)"
cc "${flags[@]}" -DSTRATA_FUZZ_REPLAY Fuzz/c/fuzz_api.c "${strata[@]}" -o "$work/fuzz_replay"
(cd "$work" && ./fuzz_replay "$OLDPWD"/Fuzz/c/corpus/*)
(cd "$work" && "${grind[@]}" ./fuzz_replay $(ls -d "$OLDPWD"/Fuzz/c/corpus/* | head -40))

echo "python binding (pytest)"
STRATA_LIBRARY="$prefix/lib/libstrata.so" python3 -m pytest -q bindings/python/tests

echo "C API tests: ok"
