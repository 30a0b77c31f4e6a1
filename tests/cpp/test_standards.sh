#!/usr/bin/env bash
# The C++ wrapper across standards and compilers (make test-cpp):
#   - include/flexiti_auth.hpp compiles cleanly (-Wall -Wextra -Werror -pedantic -Wshadow
#     -Wconversion -Wsign-conversion -Wold-style-cast) as C++11, C++14, C++17 and C++20, and
#     refuses C++98 with its #error;
#   - the wrapper's own suite (tests/cpp/test_wrapper.cpp) is built with -std=c++11, -std=c++14
#     and -std=c++17 -Wall -Wextra -Werror -pedantic by g++ and by clang++ and each build runs
#     against the token server (one of them, the C++11 g++ build, also under valgrind);
#   - the C header compiles as C99 (gcc and clang, -pedantic) and as C++98 (g++ and clang++,
#     -pedantic): tests/c/header_as_cxx98.cpp is linked against the library and run.
# clang (Debian's package) is installed when missing.
#
#   tests/cpp/test_standards.sh LIB_DIR BUILD_DIR VERSION
# Environment: FLX_TOKEN_SERVER (the token server binary), GXX/CLANGXX/GCC/CLANG (compilers).
set -euo pipefail

LIB_DIR=${1:?LIB_DIR}
OUT=${2:?BUILD_DIR}/cpp-standards
VERSION=${3:?VERSION}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GXX=${GXX:-g++}
CLANGXX=${CLANGXX:-clang++}
GCC=${GCC:-gcc}
CLANG=${CLANG:-clang}
STANDARDS=(c++11 c++14 c++17)
WARN=(-Wall -Wextra -Werror -pedantic)
STRICT=("${WARN[@]}" -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast)
LINK=(-L "$LIB_DIR" -lflexiti_auth -Wl,-rpath,"$LIB_DIR")
VALGRIND_FLAGS=(--quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
                --errors-for-leak-kinds=definite,indirect,possible --suppressions="$ROOT/tests/c/valgrind.supp")

say() { printf '[cpp-standards] %s\n' "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

if ! command -v "$CLANGXX" >/dev/null || ! command -v "$CLANG" >/dev/null; then
    say "installing clang (Debian package)"
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    # (an index that fails to download makes update exit 100 while the rest is fine: the install decides)
    $sudo apt-get update -qq || say "apt-get update reported errors; trying the install anyway"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang >/dev/null || die "could not install clang"
fi
[ -x "${FLX_TOKEN_SERVER:-}" ] || die "FLX_TOKEN_SERVER is not the token server binary (run through make test-cpp)"

rm -rf "$OUT"
mkdir -p "$OUT"
cd "$ROOT"

# ---- the C header: C99, and C++98 for extern "C" consumers ---------------------------------------
for cc in "$GCC" "$CLANG"; do
    "$cc" -std=c99 "${WARN[@]}" -I include -fsyntax-only tests/c/test_core.c || die "$cc -std=c99: tests/c/test_core.c"
done
for cxx in "$GXX" "$CLANGXX"; do
    bin=$OUT/header_as_cxx98-$(basename "$cxx")
    "$cxx" -std=c++98 "${WARN[@]}" -I include -o "$bin" tests/c/header_as_cxx98.cpp "${LINK[@]}" \
        || die "$cxx -std=c++98: the C header does not compile as C++98"
    "$bin" || die "$bin failed"
done
say "C header: C99 with $GCC and $CLANG, C++98 (compiled, linked, run) with $GXX and $CLANGXX"

# ---- the wrapper header ---------------------------------------------------------------------------
for cxx in "$GXX" "$CLANGXX"; do
    for std in "${STANDARDS[@]}" c++20; do
        "$cxx" -std="$std" "${STRICT[@]}" -I include -x c++ -fsyntax-only include/flexiti_auth.hpp \
            || die "$cxx -std=$std: include/flexiti_auth.hpp does not compile cleanly"
    done
    if echo '#include "flexiti_auth.hpp"' | "$cxx" -std=c++98 -I include -x c++ -fsyntax-only - >"$OUT/cxx98.log" 2>&1; then
        die "$cxx -std=c++98 accepted flexiti_auth.hpp: it must refuse with its #error"
    fi
    grep -q 'flexiti_auth.hpp needs C++11 or later' "$OUT/cxx98.log" \
        || { cat "$OUT/cxx98.log" >&2; die "$cxx -std=c++98: not refused by the header's own #error"; }
done
say "flexiti_auth.hpp: clean as ${STANDARDS[*]} c++20 with $GXX and $CLANGXX (${STRICT[*]}); C++98 refused"

# ---- the wrapper's suite, per compiler and standard -----------------------------------------------
for cxx in "$GXX" "$CLANGXX"; do
    for std in "${STANDARDS[@]}"; do
        name=test_wrapper-$(basename "$cxx")-$std
        "$cxx" -std="$std" "${WARN[@]}" -I include -DFLX_EXPECTED_VERSION="\"$VERSION\"" \
            -o "$OUT/$name" tests/cpp/test_wrapper.cpp "${LINK[@]}" -pthread \
            || die "$cxx -std=$std: tests/cpp/test_wrapper.cpp does not compile"
        "$OUT/$name" >"$OUT/$name.log" 2>&1 || { cat "$OUT/$name.log" >&2; die "$name failed"; }
        grep -q '^test_wrapper: all passed$' "$OUT/$name.log" || { cat "$OUT/$name.log" >&2; die "$name: no pass line"; }
        say "$name: $(grep -c '^ok   - ' "$OUT/$name.log") tests passed"
    done
done
if command -v valgrind >/dev/null; then
    name=test_wrapper-$(basename "$GXX")-c++11
    say "valgrind $name"
    valgrind "${VALGRIND_FLAGS[@]}" "$OUT/$name" >/dev/null || die "valgrind $name"
fi
say "passed"
