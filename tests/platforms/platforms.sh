#!/usr/bin/env bash
# Legacy platforms (PLATFORMS.md): build the library for each platform, check what it imports,
# and run the C suite (tests/c) built for that platform against the local token server.
#
#   platforms.sh list                    the platform names, one a line
#   platforms.sh build PLATFORM...       build and stage the package tree into build/platforms/P/pkg
#   platforms.sh check PLATFORM...       build + import check (glibc floor / Windows system DLLs)
#   platforms.sh test PLATFORM...        build + check + the C suite against the token server
#   platforms.sh matrix                  test every platform, write PLATFORMS.md's results table
#   platforms.sh versions                the toolchain versions, one line
#
# Whatever a platform needs (apt packages, the Rust std for the target, zig + cargo-zigbuild from
# PyPI in build/platforms/venv) is installed when missing. Exit 0: passed; 1: failed; 3: blocked
# (a part of the toolchain cannot be had on this machine; the message says which).
# Environment: FLX_TOKEN_SERVER (token server binary), PLATFORMS_BUILD_DIR (build/platforms),
# ZIG_TARGET_DIR (target/zig: cargo target dir of these builds, apart from the native one),
# PLATFORMS_VENV (build/platforms/venv: where zig and cargo-zigbuild are installed),
# PLATFORMS_WINEPREFIX (~/.cache/flexiti-auth/wine-prefix: Wine's 64-bit prefix; windows-i686's
# 32-bit prefix is that path with -win32 appended),
# PLATFORMS_FEATURES (redis: the cargo features of what is built and shipped; empty: none).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${PLATFORMS_BUILD_DIR:-$ROOT/build/platforms}
ZIG_TARGET_DIR=${ZIG_TARGET_DIR:-$ROOT/target/zig}
TOKEN_SERVER=${FLX_TOKEN_SERVER:-$ROOT/target/debug/flexiti-token-server}
GLIBC_FLOOR=2.17
FEATURES=${PLATFORMS_FEATURES-redis}
ALL_PLATFORMS=(linux-x86_64 linux-i686 linux-aarch64 windows-x86_64 windows-i686)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
SOVERSION=${VERSION%%.*}
BLOCKED=3

say() { printf '[platforms] %s\n' "$*" >&2; }
blocked() { say "BLOCKED: $*"; exit $BLOCKED; }

# platform_info P: the facts of one row (P_* variables).
platform_info() {
    P=$1
    P_RUN=()
    case $P in
    linux-x86_64)
        P_RUST=x86_64-unknown-linux-gnu; P_ZIG=$P_RUST.$GLIBC_FLOOR; P_OS=linux
        P_CC=${PLATFORMS_CC_X86_64:-gcc}; P_APT=(gcc binutils pkg-config)
        P_MIN_OS="Linux 3.2+, glibc 2.17+ (RHEL/CentOS 7, Debian 8, Ubuntu 14.04 and newer)"
        P_CPU="x86-64 (baseline x86-64-v1: SSE2, no AVX needed)" ;;
    linux-i686)
        P_RUST=i686-unknown-linux-gnu; P_ZIG=$P_RUST.$GLIBC_FLOOR; P_OS=linux
        P_CC=${PLATFORMS_CC_I686:-i686-linux-gnu-gcc}; P_APT=(gcc-i686-linux-gnu libc6-i386 binutils pkg-config)
        P_MIN_OS="Linux 3.2+, glibc 2.17+ (32-bit userland)"
        P_CPU="i686 with SSE2 (Pentium 4 / Athlon 64 or newer): Rust's i686 target emits SSE2" ;;
    linux-aarch64)
        P_RUST=aarch64-unknown-linux-gnu; P_ZIG=$P_RUST.$GLIBC_FLOOR; P_OS=linux
        P_CC=${PLATFORMS_CC_AARCH64:-aarch64-linux-gnu-gcc}; P_APT=(gcc-aarch64-linux-gnu qemu-user binutils pkg-config)
        P_RUN=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
        P_MIN_OS="Linux 4.1+, glibc 2.17+ (64-bit ARM userland)"
        P_CPU="ARMv8-A, 64-bit (AArch64)" ;;
    windows-x86_64)
        P_RUST=x86_64-pc-windows-gnu; P_ZIG=; P_OS=windows
        P_CC=x86_64-w64-mingw32-gcc; P_APT=(gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine64 llvm lld clang)
        P_RUN=(wine); P_WINEARCH=win64; P_MACHINE=x64; P_DLLTOOL_M=i386:x86-64; P_MSVC=x86_64-pc-windows-msvc
        P_MIN_OS="Windows 10 / Server 2016 or newer, 64-bit (Rust's std imports ProcessPrng)"
        P_CPU="x86-64" ;;
    windows-i686)
        P_RUST=i686-pc-windows-gnu; P_ZIG=; P_OS=windows
        P_CC=i686-w64-mingw32-gcc; P_APT=(gcc-mingw-w64-i686 binutils-mingw-w64-i686 wine32:i386 llvm lld clang)
        P_RUN=(wine); P_WINEARCH=win32; P_MACHINE=x86; P_DLLTOOL_M=i386; P_MSVC=i686-pc-windows-msvc
        P_MIN_OS="Windows 10 or newer: 32-bit Windows 10, and 32-bit processes on 64-bit Windows (Rust's std imports ProcessPrng)"
        P_CPU="i686 with SSE2 (Pentium 4 / Athlon 64 or newer)" ;;
    *) say "unknown platform '$P' (known: ${ALL_PLATFORMS[*]})"; exit 2 ;;
    esac
    P_DIR=$OUT/$P
    P_PKG=$P_DIR/pkg
    P_OBJDUMP=${P_CC%-gcc}-objdump
}

# ---- toolchain -----------------------------------------------------------------------------

ensure_apt() {
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || blocked "$P needs the Debian packages ${missing[*]} and there is no apt-get"
    local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    # A package of another architecture (wine32:i386) needs that architecture enabled first.
    for p in "${missing[@]}"; do
        case $p in *:*)
            dpkg --print-foreign-architectures | grep -qx "${p##*:}" && continue
            say "enabling the ${p##*:} architecture (dpkg --add-architecture ${p##*:})"
            $sudo dpkg --add-architecture "${p##*:}" || blocked "dpkg --add-architecture ${p##*:} failed" ;;
        esac
    done
    say "installing ${missing[*]}"
    # A mirror in mid-sync can fail one index (apt-get update exits 100) while the rest is fine:
    # the install decides.
    $sudo apt-get update -qq >&2 || say "apt-get update reported errors; trying the install anyway"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || blocked "apt-get could not install ${missing[*]} (for wine32:i386, every i386 library must exist in the version of its installed amd64 twin: see PLATFORMS.md, windows-i686)"
}

ensure_rust_target() {
    local sysroot; sysroot=$(rustc --print sysroot)
    [ -d "$sysroot/lib/rustlib/$P_RUST/lib" ] && return 0
    command -v rustup >/dev/null || blocked "no Rust std for $P_RUST in $sysroot and no rustup to add it"
    say "adding the Rust std for $P_RUST (rustup target add)"
    rustup target add "$P_RUST" >&2 || blocked "rustup could not add the Rust std for $P_RUST (no download here?)"
}

# zig and cargo-zigbuild from PyPI, pinned (tests/platforms/requirements.txt), in a venv.
ensure_zig() {
    local venv=${PLATFORMS_VENV:-$OUT/venv} req=$ROOT/tests/platforms/requirements.txt
    if [ ! -x "$venv/bin/python" ]; then
        mkdir -p "$OUT"
        python3 -m venv "$venv" 2>/dev/null || { rm -rf "$venv"; ensure_apt python3-venv; python3 -m venv "$venv"; } \
            || blocked "cannot create a Python venv for ziglang/cargo-zigbuild"
    fi
    if ! cmp -s "$req" "$venv/.requirements"; then
        say "installing $(grep -v '^#' "$req" | tr '\n' ' ')from PyPI into $venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2 \
            || blocked "pip could not install ziglang/cargo-zigbuild from PyPI"
        cp "$req" "$venv/.requirements"
    fi
    export PATH=$venv/bin:$PATH
    # cargo-zigbuild runs `$CARGO_ZIGBUILD_PYTHON_PATH -m ziglang`: the pinned zig, never another.
    export CARGO_ZIGBUILD_PYTHON_PATH=$venv/bin/python
    unset CARGO_ZIGBUILD_ZIG_PATH
}

ensure_toolchain() {
    ensure_apt "${P_APT[@]}"
    ensure_rust_target
    [ -z "$P_ZIG" ] || ensure_zig
}

# ---- build and stage -----------------------------------------------------------------------

# Build paths are remapped so the library does not depend on where the tree or the cargo home
# is (CI builds in a fresh clone elsewhere): panic locations read /build/... and /cargo/...
rustflags() {
    local cargo_home=${CARGO_HOME:-$HOME/.cargo} flags
    flags=(--remap-path-prefix="$ROOT=/build/flexiti-auth" --remap-path-prefix="$cargo_home=/cargo"
           --remap-path-prefix="$ZIG_TARGET_DIR=/build/target")
    # GNU ld stamps the link time into PE headers unless told not to; and the DLL's COFF symbol
    # table names rustc's temporary raw-dylib import libraries (/tmp/rustcXXXXXX/...): a random
    # path, so drop the table (exports live in .edata and stay).
    # shellcheck disable=SC2054 # the comma belongs to the linker argument
    [ "$P_OS" = windows ] && flags+=(-C link-arg=-Wl,--no-insert-timestamp -C strip=symbols)
    local IFS=$'\x1f'; printf '%s' "${flags[*]}"
}

build_one() {
    ensure_toolchain
    local log=$P_DIR/build.log
    mkdir -p "$P_DIR"
    say "$P: building $P_RUST${P_ZIG:+ (glibc $GLIBC_FLOOR via cargo-zigbuild)}${FEATURES:+ with features $FEATURES}"
    local build_cmd=(cargo build)
    [ -n "$P_ZIG" ] && build_cmd=(cargo zigbuild)
    # The C library (capi/) and the operator CLI flexiti-token (the token server is a host tool,
    # built by `make build`). What `make dist` ships has the token store on Redis (the `redis`
    # feature, which capi/ forwards to the Rust library).
    local features=()
    [ -z "$FEATURES" ] || features=(--features "$FEATURES")
    if ! (cd "$ROOT" && CARGO_ENCODED_RUSTFLAGS=$(rustflags) "${build_cmd[@]}" --release --locked -p flexiti-auth-capi -p flexiti-auth --lib --bin flexiti-token "${features[@]}" \
            --target "${P_ZIG:-$P_RUST}" --target-dir "$ZIG_TARGET_DIR") >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        say "$P: build failed (log: $log)"
        return 1
    fi
    # Unix-only code must have a counterpart or be compiled out cleanly: a warning (dead code,
    # unused import) on one platform is code that does not belong there. (cargo replays the
    # warnings of cached builds, so this holds on every run.)
    if grep -qE 'warning: `flexiti-auth` \((lib|bin "flexiti-token")\) generated' "$log"; then
        grep -E -A5 '^warning' "$log" | head -n 40 >&2
        say "$P: the library or flexiti-token compiles with warnings for $P_RUST (log: $log)"
        return 1
    fi
    stage_one
}

# The package tree of one platform: what `make dist` ships and what the C suite links against.
stage_one() {
    local rel=$ZIG_TARGET_DIR/$P_RUST/release
    rm -rf "$P_PKG"
    mkdir -p "$P_PKG/include" "$P_PKG/lib" "$P_PKG/bin"
    install -m 0644 "$ROOT/include/flexiti_auth.h" "$P_PKG/include/"
    if [ "$P_OS" = linux ]; then
        install -m 0755 "$rel/flexiti-token" "$P_PKG/bin/"
        local real=libflexiti_auth.so.$VERSION
        install -m 0755 "$rel/libflexiti_auth.so" "$P_PKG/lib/$real"
        ln -s "$real" "$P_PKG/lib/libflexiti_auth.so.$SOVERSION"
        ln -s "libflexiti_auth.so.$SOVERSION" "$P_PKG/lib/libflexiti_auth.so"
        install -m 0644 "$ROOT/include/flexiti_auth_php.h" "$P_PKG/include/"
        mkdir -p "$P_PKG/lib/pkgconfig"
        cat >"$P_PKG/lib/pkgconfig/flexiti-auth.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: flexiti-auth
Description: Gets and keeps a valid Flexiti POS-API OAuth2 access token (C ABI)
Version: $VERSION
Libs: -L\${libdir} -lflexiti_auth
Libs.private: -lpthread -ldl
Cflags: -I\${includedir}
EOF
    else
        install -m 0755 "$rel/flexiti_auth.dll" "$rel/flexiti-token.exe" "$P_PKG/bin/"
        install -m 0644 "$rel/libflexiti_auth.dll.a" "$P_PKG/lib/"
        # The module-definition file: the DLL's exports by name.
        { echo "LIBRARY flexiti_auth.dll"; echo "EXPORTS"; dll_exports "$P_PKG/bin/flexiti_auth.dll" | sed 's/^/    /'; } \
            >"$P_PKG/lib/flexiti_auth.def"
        # The MSVC-style import library, made from the .def by LLVM's dlltool (the COFF
        # short-import-library writer of lld-link and llvm-lib): what `lib /def:... /machine:$P_MACHINE`
        # would make. On x86 it names each function as cl.exe references a cdecl one (_flx_...),
        # importing the undecorated name the DLL exports. Deterministic: no timestamps.
        "$(llvm_tool dlltool)" -m "$P_DLLTOOL_M" -D flexiti_auth.dll -d "$P_PKG/lib/flexiti_auth.def" \
            -l "$P_PKG/lib/flexiti_auth.lib" || { say "$P: llvm-dlltool could not make flexiti_auth.lib"; return 1; }
        # PHP FFI loads FFI_LIB by name: on Windows that is the DLL.
        sed 's/^#define FFI_LIB "libflexiti_auth\.so"$/#define FFI_LIB "flexiti_auth.dll"/' \
            "$ROOT/include/flexiti_auth_php.h" >"$P_PKG/include/flexiti_auth_php.h"
        grep -q '^#define FFI_LIB "flexiti_auth.dll"$' "$P_PKG/include/flexiti_auth_php.h" \
            || { say "$P: the PHP header's FFI_LIB line changed shape: update stage_one"; return 1; }
    fi
    write_readme >"$P_PKG/README.txt"
    say "$P: staged in $P_PKG"
}

# llvm_tool NAME: LLVM's NAME (Debian's llvm package: llvm-NAME, or llvm-NAME-<version>).
llvm_tool() {
    local t
    for t in "llvm-$1" $(compgen -c "llvm-$1-" | LC_ALL=C sort -t- -k3 -n -r); do
        command -v "$t" >/dev/null && { echo "$t"; return 0; }
    done
    say "no llvm-$1 (Debian package llvm)"; return 1
}

dll_exports() { "$P_OBJDUMP" -p "$1" | awk '/\[Ordinal\/Name Pointer\] Table/ {t=1; next} t && /^\t\[/ {print $NF; next} t {exit}' | LC_ALL=C sort; }

write_readme() {
    local link
    if [ "$P_OS" = linux ]; then
        link="    cc -I include app.c -L lib -lflexiti_auth -Wl,-rpath,'\$ORIGIN/../lib'
    or, with pkg-config: PKG_CONFIG_PATH=\$PWD/lib/pkgconfig pkg-config --cflags --libs flexiti-auth
Programs record the soname libflexiti_auth.so.$SOVERSION: install lib/ as it is (the two links
included) under /usr/local/lib or beside the program. PHP FFI: include/flexiti_auth_php.h."
    else
        link="    cl /I include app.c lib\\flexiti_auth.lib                      (Visual Studio: link.exe takes lib\\flexiti_auth.lib)
    $P_CC -I include app.c lib/libflexiti_auth.dll.a -o app.exe   (MinGW; it also takes lib/flexiti_auth.lib)
lib/flexiti_auth.def lists the exports (lib /def:lib\\flexiti_auth.def /machine:$P_MACHINE remakes the .lib).
Ship bin\\flexiti_auth.dll beside the program. It needs only DLLs that Windows 10 has (no MinGW
runtime DLL). PHP FFI: include/flexiti_auth_php.h (its FFI_LIB is flexiti_auth.dll)."
    fi
    cat <<EOF
flexiti-auth $VERSION for $P ($P_RUST)

Gets and keeps a valid Flexiti POS-API OAuth2 access token, behind a C ABI:
include/flexiti_auth.h documents every function, its ownership rules and its errors.

Runs on: $P_MIN_OS
CPU:     $P_CPU

Link:
$link

Built from the flexiti-auth sources with ${P_ZIG:+cargo-zigbuild (zig) for glibc $GLIBC_FLOOR, }Rust's $P_RUST target;
how it was built and tested: PLATFORMS.md in the source tree. SHA256SUMS lists every file here.
EOF
}

# ---- checks --------------------------------------------------------------------------------

# Every function the header declares is exported by the built library.
check_exports() {
    local want have missing
    want=$(grep -o '\bflx_[a-z0-9_]*(' "$ROOT/include/flexiti_auth.h" | tr -d '(' | LC_ALL=C sort -u)
    if [ "$P_OS" = linux ]; then
        have=$(objdump -T "$P_PKG/lib/libflexiti_auth.so.$VERSION" | awk '$4 != "*UND*" && $NF ~ /^flx_/ {print $NF}' | LC_ALL=C sort -u)
    else
        have=$(dll_exports "$P_PKG/bin/flexiti_auth.dll")
    fi
    missing=$(LC_ALL=C comm -23 <(echo "$want") <(echo "$have"))
    if [ -n "$missing" ]; then say "$P: the header declares functions the library does not export: $missing"; return 1; fi
    say "$P: exports all $(echo "$want" | wc -l) functions of include/flexiti_auth.h"
}

# Windows: the DLL may import only DLLs that Windows 10 itself ships (no libgcc_s/libwinpthread).
# crypt32, ncrypt and secur32 (CNG key storage, in every Windows since Vista) come with the redis
# feature: rustls-native-certs reads the system's root store through the schannel crate.
WINDOWS_SYSTEM_DLLS="kernel32.dll ntdll.dll advapi32.dll bcrypt.dll bcryptprimitives.dll ws2_32.dll userenv.dll msvcrt.dll api-ms-win-core-synch-l1-2-0.dll secur32.dll crypt32.dll ncrypt.dll ole32.dll shell32.dll user32.dll"
check_windows_imports() {
    local dll=${1:-$P_PKG/bin/flexiti_auth.dll} bad=() d
    while read -r d; do
        case " $WINDOWS_SYSTEM_DLLS " in *" $d "*) ;; *) bad+=("$d") ;; esac
    done < <("$P_OBJDUMP" -p "$dll" | sed -n 's/^\tDLL Name: //p' | tr 'A-Z' 'a-z' | sort -u)
    if [ ${#bad[@]} -gt 0 ]; then say "$P: $(basename "$dll") imports DLLs Windows does not ship: ${bad[*]}"; return 1; fi
    echo "flexiti_auth.dll imports: $("$P_OBJDUMP" -p "$dll" | sed -n 's/^\tDLL Name: //p' | sort -fu | tr '\n' ' ')"
    echo "OK: Windows system DLLs only"
}

check_one() {
    local out
    if [ "$P_OS" = linux ]; then
        out=$(bash "$ROOT/tests/platforms/check-glibc-symbols.sh" "$P_PKG/lib/libflexiti_auth.so.$VERSION" "$GLIBC_FLOOR") \
            || { echo "$out" >&2; say "$P: symbol check failed"; return 1; }
        # The CLI that ships beside it runs on the same systems.
        bash "$ROOT/tests/platforms/check-glibc-symbols.sh" "$P_PKG/bin/flexiti-token" "$GLIBC_FLOOR" >/dev/null \
            || { say "$P: symbol check of bin/flexiti-token failed"; return 1; }
        # getrandom must never be a strong import (glibc 2.25): the library draws randomness
        # through the getrandom crate, which calls the syscall or falls back to /dev/urandom.
        if objdump -T "$P_PKG/lib/libflexiti_auth.so.$VERSION" | grep -E '\*UND\*' | grep -vE '^[0-9a-f]+  w ' | grep -qw getrandom; then
            say "$P: a strong getrandom import (glibc 2.25+)"; return 1
        fi
    else
        out=$(check_windows_imports) || return 1
        check_windows_imports "$P_PKG/bin/flexiti-token.exe" >/dev/null \
            || { say "$P: bin/flexiti-token.exe needs DLLs that Windows does not ship"; return 1; }
    fi
    echo "$out" >&2
    if [ "$P_OS" = linux ]; then
        echo "newest $(sed -n '1s/.* newest \([^ ]*\) .*/\1/p' <<<"$out"), no strong unversioned import" >"$P_DIR/check.result"
    else
        echo "system DLLs only: $(sed -n 's/^flexiti_auth.dll imports: //p' <<<"$out" | sed 's/ *$//')" >"$P_DIR/check.result"
    fi
    check_exports
}

# ---- the C suite ---------------------------------------------------------------------------

C_FLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic)

test_one() {
    [ -x "$TOKEN_SERVER" ] || { say "token server $TOKEN_SERVER not built: run 'make build'"; return 1; }
    local t=$P_DIR/test log=$P_DIR/test.log rc=0 wow64=
    rm -rf "$t"; mkdir -p "$t"
    say "$P: building the C suite with $P_CC"
    if [ "$P_OS" = linux ]; then
        # Compiler and linker flags from the package's own pkg-config file: it is tested too.
        local pc
        pc=$(PKG_CONFIG_LIBDIR="$P_PKG/lib/pkgconfig" PKG_CONFIG_PATH='' pkg-config --cflags --libs flexiti-auth) \
            || { say "$P: pkg-config cannot read $P_PKG/lib/pkgconfig/flexiti-auth.pc"; return 1; }
        # shellcheck disable=SC2086 # pc is a list of flags
        "$P_CC" "${C_FLAGS[@]}" -o "$t/test_core" "$ROOT/tests/c/test_core.c" "$ROOT/tests/c/harness.c" \
            $pc -Wl,-rpath,"$P_PKG/lib" -lpthread || return 1
        say "$P: running it${P_RUN:+ under ${P_RUN[*]}}"
        (cd "$t" && env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
            FLX_TOKEN_SERVER="$TOKEN_SERVER" "${P_RUN[@]}" ./test_core) >"$log" 2>&1 || rc=$?
    else
        # The suite that runs is linked against the MSVC-style import library flexiti_auth.lib
        # (GNU ld reads those), not the .dll.a; a second link against the .dll.a proves that one.
        local objs=("$ROOT/tests/c/test_core.c" "$ROOT/tests/platforms/windows/harness_win.c")
        "$P_CC" "${C_FLAGS[@]}" -I "$P_PKG/include" -I "$ROOT/tests/c" -o "$t/test_core.exe" \
            "${objs[@]}" "$P_PKG/lib/flexiti_auth.lib" -lws2_32 -static -lpthread || return 1
        "$P_CC" "${C_FLAGS[@]}" -I "$P_PKG/include" -I "$ROOT/tests/c" -o "$t/test_core_dll_a.exe" \
            "${objs[@]}" "$P_PKG/lib/libflexiti_auth.dll.a" -lws2_32 -static -lpthread || return 1
        # Rust's std imports ProcessPrng by its undecorated name, also on x86 (not ProcessPrng@8).
        "$P_CC" -std=c99 -Wall -Wextra -Werror -O2 -shared -o "$t/bcryptprimitives.dll" \
            "$ROOT/tests/platforms/windows/processprng_shim.c" -lbcrypt -Wl,--kill-at || return 1
        cp "$P_PKG/bin/flexiti_auth.dll" "$t/" || return 1
        msvc_link_probe "$t" || return 1
        say "$P: running the C suite (linked against flexiti_auth.lib) under wine ($(wine --version 2>/dev/null), $P_WINEARCH prefix)"
        run_under_wine "$t" >"$log" 2>&1 || rc=$?
        if [ "$rc" -eq 0 ] && [ "$P_WINEARCH" = win32 ]; then
            # The same 32-bit program as a 32-bit process of a 64-bit Windows (WoW64).
            cat "$log"
            say "$P: running it again as a 32-bit process in the 64-bit prefix (WoW64)"
            (P_WINEARCH=win64; run_under_wine "$t") >"$log" 2>&1 || rc=$?
            suite_line "$log" >/dev/null || rc=1
            [ "$rc" -eq 0 ] && wow64=" (and the same as a 32-bit process in a 64-bit prefix)"
        fi
    fi
    cat "$log"
    local line; line=$(suite_line "$log" || true)
    if [ "$rc" -ne 0 ] || [ -z "$line" ] || ! grep -q ', 0 failed$' <<<"$line"; then
        say "$P: C suite failed (exit $rc; log: $log)"
        return 1
    fi
    printf '%s\n' "${line#C suite: }${wow64:-}" >"$P_DIR/test.result"
}

# suite_line LOG: the C suite's closing line (Windows programs end their lines with CRLF).
suite_line() { tr -d '\r' <"$1" | grep -E '^C suite: [0-9]+ passed, [0-9]+ failed$' | tail -n1; }

# A Visual Studio user's link line, short of Visual Studio itself: a program compiled by clang
# for the MSVC target (cl.exe's ABI and name decoration; _MSC_VER 1900, i.e. VS 2015) and linked
# by lld-link (link.exe's command line and rules) against lib/flexiti_auth.lib alone, with no C
# runtime. It references every function of the header, so Wine's loader must resolve each one
# through the .lib's import entries to start it; it then calls a few and exits 0.
msvc_link_probe() {
    local t=$1 n rc=0
    mkdir -p "$t/msvc/include"
    # The header includes <stdlib.h> for nothing it declares; there is no MSVC CRT here.
    echo '/* stand-in: flexiti_auth.h uses nothing of stdlib.h */' >"$t/msvc/include/stdlib.h"
    {
        echo '#include "flexiti_auth.h"'
        echo 'typedef void (*any_fn)(void);'
        echo 'static any_fn const every_function[] = {'
        for n in $(grep -o '\bflx_[a-z0-9_]*(' "$ROOT/include/flexiti_auth.h" | tr -d '(' | LC_ALL=C sort -u); do
            echo "    (any_fn)$n,"
        done
        echo '};'
        cat <<'EOF'
/* No C runtime: the entry point's return value is the process's exit code. */
int probe_main(void) {
    unsigned i;
    const char *version = flx_version();
    for (i = 0; i < sizeof every_function / sizeof every_function[0]; i++) {
        if (!every_function[i]) return 2;
    }
    if (!version || !*version) return 3;
    if (flx_client_new(0, 0, 0) != 0 || flx_last_error_code() != FLX_ERR_INVALID_ARGUMENT) return 4;
    if (!flx_is_access_token_expired(1000, 1200, 2140, 60) || flx_is_access_token_expired(1000, 1200, 2139, 60)) return 5;
    return 0;
}
EOF
    } >"$t/msvc/probe.c"
    clang --target="$P_MSVC" -fms-compatibility-version=19.00 -ffreestanding -std=c99 -Wall -Wextra -Werror \
        -I "$t/msvc/include" -I "$P_PKG/include" -c "$t/msvc/probe.c" -o "$t/msvc/probe.obj" \
        || { say "$P: clang --target=$P_MSVC could not compile the probe"; return 1; }
    cp "$P_PKG/lib/flexiti_auth.lib" "$t/msvc/"
    (cd "$t/msvc" && lld-link /nologo /machine:"$P_MACHINE" /subsystem:console /entry:probe_main /nodefaultlib \
        /out:probe.exe probe.obj flexiti_auth.lib) \
        || { say "$P: lld-link could not link the probe against flexiti_auth.lib"; return 1; }
    cp "$t/flexiti_auth.dll" "$t/bcryptprimitives.dll" "$t/msvc/"
    wine_prefix
    (cd "$t/msvc" && timeout 120 wine ./probe.exe) || rc=$?
    wineserver -k 2>/dev/null || true
    [ $rc -eq 0 ] || { say "$P: the MSVC-linked probe exited $rc under wine"; return 1; }
    say "$P: clang --target=$P_MSVC + lld-link /machine:$P_MACHINE against flexiti_auth.lib: links, loads, runs"
    echo "\`clang --target=$P_MSVC\` + \`lld-link /machine:$P_MACHINE\` against \`flexiti_auth.lib\`: links, runs, exits 0" >"$P_DIR/msvc.result"
}

# wine_prefix: the environment and the prefix (made once) for this row's Wine: a 64-bit prefix
# for windows-x86_64, a 32-bit one (WINEARCH=win32: a 32-bit Windows) for windows-i686.
wine_prefix() {
    # The prefix lives outside the source tree: its drive z: is a link to /, and cargo walks a
    # package's whole directory (links included) to fingerprint build.rs where git does not list it.
    local base=${PLATFORMS_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/flexiti-auth/wine-prefix}
    export WINEPREFIX=$base
    [ "$P_WINEARCH" = win64 ] || export WINEPREFIX=$base-$P_WINEARCH
    export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=$P_WINEARCH
    unset DISPLAY http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        say "creating the wine prefix $WINEPREFIX ($WINEARCH)"
        mkdir -p "$(dirname "$WINEPREFIX")"
        wineboot -i >/dev/null 2>&1 || true
        wineserver -w
    fi
}

# Wine runs the Windows test program; the token server (a Linux program) runs beside it, started
# here and tied to this shell by --watch-stdin; its URL goes in FLX_TOKEN_SERVER_URL.
run_under_wine() {
    local t=$1 url rc=0
    wine_prefix
    coproc TOKEN_SERVER_PROC { exec "$TOKEN_SERVER" --port 0 --watch-stdin; }
    local server_pid=$TOKEN_SERVER_PROC_PID
    if ! read -r -t 10 url <&"${TOKEN_SERVER_PROC[0]}"; then
        kill "$server_pid" 2>/dev/null || true
        echo "token server did not start"; return 1
    fi
    (cd "$t" && FLX_TOKEN_SERVER_URL=$url timeout 300 wine ./test_core.exe) || rc=$?
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    wineserver -k 2>/dev/null || true
    return $rc
}

# ---- commands ------------------------------------------------------------------------------

run_platform() { # run_platform STEP P (in a subshell: a blocked step exits it with 3)
    platform_info "$2"
    rm -f "$P_DIR/check.result" "$P_DIR/test.result" "$P_DIR/msvc.result"
    build_one || return 1
    [ "$1" = build ] && return 0
    check_one || return 1
    [ "$1" = check ] && return 0
    test_one
}

versions() {
    local venv=${PLATFORMS_VENV:-$OUT/venv} zig=
    [ -x "$venv/bin/python" ] && zig=$("$venv/bin/python" -m ziglang version 2>/dev/null || true)
    printf '%s' "$(rustc --version | cut -d' ' -f1-2)"
    [ -n "$zig" ] && printf ', zig %s, cargo-zigbuild %s' "$zig" "$("$venv/bin/cargo-zigbuild" --version 2>/dev/null | awk '{print $2}')"
    command -v x86_64-w64-mingw32-gcc >/dev/null && printf ', mingw-w64 gcc %s' "$(x86_64-w64-mingw32-gcc -dumpversion)"
    command -v wine >/dev/null && printf ', %s' "$(wine --version 2>/dev/null)"
    command -v clang >/dev/null && printf ', clang/lld-link/llvm-dlltool %s' "$(clang -dumpversion)"
    command -v qemu-aarch64 >/dev/null && printf ', qemu %s' "$(qemu-aarch64 --version | sed -n '1s/.*version \([0-9.]*\).*/\1/p')"
    echo
}

matrix() {
    local rows=() failed=0 p rc started result check tests msvc
    started=$(date -u '+%Y-%m-%d %H:%M UTC')
    for p in "${ALL_PLATFORMS[@]}"; do
        rc=0
        platform_info "$p"
        mkdir -p "$P_DIR"
        (run_platform test "$p") 2>&1 | tee "$P_DIR/run.log" || rc=${PIPESTATUS[0]}
        check=$(cat "$P_DIR/check.result" 2>/dev/null || echo -)
        tests=$(cat "$P_DIR/test.result" 2>/dev/null || echo -)
        msvc=-
        [ "$P_OS" = windows ] && msvc=$(cat "$P_DIR/msvc.result" 2>/dev/null || echo "not run")
        case $rc in
        0) result=PASS ;;
        "$BLOCKED") result=BLOCKED; failed=1 ;;
        *) result=FAIL; failed=1 ;;
        esac
        if [ "$result" != PASS ]; then
            # Why: the last thing the run said about this platform (logs in build/platforms/P/).
            tests="- ($(grep -E "^\[platforms\] ($p: |BLOCKED)" "$P_DIR/run.log" | tail -n1 | sed "s/^\[platforms\] //; s/^$p: //; s|$ROOT/||g; s/|/\\|/g"))"
        fi
        rows+=("| $p | $result | $check | $tests | $msvc |")
        rm -f "$P_DIR/check.result" "$P_DIR/test.result" "$P_DIR/msvc.result"
    done
    {
        echo "Last run: $started, on $(. /etc/os-release && echo "$PRETTY_NAME") $(uname -m), with $(versions)."
        echo
        echo "| platform | result | import check | C suite (passed, failed; Windows: linked against \`flexiti_auth.lib\`) | MSVC-target link probe |"
        echo "| --- | --- | --- | --- | --- |"
        printf '%s\n' "${rows[@]}"
    } >"$OUT/results.md"
    write_block "$ROOT/PLATFORMS.md" results "$OUT/results.md"
    cat "$OUT/results.md"
    return $failed
}

# write_block DOC NAME FILE: replace what stands between <!-- NAME:begin --> and <!-- NAME:end -->.
write_block() {
    local doc=$1 name=$2 file=$3
    grep -qx "<!-- $name:begin -->" "$doc" && grep -qx "<!-- $name:end -->" "$doc" \
        || { say "$doc has no <!-- $name:begin --> / <!-- $name:end --> markers"; return 1; }
    awk -v file="$file" -v b="<!-- $name:begin -->" -v e="<!-- $name:end -->" '
        $0 == b { print; while ((getline line < file) > 0) print line; skip = 1; next }
        $0 == e { skip = 0 }
        !skip { print }' "$doc" >"$doc.tmp"
    mv "$doc.tmp" "$doc"
    say "$name written to $doc"
}

cmd=${1:-}; shift || true
case $cmd in
list) printf '%s\n' "${ALL_PLATFORMS[@]}" ;;
build|check|test)
    [ $# -gt 0 ] || { say "usage: platforms.sh $cmd PLATFORM..."; exit 2; }
    worst=0
    for p in "$@"; do
        rc=0; (run_platform "$cmd" "$p") || rc=$?
        if [ $rc -ne 0 ]; then worst=$rc; say "$p: $cmd did not pass"; fi
    done
    exit $worst ;;
matrix) matrix ;;
write-block) write_block "$ROOT/PLATFORMS.md" "${1:?name}" "${2:?file}" ;;
versions) versions ;;
stage) platform_info "${1:?platform}"; stage_one ;;
*) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
