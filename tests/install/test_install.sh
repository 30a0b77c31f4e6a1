#!/usr/bin/env bash
# `make install` into a temporary prefix, then use the installed copy the way a user would:
# a C program built with only `pkg-config --cflags --libs flexiti_auth` (and a static link with
# `pkg-config --static`), the C++ quick start of examples/README.md built as written, all run
# against the local token server. Also: the file layout and soname chain, DESTDIR staging,
# uninstall.
#   MAKE=make INSTALL_PROFILE=debug FLX_VERSION=0.1.0 tests/install/test_install.sh
set -euo pipefail
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
# Nothing from the environment may point the compiler at the source tree.
unset CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH LIBRARY_PATH LD_LIBRARY_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tests/install"
MAKE=${MAKE:-make}
PROFILE=${INSTALL_PROFILE:-debug}
VERSION=${FLX_VERSION:-$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)}
MAJOR=${VERSION%%.*}
CC=${CC:-cc}
CXX=${CXX:-c++}
server=${FLX_TOKEN_SERVER:?FLX_TOKEN_SERVER is not set (run through make test-install)}
for tool in pkg-config readelf; do
    command -v "$tool" >/dev/null || { echo "test_install: $tool is needed" >&2; exit 2; }
done

WORK=$(mktemp -d)
PREFIX=$(mktemp -d)
cleanup() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK" "$PREFIX"
}
trap cleanup EXIT

FAILS=0
ok() { echo "ok   - $1"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $1" >&2; }
eq() { if [ "$1" == "$2" ]; then ok "$3"; else fail "$3 (got '$1', expected '$2')"; fi; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# ---- install ------------------------------------------------------------------------------------
echo "# make install PREFIX=$PREFIX INSTALL_PROFILE=$PROFILE"
"$MAKE" -C "$ROOT" --no-print-directory install PREFIX="$PREFIX" INSTALL_PROFILE="$PROFILE" >"$WORK/install.log" 2>&1 \
    || { cat "$WORK/install.log" >&2; echo "FAIL - make install" >&2; exit 1; }
ok "make install PREFIX=$PREFIX"

L="$PREFIX/lib"
check "lib/libflexiti_auth.so.$VERSION is a regular file" test -f "$L/libflexiti_auth.so.$VERSION" -a ! -L "$L/libflexiti_auth.so.$VERSION"
eq "$(readlink "$L/libflexiti_auth.so.$MAJOR" || true)" "libflexiti_auth.so.$VERSION" "libflexiti_auth.so.$MAJOR -> libflexiti_auth.so.$VERSION (relative)"
eq "$(readlink "$L/libflexiti_auth.so" || true)" "libflexiti_auth.so.$MAJOR" "libflexiti_auth.so -> libflexiti_auth.so.$MAJOR (relative)"
eq "$(readelf -d "$L/libflexiti_auth.so.$VERSION" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')" \
    "libflexiti_auth.so.$MAJOR" "installed library's soname"
check "lib/libflexiti_auth.a is installed" test -f "$L/libflexiti_auth.a"
for h in flexiti_auth.h flexiti_auth.hpp flexiti_auth_php.h; do
    check "include/$h is the tree's copy" cmp -s "$ROOT/include/$h" "$PREFIX/include/$h"
done
check "lib/pkgconfig/flexiti_auth.pc exists" test -f "$L/pkgconfig/flexiti_auth.pc"

# ---- pkg-config -----------------------------------------------------------------------------------
export PKG_CONFIG_PATH="$L/pkgconfig"
check "pkg-config --validate flexiti_auth" pkg-config --validate flexiti_auth
eq "$(pkg-config --modversion flexiti_auth)" "$VERSION" "pkg-config --modversion"
eq "$(pkg-config --variable=prefix flexiti_auth)" "$PREFIX" "pkg-config prefix"
eq "$(pkg-config --variable=libdir flexiti_auth)" "$L" "pkg-config libdir"
eq "$(pkg-config --cflags flexiti_auth | xargs)" "-I$PREFIX/include" "pkg-config --cflags"
eq "$(pkg-config --libs flexiti_auth | xargs)" "-L$L -lflexiti_auth" "pkg-config --libs"
static_libs=$(pkg-config --static --libs flexiti_auth)
for l in -lpthread -ldl -lm; do
    case " $static_libs " in *" $l "*) ok "pkg-config --static --libs has $l" ;; *) fail "pkg-config --static --libs lacks $l ($static_libs)" ;; esac
done

# ---- the token server ------------------------------------------------------------------------------
export FLEXITI_CLIENT_ID=flexiti-test-client FLEXITI_CLIENT_SECRET=flexiti-test-secret-install
coproc SERVER { exec "$server" --port 0 --watch-stdin --client-id "$FLEXITI_CLIENT_ID" --client-secret "$FLEXITI_CLIENT_SECRET"; }
read -r -t 10 FLEXITI_API_URL <&"${SERVER[0]}" || { echo "token server did not start" >&2; exit 2; }
export FLEXITI_API_URL
URL=$FLEXITI_API_URL
# shellcheck source=tests/cpp/control.bash
. "$ROOT/tests/cpp/control.bash"
issued() { ctl GET issued | sed -n 's/.*"access_tokens":\[\([^]]*\)\].*/\1/p'; }

# ---- a C program built with pkg-config only ---------------------------------------------------------
cp "$HERE/roundtrip.c" "$WORK/roundtrip.c"
cd "$WORK"
# shellcheck disable=SC2046  # word splitting of pkg-config's output is the point
if "$CC" -std=c99 -Wall -Wextra -Werror -o roundtrip roundtrip.c $(pkg-config --cflags --libs flexiti_auth) 2>"$WORK/cc.log"; then
    ok "cc roundtrip.c \$(pkg-config --cflags --libs flexiti_auth)"
else
    cat "$WORK/cc.log" >&2
    fail "cc roundtrip.c \$(pkg-config --cflags --libs flexiti_auth)"
fi
eq "$(readelf -d roundtrip | sed -n 's/.*Shared library: \[\(libflexiti_auth[^]]*\)\].*/\1/p')" "libflexiti_auth.so.$MAJOR" \
    "the program needs the soname, not a path"
LIBDIR=$(pkg-config --variable=libdir flexiti_auth)
eq "$(LD_LIBRARY_PATH=$LIBDIR ldd ./roundtrip | sed -n 's/.*libflexiti_auth.so.[0-9]* => \([^ ]*\).*/\1/p')" \
    "$LIBDIR/libflexiti_auth.so.$MAJOR" "it loads the installed copy (LD_LIBRARY_PATH from the .pc's libdir)"
ctl POST reset >/dev/null
if out=$(LD_LIBRARY_PATH=$LIBDIR ./roundtrip "$VERSION" "$WORK/token" 2>&1); then
    ok "roundtrip: version $VERSION, token, cached, session export/import ($out)"
else
    fail "roundtrip: $out"
fi
token=$(cat "$WORK/token" 2>/dev/null || true)
eq "$(issued)" "\"$token\"" "roundtrip: its token is the one the server issued (one request)"

# Static: libflexiti_auth.a plus Libs.private, nothing else.
static_cmd=$(sed 's/-lflexiti_auth/-l:libflexiti_auth.a/' <<<"$static_libs")
# shellcheck disable=SC2046,SC2086
if "$CC" -std=c99 -Wall -Wextra -Werror -o roundtrip_static roundtrip.c $(pkg-config --cflags flexiti_auth) $static_cmd 2>"$WORK/cc.log"; then
    ok "static link with pkg-config --static --libs"
    if readelf -d roundtrip_static | grep -q 'libflexiti_auth'; then fail "static build still needs libflexiti_auth.so"; else ok "static build needs no libflexiti_auth.so"; fi
    ctl POST reset >/dev/null
    if out=$(./roundtrip_static "$VERSION" "$WORK/token" 2>&1); then ok "static roundtrip ($out)"; else fail "static roundtrip: $out"; fi
else
    cat "$WORK/cc.log" >&2
    fail "static link with pkg-config --static --libs"
fi

# ---- the C++ quick start of examples/README.md, as written ---------------------------------------------
awk '/^```cpp$/ && !done {on=1; next} /^```$/ && on {on=0; done=1} on' "$ROOT/examples/README.md" >"$WORK/app.cpp"
build_line=$(sed -n '1s|^// *[^ ]* *— *||p' "$WORK/app.cpp")
eq "$build_line" 'c++ -std=c++17 app.cpp $(pkg-config --cflags --libs flexiti_auth)' "README quick start names its build command"
# shellcheck disable=SC2046
if "$CXX" -std=c++17 -Wall -Wextra -Werror app.cpp $(pkg-config --cflags --libs flexiti_auth) -o app 2>"$WORK/cxx.log"; then
    ok "README quick start compiles against the installed headers (with -Wall -Wextra -Werror)"
    ctl POST reset >/dev/null
    if out=$(LD_LIBRARY_PATH=$LIBDIR ./app 2>&1); then ok "README quick start runs"; else fail "README quick start: $out"; fi
    case "$out" in *"Authorization: Bearer "*) ok "README quick start prints the header prefix" ;; *) fail "README quick start output: $out" ;; esac
    grep -qF "$FLEXITI_CLIENT_SECRET" <<<"$out" && fail "README quick start printed the secret" || ok "README quick start: no secret printed"
    for t in $(issued | tr -d '"' | tr ',' ' '); do
        grep -qF "$t" <<<"$out" && fail "README quick start printed a whole token"
    done
    eq "$(ctl GET requests | grep -o '"grant_type":"[a-z_]*"' | paste -sd, -)" '"grant_type":"client_credentials"' \
        "README quick start: one request (the cached call asks nothing)"
    FLEXITI_CLIENT_SECRET=wrong out=$(LD_LIBRARY_PATH=$LIBDIR ./app 2>&1) && fail "README quick start with a wrong secret exits 0" \
        || case "$out" in *"credentials refused"*) ok "README quick start: wrong secret reported" ;; *) fail "wrong secret: $out" ;; esac
else
    cat "$WORK/cxx.log" >&2
    fail "README quick start compiles"
fi
cd "$ROOT"

# ---- DESTDIR staging, uninstall ----------------------------------------------------------------------
STAGE="$WORK/stage"
staged_prefix=/opt/flexiti-auth-install-test
[ -e "$staged_prefix" ] && { echo "test_install: $staged_prefix exists, cannot check DESTDIR" >&2; exit 2; }
"$MAKE" -C "$ROOT" --no-print-directory install DESTDIR="$STAGE" PREFIX="$staged_prefix" INSTALL_PROFILE="$PROFILE" >"$WORK/install.log" 2>&1 \
    || { cat "$WORK/install.log" >&2; fail "make install DESTDIR=... PREFIX=$staged_prefix"; }
check "DESTDIR: files staged under \$DESTDIR$staged_prefix" test -f "$STAGE$staged_prefix/lib/libflexiti_auth.so.$VERSION"
check "DESTDIR: nothing written to $staged_prefix itself" test ! -e "$staged_prefix"
eq "$(sed -n 's/^prefix=//p' "$STAGE$staged_prefix/lib/pkgconfig/flexiti_auth.pc")" "$staged_prefix" "DESTDIR: the .pc names the final prefix"
eq "$(readlink "$STAGE$staged_prefix/lib/libflexiti_auth.so")" "libflexiti_auth.so.$MAJOR" "DESTDIR: symlinks are relative"

"$MAKE" -C "$ROOT" --no-print-directory uninstall PREFIX="$PREFIX" >/dev/null
eq "$(find "$PREFIX" \( -type f -o -type l \) | wc -l)" 0 "make uninstall removes every installed file"

if [ "$FAILS" -ne 0 ]; then
    echo "test_install: $FAILS check(s) failed" >&2
    exit 1
fi
echo "test_install: all passed"
