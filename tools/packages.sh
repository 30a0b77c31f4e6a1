#!/usr/bin/env bash
# The packages people install, made from the platform trees that tests/platforms/platforms.sh
# built and checked (TREES/<platform>/: lib/, include/, bin/flexiti-token, README.txt):
#
#   Python    flexiti_auth-V-py3-none-manylinux2014_<arch>.whl (linux-*), -win_amd64.whl
#             (windows-x86_64), -win32.whl (windows-i686): the pure-Python package (built by
#             setuptools from bindings/python) with the platform's library inside; no Rust needed
#   PHP       flexiti-auth-php-V.zip: a Composer "artifact" (composer.json with the version, the
#             binding, include/flexiti_auth_php.h, lib/<platform>/<library> for every platform)
#   Debian    libflexiti-auth0_V-1_<arch>.deb (the versioned library, its soname link, flexiti-token)
#             and libflexiti-auth-dev_V-1_<arch>.deb (headers, flexiti_auth.pc, the unversioned
#             link), amd64 / i386 / arm64, built with dpkg-deb
#   Windows   flexiti-auth-V-<platform>.zip: the platform tree (DLL, import library, .def,
#             headers, flexiti-token.exe, README.txt, SHA256SUMS) under one top directory
#
#   tools/packages.sh build TREES OUT PLATFORM...   write the packages of these platforms into OUT
#   tools/packages.sh auditwheel WHEEL...           `auditwheel show` each; fail unless it is
#                                                   consistent with its manylinux2014 tag
#   tools/packages.sh table OUT                     the package table of PLATFORMS.md (markdown)
#   tools/packages.sh venv                          print the python of the packaging venv
#
# V is the [package] version of Cargo.toml, the one place it is written. Every archive is
# reproducible: file times are SOURCE_DATE_EPOCH (default 1980-01-01), owners root, order sorted,
# modes normalised, and the tools are pinned (tools/packages-requirements.txt).
# Environment: PACKAGES_VENV (build/platforms/packages-venv), SOURCE_DATE_EPOCH.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
SOVERSION=${VERSION%%.*}
DEB_REVISION=1
DEB_VERSION=$VERSION-$DEB_REVISION
LICENSE=$(sed -n 's/^license = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
DESCRIPTION=$(sed -n 's/^description = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
MAINTAINER="flexiti-auth maintainers <flexiti-auth@localhost>"
VENV=${PACKAGES_VENV:-$ROOT/build/platforms/packages-venv}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-315532800}
# Files are created 0644/0755 whatever the caller's umask.
umask 022

say() { printf '[packages] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -n "$VERSION" ] || die "no version in $ROOT/Cargo.toml"

# ---- tools ---------------------------------------------------------------------------------

ensure_venv() {
    local req=$ROOT/tools/packages-requirements.txt
    if [ ! -x "$VENV/bin/python" ]; then
        mkdir -p "$(dirname "$VENV")"
        python3 -m venv "$VENV" 2>/dev/null || {
            rm -rf "$VENV"
            local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
            $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$VENV"
        } || die "cannot create the packaging venv $VENV"
    fi
    if ! cmp -s "$req" "$VENV/.requirements"; then
        say "installing $(grep -v '^#' "$req" | tr '\n' ' ')from PyPI into $VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2 \
            || die "pip could not install the packaging tools (tools/packages-requirements.txt)"
        cp "$req" "$VENV/.requirements"
    fi
}

# shellcheck source=tools/apt.sh
source "$ROOT/tools/apt.sh"

# Every file and directory under DIR gets the time SOURCE_DATE_EPOCH (links themselves too).
stamp_tree() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# ---- platform facts ------------------------------------------------------------------------

# platform_facts P: P_OS, P_LIB (the library's file in the tree), P_LIB_NAME (its name as loaded:
# what FFI_LIB / the Python binding look for), P_WHEEL_TAG, P_DEB_ARCH, P_TRIPLET.
platform_facts() {
    P=$1
    case $P in
    linux-*)
        P_OS=linux; P_LIB=lib/libflexiti_auth.so.$VERSION; P_LIB_NAME=libflexiti_auth.so
        P_WHEEL_TAG=manylinux2014_${P#linux-}
        case $P in
        linux-x86_64) P_DEB_ARCH=amd64; P_TRIPLET=x86_64-linux-gnu ;;
        linux-i686) P_DEB_ARCH=i386; P_TRIPLET=i386-linux-gnu ;;
        linux-aarch64) P_DEB_ARCH=arm64; P_TRIPLET=aarch64-linux-gnu ;;
        *) die "no Debian architecture known for $P" ;;
        esac ;;
    windows-*)
        P_OS=windows; P_LIB=bin/flexiti_auth.dll; P_LIB_NAME=flexiti_auth.dll; P_DEB_ARCH=; P_TRIPLET=
        case $P in
        windows-x86_64) P_WHEEL_TAG=win_amd64 ;;
        windows-i686) P_WHEEL_TAG=win32 ;;
        *) die "no wheel tag known for $P" ;;
        esac ;;
    *) die "unknown platform $P" ;;
    esac
}

# ---- Python --------------------------------------------------------------------------------

# pure_wheel WORK: the pure-Python wheel of bindings/python (setuptools, no Rust extension), built
# from a copy of the binding and Cargo.toml (its version) so the source tree gets no build output.
pure_wheel() {
    local work=$1 src=$1/src
    rm -rf "$src"; mkdir -p "$src/bindings"
    cp "$ROOT/Cargo.toml" "$src/"
    cp -R "$ROOT/bindings/python" "$src/bindings/python"
    rm -rf "$src/bindings/python/build" "$src/bindings/python/tests" "$src"/bindings/python/src/*.egg-info
    find "$src" \( -name __pycache__ -o -name '*.so' -o -name '*.so.*' -o -name '*.dll' -o -name '*.pyc' \) -prune -exec rm -rf {} +
    stamp_tree "$src"
    FLEXITI_AUTH_PURE_WHEEL=1 PIP_NO_INDEX=1 "$VENV/bin/python" -m pip wheel -q --disable-pip-version-check \
        --no-deps --no-build-isolation -w "$work/pure" "$src/bindings/python" >&2 \
        || die "could not build the pure-Python wheel of bindings/python"
    ls "$work"/pure/flexiti_auth-"$VERSION"-py3-none-any.whl
}

# platform_wheel PURE TREE OUT: PURE with TREE's library inside, tagged for the platform.
platform_wheel() {
    local pure=$1 tree=$2 out=$3 work
    work=$(mktemp -d "$OUT_WORK/wheel.XXXXXX")
    "$VENV/bin/python" -m wheel unpack -d "$work" "$pure" >/dev/null
    local dir=$work/flexiti_auth-$VERSION info
    info=$dir/flexiti_auth-$VERSION.dist-info
    [ -d "$info" ] || die "unexpected layout of $pure"
    install -m 0755 "$tree/$P_LIB" "$dir/flexiti_auth/$P_LIB_NAME"
    rm -f "$info/RECORD"
    # A library inside: platlib, one platform tag; any Python 3 (ctypes, no Python ABI).
    # (WHEEL is a header block: the Tag goes before its closing blank line.)
    sed -i -e 's/^Root-Is-Purelib: .*/Root-Is-Purelib: false/' -e '/^Tag: /d' -e '/^$/d' "$info/WHEEL"
    printf 'Tag: py3-none-%s\n\n' "$P_WHEEL_TAG" >>"$info/WHEEL"
    find "$dir" -type f ! -name "$P_LIB_NAME" -exec chmod 0644 {} +
    find "$dir" -type d -exec chmod 0755 {} +
    stamp_tree "$dir"
    "$VENV/bin/python" -m wheel pack -d "$out" "$dir" >/dev/null
    rm -rf "$work"
    local whl=$out/flexiti_auth-$VERSION-py3-none-$P_WHEEL_TAG.whl
    [ -f "$whl" ] || die "wheel pack did not write $whl"
    say "$P: $(basename "$whl")"
}

# ---- PHP -----------------------------------------------------------------------------------

composer_zip() { # composer_zip TREES OUT PLATFORM...
    local trees=$1 out=$2; shift 2
    local stage=$OUT_WORK/php p
    rm -rf "$stage"; mkdir -p "$stage/include"
    local php=$ROOT/bindings/php
    cp -R "$php/README.md" "$php/autoload.php" "$php/preload.php" "$php/src" "$php/bin" "$stage/"
    install -m 0644 "$ROOT/include/flexiti_auth_php.h" "$stage/include/"
    # An artifact repository takes the version from the package's composer.json: Cargo.toml's.
    python3 - "$php/composer.json" "$stage/composer.json" "$VERSION" <<'PY'
import json, sys
src, dst, version = sys.argv[1:]
with open(src, encoding="utf-8") as f:
    data = json.load(f)
out = {}
for key, value in data.items():
    if key == "version":
        continue
    out[key] = value
    if key == "name":
        out["version"] = version
# Development only: the tests are not in the artifact.
out.pop("autoload-dev", None)
with open(dst, "w", encoding="utf-8") as f:
    json.dump(out, f, indent=4, ensure_ascii=False)
    f.write("\n")
PY
    for p in "$@"; do
        platform_facts "$p"
        mkdir -p "$stage/lib/$p"
        install -m 0755 "$trees/$p/$P_LIB" "$stage/lib/$p/$P_LIB_NAME"
    done
    find "$stage" -type f ! -path "$stage/lib/*" ! -path "$stage/bin/*" -exec chmod 0644 {} +
    local zip=$out/flexiti-auth-php-$VERSION.zip
    python3 "$ROOT/tools/repro_zip.py" "$stage" "$zip"
    say "php: $(basename "$zip") (lib/: $*)"
}

# ---- Debian --------------------------------------------------------------------------------

deb_copyright() {
    cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: flexiti-auth
Comment: Built from the flexiti-auth sources (Cargo.toml version $VERSION); the library links
 Rust crates listed in its Cargo.lock, each under MIT and/or Apache-2.0 or a compatible licence.

Files: *
Copyright: flexiti-auth developers
License: $LICENSE
 The library may be used under either the MIT licence or the Apache License 2.0.
 On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
EOF
}

# deb_build DIR OUT: DIR/DEBIAN/control exists; add md5sums, Installed-Size, build the .deb.
deb_build() {
    local dir=$1 out=$2 size
    (cd "$dir" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r md5sum) >"$dir/DEBIAN/md5sums"
    size=$(cd "$dir" && find . -path ./DEBIAN -prune -o \( -type f -o -type l \) -printf '%s\n' | awk '{ s += int(($1 + 1023) / 1024) } END { print s + 0 }')
    sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$dir/DEBIAN/control"
    find "$dir" -type d -exec chmod 0755 {} +
    chmod 0644 "$dir"/DEBIAN/*
    stamp_tree "$dir"
    dpkg-deb --root-owner-group -Zxz -z9 --build "$dir" "$out" >/dev/null || die "dpkg-deb failed for $dir"
}

debs() { # debs TREE OUT (platform_facts done)
    local tree=$1 out=$2 libdir=usr/lib/$P_TRIPLET
    local run=$OUT_WORK/deb/libflexiti-auth$SOVERSION dev=$OUT_WORK/deb/libflexiti-auth-dev
    rm -rf "$OUT_WORK/deb"
    # The runtime package: the versioned library, its soname link, the operator CLI.
    mkdir -p "$run/DEBIAN" "$run/$libdir" "$run/usr/bin" "$run/usr/share/doc/libflexiti-auth$SOVERSION"
    install -m 0644 "$tree/$P_LIB" "$run/$libdir/libflexiti_auth.so.$VERSION"
    ln -s "libflexiti_auth.so.$VERSION" "$run/$libdir/libflexiti_auth.so.$SOVERSION"
    install -m 0755 "$tree/bin/flexiti-token" "$run/usr/bin/flexiti-token"
    deb_copyright >"$run/usr/share/doc/libflexiti-auth$SOVERSION/copyright"
    cat >"$run/DEBIAN/control" <<EOF
Package: libflexiti-auth$SOVERSION
Source: flexiti-auth
Version: $DEB_VERSION
Architecture: $P_DEB_ARCH
Maintainer: $MAINTAINER
Installed-Size: 0
Depends: libc6 (>= 2.17)
Section: libs
Priority: optional
Description: Flexiti POS-API OAuth2 token library (C ABI) and flexiti-token CLI
 $DESCRIPTION.
 .
 This package holds the shared library libflexiti_auth.so.$SOVERSION (for C, C++, PHP FFI and
 Python ctypes programs) and flexiti-token, the operator command line tool that gets, prints and
 checks a token. Built for glibc 2.17 and newer.
EOF
    # What a program linked against it needs (dpkg-shlibdeps reads this), and ldconfig after
    # install and removal (the trigger debhelper adds for shared libraries).
    echo "libflexiti_auth $SOVERSION libflexiti-auth$SOVERSION (>= $VERSION)" >"$run/DEBIAN/shlibs"
    echo "activate-noawait ldconfig" >"$run/DEBIAN/triggers"
    deb_build "$run" "$out/libflexiti-auth${SOVERSION}_${DEB_VERSION}_$P_DEB_ARCH.deb"

    # The development package: headers, pkg-config file, the unversioned link.
    mkdir -p "$dev/DEBIAN" "$dev/$libdir/pkgconfig" "$dev/usr/include" "$dev/usr/share/doc/libflexiti-auth-dev"
    install -m 0644 "$ROOT/include/flexiti_auth.h" "$ROOT/include/flexiti_auth.hpp" "$ROOT/include/flexiti_auth_php.h" "$dev/usr/include/"
    ln -s "libflexiti_auth.so.$SOVERSION" "$dev/$libdir/libflexiti_auth.so"
    cat >"$dev/$libdir/pkgconfig/flexiti_auth.pc" <<EOF
prefix=/usr
libdir=\${prefix}/lib/$P_TRIPLET
includedir=\${prefix}/include

Name: flexiti_auth
Description: $DESCRIPTION
Version: $VERSION
Libs: -L\${libdir} -lflexiti_auth
Cflags: -I\${includedir}
EOF
    deb_copyright >"$dev/usr/share/doc/libflexiti-auth-dev/copyright"
    cat >"$dev/DEBIAN/control" <<EOF
Package: libflexiti-auth-dev
Source: flexiti-auth
Version: $DEB_VERSION
Architecture: $P_DEB_ARCH
Maintainer: $MAINTAINER
Installed-Size: 0
Depends: libflexiti-auth$SOVERSION (= $DEB_VERSION)
Section: libdevel
Priority: optional
Description: Flexiti POS-API OAuth2 token library (C ABI) - development files
 $DESCRIPTION.
 .
 This package holds the C header flexiti_auth.h, the C++17 RAII wrapper flexiti_auth.hpp, the PHP
 FFI header flexiti_auth_php.h, the pkg-config file flexiti_auth.pc and the link
 libflexiti_auth.so: cc app.c \$(pkg-config --cflags --libs flexiti_auth)
EOF
    deb_build "$dev" "$out/libflexiti-auth-dev_${DEB_VERSION}_$P_DEB_ARCH.deb"
    say "$P: libflexiti-auth${SOVERSION}_${DEB_VERSION}_$P_DEB_ARCH.deb, libflexiti-auth-dev_${DEB_VERSION}_$P_DEB_ARCH.deb"
}

# ---- Windows -------------------------------------------------------------------------------

windows_zip() { # windows_zip TREE OUT (platform_facts done)
    local tree=$1 out=$2 name=flexiti-auth-$VERSION-$P stage=$OUT_WORK/win
    rm -rf "$stage"; mkdir -p "$stage"
    cp -RL "$tree/." "$stage/"
    # The C++ wrapper is header-only: it ships beside the C header.
    install -m 0644 "$ROOT/include/flexiti_auth.hpp" "$stage/include/"
    local f
    for f in bin/flexiti_auth.dll bin/flexiti-token.exe include/flexiti_auth.h lib/flexiti_auth.def; do
        [ -f "$stage/$f" ] || die "$P: the tree $tree has no $f"
    done
    [ -n "$(find "$stage/lib" \( -name '*.dll.a' -o -name '*.lib' \) -print -quit)" ] || die "$P: no import library in $tree/lib"
    # The checksums cover the files as shipped in the zip.
    (cd "$stage" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -r -d '\n' sha256sum) >"$stage/SHA256SUMS"
    python3 "$ROOT/tools/repro_zip.py" "$stage" "$out/$name.zip" "$name"
    say "$P: $name.zip"
}

# ---- auditwheel ----------------------------------------------------------------------------

# check_auditwheel WHEEL: `auditwheel show` must find it consistent with manylinux_2_17 (the
# manylinux2014 policy) for its architecture; prints auditwheel's output.
check_auditwheel() {
    local whl=$1 out arch
    arch=${whl##*manylinux2014_}; arch=${arch%.whl}
    out=$("$VENV/bin/auditwheel" show "$whl" 2>&1) || { echo "$out" >&2; die "auditwheel show failed on $whl"; }
    echo "$out"
    grep -q "consistent with the following platform tag: \"manylinux_2_17_$arch\"" <<<"$(tr -s ' \n' ' ' <<<"$out")" \
        || die "auditwheel: $(basename "$whl") is not consistent with manylinux_2_17_$arch (manylinux2014)"
}

# ---- the table of PLATFORMS.md -------------------------------------------------------------

table() { # table OUT: one row per package in OUT, what it holds read from the archive itself
    local out=$1 f name size plat what
    echo "| file | platform | size | contents |"
    echo "| --- | --- | --- | --- |"
    for f in "$out"/*.whl "$out"/*.deb "$out"/*.zip; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        size=$(stat -c %s "$f")
        size="$(awk -v s="$size" 'BEGIN { if (s >= 1048576) printf "%.1f MiB", s / 1048576; else printf "%.0f KiB", s / 1024 }') ($size bytes)"
        case $name in
        *.whl)
            plat=${name##*-}; plat=${plat%.whl}
            what="Python 3.8+ wheel (any interpreter: ctypes, no Rust to install): $(unzip -Z1 "$f" | grep -v -e '\.dist-info/' -e '/$' | grep -v '\.py$' | sed 's/^/`/; s/$/`/' | paste -sd, - | sed 's/,/, /g') and the package's $(unzip -Z1 "$f" | grep -c '\.py$') modules" ;;
        *.deb)
            plat=$(dpkg-deb -f "$f" Architecture)
            what="$(dpkg-deb -f "$f" Package) $(dpkg-deb -f "$f" Version): $(dpkg-deb -c "$f" | awk '$1 !~ /^d/ { p = $6; sub(/^\.\//, "/", p); l = (NF > 6) ? " -> " $8 : ""; printf "%s`%s%s`", (n++ ? ", " : ""), p, l }')" ;;
        flexiti-auth-php-*.zip)
            plat="$(unzip -Z1 "$f" | sed -n 's|^lib/\([^/]*\)/.*|\1|p' | LC_ALL=C sort -u | paste -sd' ' - | sed 's/ /, /g')"
            what="Composer artifact (\`flexiti/auth\` $VERSION): \`composer.json\`, \`autoload.php\`, \`preload.php\`, \`src/\` ($(unzip -Z1 "$f" | grep -c '^src/.*\.php$') classes), \`bin/flexiti-auth-ffi-header\`, \`include/flexiti_auth_php.h\`, $(unzip -Z1 "$f" | grep '^lib/' | sed 's/^/`/; s/$/`/' | paste -sd, - | sed 's/,/, /g')" ;;
        *.zip)
            plat=${name#flexiti-auth-"$VERSION"-}; plat=${plat%.zip}
            what="$(unzip -Z1 "$f" | sed 's|^[^/]*/||' | sed 's/^/`/; s/$/`/' | paste -sd, - | sed 's/,/, /g') (under \`${name%.zip}/\`)" ;;
        esac
        echo "| \`$name\` | $plat | $size | $what |"
    done
}

# ---- commands ------------------------------------------------------------------------------

cmd=${1:-}; shift || true
case $cmd in
build)
    [ $# -ge 3 ] || die "usage: tools/packages.sh build TREES OUT PLATFORM..."
    trees=$(cd "$1" && pwd); mkdir -p "$2"; out=$(cd "$2" && pwd); shift 2
    ensure_apt dpkg-dev unzip
    ensure_venv
    OUT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/flexiti-packages.XXXXXX")
    trap 'rm -rf "$OUT_WORK"' EXIT
    pure=$(pure_wheel "$OUT_WORK")
    for p in "$@"; do
        platform_facts "$p"
        [ -f "$trees/$p/$P_LIB" ] || die "$p: no $P_LIB in $trees/$p (build it: tests/platforms/platforms.sh check $p)"
        platform_wheel "$pure" "$trees/$p" "$out"
        if [ "$P_OS" = linux ]; then debs "$trees/$p" "$out"; else windows_zip "$trees/$p" "$out"; fi
    done
    composer_zip "$trees" "$out" "$@"
    for p in "$@"; do
        platform_facts "$p"
        [ "$P_OS" = linux ] && check_auditwheel "$out/flexiti_auth-$VERSION-py3-none-$P_WHEEL_TAG.whl" >/dev/null
    done
    say "written to $out" ;;
auditwheel)
    ensure_venv
    for w in "$@"; do check_auditwheel "$w"; done ;;
table) table "${1:?usage: tools/packages.sh table OUT}" ;;
venv) ensure_venv; echo "$VENV/bin/python" ;;
*) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
