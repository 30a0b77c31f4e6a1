#!/usr/bin/env bash
# The packages of `make dist` (tools/packages.sh), installed the way README.md's "Install" section
# says, block by block as written, and used:
#
#   tests/packages/test-packages.sh DIST PLATFORM...   the packages of these platforms in DIST:
#       - contents: every expected file, the version of Cargo.toml in every package, SHA256SUMS
#         (when DIST has one), `auditwheel show` of each manylinux wheel, .deb architectures;
#       - linux-x86_64: the README's wheel block in a fresh venv, then the binding's own suite
#         against that install with FLEXITI_AUTH_LIB unset; the README's Composer blocks in a
#         scratch project (the real `composer`, offline) and a token call through it; the README's
#         .deb blocks (dpkg -i, the README's C example built with pkg-config and run against the
#         token server, flexiti-token), then dpkg -r and a check that nothing is left behind;
#       - windows-x86_64: the README's Windows block (the C example built with MinGW against the zip).
#   tests/packages/test-packages.sh --python-source    the README's source-install block in a
#       fresh venv (`pip install ./bindings/python`: setuptools-rust builds the library with cargo,
#       profile SETUPTOOLS_RUST_CARGO_PROFILE, default dev here; target dir CARGO_TARGET_DIR,
#       default target/pip), then the loading tests with FLEXITI_AUTH_LIB unset.
#
# The token server comes from FLX_TOKEN_SERVER (make build). Debian packages the steps need
# (composer, unzip, pkg-config, MinGW) are installed when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
SOVERSION=${VERSION%%.*}
DEB_VERSION=$VERSION-1
export FLX_TOKEN_SERVER=${FLX_TOKEN_SERVER:-$ROOT/target/debug/flexiti-token-server}
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY FLEXITI_AUTH_LIB FLEXITI_AUTH_HEADER

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexiti-package-tests.XXXXXX")
CLEANUP=()
cleanup() {
    local c
    for c in "${CLEANUP[@]}"; do eval "$c" || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
say() { printf '[package tests] %s\n' "$*" >&2; }
ok() { passed=$((passed + 1)); say "ok: $*"; }
# has PATTERN...: grep on a pipe that reads all of it (grep -q would stop at the first match and,
# under pipefail, turn the writer's SIGPIPE into a failure).
has() { grep "$@" >/dev/null; }
fail() { say "FAILED: $*"; exit 1; }

# shellcheck source=tools/apt.sh
source "$ROOT/tools/apt.sh"

# readme_block ID FILE: the fenced block after <!-- install:ID --> in README.md.
readme_block() {
    python3 - "$ROOT/README.md" "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
found = re.findall(r"<!-- install:" + re.escape(sys.argv[2]) + r" -->\s*```[a-z]*\n(.*?)```", text, re.S)
if len(found) != 1:
    sys.exit(f"README.md: {len(found)} blocks marked install:{sys.argv[2]} (want 1)")
open(sys.argv[3], "w", encoding="utf-8").write(found[0])
PY
}

# The README's C example (its one ```c block), as app.c.
readme_c_example() {
    python3 - "$ROOT/README.md" "$1" <<'PY'
import re, sys
blocks = re.findall(r"```c\n(.*?)```", open(sys.argv[1], encoding="utf-8").read(), re.S)
if len(blocks) != 1:
    sys.exit(f"README.md has {len(blocks)} C examples (want 1)")
open(sys.argv[2], "w", encoding="utf-8").write(blocks[0])
PY
}

# scratch NAME: a directory with dist/ (the packages under test) and app.c, as the README assumes.
scratch() {
    local d=$WORK/$1
    mkdir -p "$d"
    [ -z "${DIST:-}" ] || ln -s "$DIST" "$d/dist"
    readme_c_example "$d/app.c"
    echo "$d"
}

# Root has no sudo on a bare Debian: the README's `sudo` then runs the command as it is.
sudo_shim() {
    if [ "$(id -u)" = 0 ] && ! command -v sudo >/dev/null; then
        mkdir -p "$WORK/shim"
        printf '#!/bin/sh\nexec "$@"\n' >"$WORK/shim/sudo"
        chmod +x "$WORK/shim/sudo"
        echo "$WORK/shim:"
    fi
}

# ---- contents --------------------------------------------------------------------------------

wheel_tag() { case $1 in linux-*) echo "manylinux2014_${1#linux-}" ;; windows-x86_64) echo win_amd64 ;; windows-i686) echo win32 ;; esac; }
deb_arch() { case $1 in linux-x86_64) echo amd64 ;; linux-i686) echo i386 ;; linux-aarch64) echo arm64 ;; esac; }
triplet() { case $1 in linux-x86_64) echo x86_64-linux-gnu ;; linux-i686) echo i386-linux-gnu ;; linux-aarch64) echo aarch64-linux-gnu ;; esac; }
elf_machine() { case $1 in linux-x86_64) echo 'Advanced Micro Devices X86-64' ;; linux-i686) echo 'Intel 80386' ;; linux-aarch64) echo AArch64 ;; esac; }

check_contents() {
    local p whl members deb names arch composer
    for p in "${PLATFORMS[@]}"; do
        whl=$DIST/flexiti_auth-$VERSION-py3-none-$(wheel_tag "$p").whl
        [ -f "$whl" ] || fail "no $whl"
        members=$(unzip -Z1 "$whl")
        for f in flexiti_auth/__init__.py flexiti_auth/_native.py flexiti_auth/client.py flexiti_auth/py.typed \
                "flexiti_auth-$VERSION.dist-info/METADATA"; do
            grep -qx "$f" <<<"$members" || fail "$(basename "$whl") lacks $f"
        done
        case $p in
        linux-*) grep -qx flexiti_auth/libflexiti_auth.so <<<"$members" || fail "$(basename "$whl") lacks the library"
            unzip -p "$whl" flexiti_auth/libflexiti_auth.so >"$WORK/lib.so"
            readelf -h "$WORK/lib.so" | has "Machine: *$(elf_machine "$p")" || fail "$(basename "$whl"): the library is not for $p" ;;
        windows-*) grep -qx flexiti_auth/flexiti_auth.dll <<<"$members" || fail "$(basename "$whl") lacks flexiti_auth.dll" ;;
        esac
        unzip -p "$whl" "flexiti_auth-$VERSION.dist-info/METADATA" | has -x "Version: $VERSION" || fail "$(basename "$whl"): METADATA version is not $VERSION"
        unzip -p "$whl" "flexiti_auth-$VERSION.dist-info/WHEEL" | has -x "Root-Is-Purelib: false" || fail "$(basename "$whl"): not platlib"
        ok "$(basename "$whl"): the pure-Python package and the $p library, version $VERSION"
        if [[ $p == linux-* ]]; then
            local out
            out=$(bash "$ROOT/tools/packages.sh" auditwheel "$whl") || { echo "$out"; fail "auditwheel show $(basename "$whl")"; }
            ok "auditwheel show $(basename "$whl"): $(tr -s ' \n' ' ' <<<"$out" | grep -o 'consistent with the following platform tag: "[^"]*"')"
            arch=$(deb_arch "$p")
            for deb in "$DIST/libflexiti-auth${SOVERSION}_${DEB_VERSION}_$arch.deb" "$DIST/libflexiti-auth-dev_${DEB_VERSION}_$arch.deb"; do
                [ -f "$deb" ] || fail "no $deb"
                [ "$(dpkg-deb -f "$deb" Version)" = "$DEB_VERSION" ] || fail "$(basename "$deb"): version is not $DEB_VERSION"
                [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "$(basename "$deb"): architecture is not $arch"
            done
            names=$(dpkg-deb -c "$DIST/libflexiti-auth${SOVERSION}_${DEB_VERSION}_$arch.deb" | awk '{print $6}')
            for f in "./usr/lib/$(triplet "$p")/libflexiti_auth.so.$VERSION" "./usr/lib/$(triplet "$p")/libflexiti_auth.so.$SOVERSION" ./usr/bin/flexiti-token; do
                grep -qx "$f" <<<"$names" || fail "libflexiti-auth$SOVERSION ($arch) lacks $f"
            done
            names=$(dpkg-deb -c "$DIST/libflexiti-auth-dev_${DEB_VERSION}_$arch.deb" | awk '{print $6}')
            for f in ./usr/include/flexiti_auth.h "./usr/lib/$(triplet "$p")/libflexiti_auth.so" "./usr/lib/$(triplet "$p")/pkgconfig/flexiti_auth.pc"; do
                grep -qx "$f" <<<"$names" || fail "libflexiti-auth-dev ($arch) lacks $f"
            done
            rm -rf "$WORK/deb"; dpkg-deb -x "$DIST/libflexiti-auth${SOVERSION}_${DEB_VERSION}_$arch.deb" "$WORK/deb"
            readelf -h "$WORK/deb/usr/bin/flexiti-token" | has "Machine: *$(elf_machine "$p")" || fail "flexiti-token ($arch) is not for $p"
            readelf -d "$WORK/deb/usr/lib/$(triplet "$p")/libflexiti_auth.so.$VERSION" | has "soname: \[libflexiti_auth.so.$SOVERSION\]" \
                || fail "libflexiti-auth$SOVERSION ($arch): soname is not libflexiti_auth.so.$SOVERSION"
            ok "libflexiti-auth${SOVERSION}_${DEB_VERSION}_$arch.deb, libflexiti-auth-dev_${DEB_VERSION}_$arch.deb: $arch files at the multiarch paths"
        else
            local zip=$DIST/flexiti-auth-$VERSION-$p.zip top=flexiti-auth-$VERSION-$p
            [ -f "$zip" ] || fail "no $zip"
            members=$(unzip -Z1 "$zip")
            for f in bin/flexiti_auth.dll bin/flexiti-token.exe lib/flexiti_auth.lib lib/libflexiti_auth.dll.a lib/flexiti_auth.def include/flexiti_auth.h README.txt SHA256SUMS; do
                grep -qx "$top/$f" <<<"$members" || fail "$(basename "$zip") lacks $top/$f"
            done
            unzip -p "$zip" "$top/README.txt" | has "flexiti-auth $VERSION" || fail "$(basename "$zip"): README.txt does not name $VERSION"
            rm -rf "$WORK/winzip"; mkdir -p "$WORK/winzip"; unzip -q "$zip" -d "$WORK/winzip"
            (cd "$WORK/winzip/$top" && sha256sum --quiet -c SHA256SUMS) || fail "$(basename "$zip"): SHA256SUMS does not verify"
            ok "$(basename "$zip"): DLL, flexiti-token.exe, import libraries (MSVC .lib, MinGW .dll.a), .def, headers, version $VERSION"
        fi
    done
    composer=$DIST/flexiti-auth-php-$VERSION.zip
    [ -f "$composer" ] || fail "no $composer"
    members=$(unzip -Z1 "$composer")
    for f in composer.json autoload.php preload.php src/TokenClient.php src/Library.php include/flexiti_auth_php.h bin/flexiti-auth-ffi-header; do
        grep -qx "$f" <<<"$members" || fail "$(basename "$composer") lacks $f"
    done
    for p in "${PLATFORMS[@]}"; do
        case $p in linux-*) f=lib/$p/libflexiti_auth.so ;; *) f=lib/$p/flexiti_auth.dll ;; esac
        grep -qx "$f" <<<"$members" || fail "$(basename "$composer") lacks $f"
    done
    unzip -p "$composer" composer.json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['name']=='flexiti/auth' and d['version']=='$VERSION', d" \
        || fail "$(basename "$composer"): composer.json is not flexiti/auth $VERSION"
    ok "$(basename "$composer"): composer.json (flexiti/auth $VERSION), the binding, the header, lib/ of ${PLATFORMS[*]}"
    if [ -f "$DIST/SHA256SUMS" ]; then
        (cd "$DIST" && sha256sum --quiet -c SHA256SUMS) || fail "$DIST/SHA256SUMS does not verify"
        for f in "$DIST"/*.whl "$DIST"/*.deb "$DIST"/*.zip; do
            grep -q "  $(basename "$f")\$" "$DIST/SHA256SUMS" || fail "SHA256SUMS does not list $(basename "$f")"
        done
        ok "SHA256SUMS lists and verifies every package"
    fi
}

# ---- Python ----------------------------------------------------------------------------------

test_python_wheel() {
    local d; d=$(scratch python-wheel)
    readme_block python-wheel "$d/install.sh"
    local out
    out=$(cd "$d" && bash -euo pipefail install.sh 2>&1) || { echo "$out"; fail "README python-wheel block"; }
    grep -qx "flexiti_auth $VERSION library $VERSION" <<<"$out" || { echo "$out"; fail "README python-wheel block printed no version line"; }
    local site; site=$("$d/venv/bin/python" -c 'import flexiti_auth, os; print(os.path.dirname(flexiti_auth.__file__))')
    [[ $site == "$d/venv/"* ]] || fail "flexiti_auth imported from $site, not from the venv"
    [ -f "$site/libflexiti_auth.so" ] || fail "the wheel put no library in $site"
    ok "README python-wheel block: installed the x86_64 wheel, flexiti_auth $VERSION with library $VERSION, no FLEXITI_AUTH_LIB"
    # The binding's own suite against that install (its tests, not its source: flexiti_auth is
    # imported from the venv), with FLEXITI_AUTH_LIB unset.
    "$d/venv/bin/pip" install -q --disable-pip-version-check pytest >/dev/null || fail "pip install pytest into the wheel's venv"
    cp -R "$ROOT/bindings/python/tests" "$ROOT/bindings/python/README.md" "$d/"
    (cd "$d" && env -u FLEXITI_AUTH_LIB FLX_EXPECT_BUNDLED_LIB=1 FLX_TEST_REPO="$ROOT" \
        "$d/venv/bin/python" -m pytest -q -p no:cacheprovider tests) || fail "the Python binding's suite against the installed wheel"
    ok "the Python binding's suite passed against the installed wheel, FLEXITI_AUTH_LIB unset"
}

test_python_source() {
    local d=$WORK/python-source
    mkdir -p "$d"
    readme_block python-source "$d/install.sh"
    python3 -m venv "$d/venv"
    local out rc=0
    out=$(cd "$ROOT" && env -u FLEXITI_AUTH_LIB PATH="$d/venv/bin:$PATH" VIRTUAL_ENV="$d/venv" \
        SETUPTOOLS_RUST_CARGO_PROFILE="${SETUPTOOLS_RUST_CARGO_PROFILE:-dev}" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/pip}" \
        bash -euo pipefail "$d/install.sh" 2>&1) || rc=$?
    rm -rf "$ROOT/bindings/python/build" "$ROOT"/bindings/python/src/*.egg-info
    [ $rc -eq 0 ] || { echo "$out" | tail -n 40; fail "README python-source block (pip install ./bindings/python)"; }
    grep -qx "flexiti_auth $VERSION library $VERSION" <<<"$out" || { echo "$out" | tail -n 20; fail "README python-source block printed no version line"; }
    local lib; lib=$(cd "$d" && env -u FLEXITI_AUTH_LIB "$d/venv/bin/python" -c 'import flexiti_auth._native as n; n.load(); print(n.bundled_library())')
    [[ $lib == "$d/venv/"*/flexiti_auth/libflexiti_auth* ]] || fail "pip install ./bindings/python put no library inside the package ($lib)"
    ok "README python-source block: pip install ./bindings/python built $(basename "$lib") into the package; flexiti_auth $VERSION loads it with no FLEXITI_AUTH_LIB"
    "$d/venv/bin/pip" install -q --disable-pip-version-check pytest >/dev/null || fail "pip install pytest"
    cp -R "$ROOT/bindings/python/tests" "$d/"
    (cd "$d" && env -u FLEXITI_AUTH_LIB FLX_EXPECT_BUNDLED_LIB=1 FLX_TEST_REPO="$ROOT" \
        "$d/venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_loading.py tests/test_tokens.py) \
        || fail "loading and token tests against the source install"
    ok "loading and token tests passed against the source install, FLEXITI_AUTH_LIB unset"
}

# ---- PHP -------------------------------------------------------------------------------------

test_php() {
    ensure_apt composer unzip php-cli php-zip   # (an artifact repository needs PHP's zip extension)
    local d; d=$(scratch php)
    readme_block php-composer-json "$d/composer.json"
    readme_block php "$d/install.sh"
    local out
    # Offline: no Packagist, no network at all; a private Composer home and cache.
    out=$(cd "$d" && COMPOSER_HOME="$d/.composer" COMPOSER_CACHE_DIR="$d/.composer-cache" COMPOSER_ALLOW_SUPERUSER=1 \
        COMPOSER_NO_INTERACTION=1 COMPOSER_DISABLE_NETWORK=1 \
        bash "$ROOT/tests/support/run-with-token-server.sh" bash -euo pipefail install.sh 2>&1) \
        || { echo "$out"; fail "README php block (composer require from the artifact, a token call)"; }
    local want="token of [0-9]+ bytes from $d/vendor/flexiti/auth/lib/linux-x86_64/libflexiti_auth.so"
    grep -qE "^$want\$" <<<"$out" || { echo "$out"; fail "README php block: no token through the artifact's linux-x86_64 library"; }
    grep -q '"flexiti/auth": "^'"${VERSION%.*}" "$d/composer.json" || fail "composer require did not record flexiti/auth $VERSION: $(cat "$d/composer.json")"
    grep -q '"version": "'"$VERSION"'"' "$d/composer.lock" || fail "composer.lock does not hold flexiti/auth $VERSION"
    ok "README php blocks: composer (offline) installed flexiti/auth $VERSION from the artifact zip; a token call loaded vendor/flexiti/auth/lib/linux-x86_64/libflexiti_auth.so"
}

# ---- Debian ----------------------------------------------------------------------------------

DEB_FILES=()
deb_state() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed; }

# run_dpkg_block DIR SCRIPT: run a README block that calls dpkg; while another process (apt-get
# of a parallel job) holds dpkg's lock, dpkg refuses before doing anything: wait and run it again.
run_dpkg_block() {
    local dir=$1 script=$2 out rc tries=0
    while :; do
        rc=0
        out=$(cd "$dir" && PATH="$SUDO_PATH$PATH" bash -euo pipefail "$script" 2>&1) || rc=$?
        if [ $rc -ne 0 ] && grep -q 'dpkg frontend lock\|dpkg status database is locked' <<<"$out" && [ $tries -lt 120 ]; then
            tries=$((tries + 1)); sleep 2; continue
        fi
        printf '%s\n' "$out"
        return $rc
    done
}

deb_remove_quietly() {
    local i
    for i in $(seq 60); do
        [ "$(deb_state libflexiti-auth-dev)$(deb_state "libflexiti-auth$SOVERSION")" = not-installednot-installed ] && return 0
        dpkg -r libflexiti-auth-dev "libflexiti-auth$SOVERSION" >/dev/null 2>&1 || sleep 2
    done
}

test_deb() {
    ensure_apt pkg-config gcc
    SUDO_PATH=$(sudo_shim)
    local p
    for p in libflexiti-auth-dev "libflexiti-auth$SOVERSION"; do
        [ "$(deb_state "$p")" = not-installed ] \
            || fail "$p is already installed on this machine ($(deb_state "$p")): this test installs and removes it; remove it first (dpkg -r $p)"
    done
    local d; d=$(scratch deb)
    readme_block deb "$d/install.sh"
    readme_block deb-remove "$d/remove.sh"
    local deb
    for deb in "$DIST/libflexiti-auth${SOVERSION}_${DEB_VERSION}_amd64.deb" "$DIST/libflexiti-auth-dev_${DEB_VERSION}_amd64.deb"; do
        while read -r f; do DEB_FILES+=("${f#.}"); done < <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}')
    done
    # From here until the removal the packages are on this machine: whatever happens, remove them.
    CLEANUP+=(deb_remove_quietly)
    local out
    out=$(run_dpkg_block "$d" install.sh) || { echo "$out"; fail "README deb block"; }
    for p in libflexiti-auth-dev "libflexiti-auth$SOVERSION"; do
        [ "$(deb_state "$p")" = installed ] || fail "$p is not installed after the README deb block"
    done
    grep -q "$VERSION" <<<"$out" || { echo "$out"; fail "flexiti-token --version does not print $VERSION"; }
    [ "$(command -v flexiti-token)" = /usr/bin/flexiti-token ] || fail "flexiti-token is not /usr/bin/flexiti-token"
    [ "$(pkg-config --modversion flexiti_auth)" = "$VERSION" ] || fail "pkg-config --modversion flexiti_auth is not $VERSION"
    # (/lib is /usr/lib on a merged-/usr system: compare where the loader's path really leads.)
    local loaded; loaded=$(ldd "$d/app" | sed -n "s/^[[:space:]]*libflexiti_auth.so.$SOVERSION => \([^ ]*\) .*/\1/p")
    [ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "/usr/lib/x86_64-linux-gnu/libflexiti_auth.so.$VERSION" ] \
        || { ldd "$d/app"; fail "app is not linked against the installed libflexiti_auth.so.$SOVERSION"; }
    out=$(cd "$d" && bash "$ROOT/tests/support/run-with-token-server.sh" ./app 2>&1) || { echo "$out"; fail "the README's C example built against the .deb"; }
    grep -q '^Authorization: Bearer ' <<<"$out" && grep -qx 'session: exported' <<<"$out" \
        || { echo "$out"; fail "the README's C example did not get a token"; }
    out=$(bash "$ROOT/tests/support/run-with-token-server.sh" flexiti-token check 2>&1) \
        || { echo "$out"; fail "flexiti-token check (from the .deb) against the token server"; }
    grep -q '^OK decision=new' <<<"$out" || { echo "$out"; fail "flexiti-token check did not get a token"; }
    ok "README deb block: dpkg -i, the README's C example built with pkg-config and run against the token server; flexiti-token $VERSION gets a token"

    out=$(run_dpkg_block "$d" remove.sh) || { echo "$out"; fail "README deb-remove block"; }
    for p in libflexiti-auth-dev "libflexiti-auth$SOVERSION"; do
        [ "$(deb_state "$p")" = not-installed ] || fail "$p is $(deb_state "$p") after dpkg -r (want not-installed: no conffiles, nothing kept)"
    done
    local left=() f
    for f in "${DEB_FILES[@]}"; do [ -e "$f" ] || [ -L "$f" ] && left+=("$f"); done
    for f in /usr/share/doc/libflexiti-auth-dev "/usr/share/doc/libflexiti-auth$SOVERSION" /usr/lib/x86_64-linux-gnu/pkgconfig/flexiti_auth.pc; do
        [ -e "$f" ] && left+=("$f")
    done
    [ ${#left[@]} -eq 0 ] || fail "left behind after dpkg -r: ${left[*]}"
    ! ldconfig -p | has libflexiti_auth || fail "ldconfig's cache still lists libflexiti_auth after dpkg -r"
    ! pkg-config --exists flexiti_auth 2>/dev/null || [ -n "${PKG_CONFIG_PATH:-}" ] || fail "pkg-config still finds flexiti_auth after dpkg -r"
    ok "README deb-remove block: dpkg -r left none of the ${#DEB_FILES[@]} files, no package state, nothing in ldconfig's cache"
}

# ---- Windows ---------------------------------------------------------------------------------

test_windows() {
    ensure_apt gcc-mingw-w64-x86-64 unzip binutils-mingw-w64-x86-64
    local d; d=$(scratch windows)
    readme_block windows "$d/install.sh"
    local out
    out=$(cd "$d" && bash -euo pipefail install.sh 2>&1) || { echo "$out"; fail "README windows block"; }
    x86_64-w64-mingw32-objdump -p "$d/app.exe" | has 'DLL Name: flexiti_auth.dll' || fail "app.exe does not import flexiti_auth.dll"
    ok "README windows block: the README's C example built with MinGW against the zip (imports flexiti_auth.dll)"
}

# ---- main ------------------------------------------------------------------------------------

if [ "${1:-}" = --python-source ]; then
    test_python_source
    say "$passed checks passed"
    exit 0
fi
[ $# -ge 2 ] || { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 2; }
DIST=$(cd "$1" && pwd); shift
PLATFORMS=("$@")
[ -x "$FLX_TOKEN_SERVER" ] || fail "token server $FLX_TOKEN_SERVER not built: run 'make build'"
ensure_apt unzip dpkg-dev
check_contents
for p in "${PLATFORMS[@]}"; do
    case $p in
    linux-x86_64) test_python_wheel; test_php; test_deb ;;
    windows-x86_64) test_windows ;;
    esac
done
say "$passed checks passed"
