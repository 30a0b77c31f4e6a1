#!/usr/bin/env bash
# make dist: build every platform of PLATFORMS.md, check it (glibc 2.17 symbols / Windows system
# DLLs, every header function exported), and lay it out as dist/<platform>/ (library, headers,
# pkg-config file or import library, README.txt, SHA256SUMS); dist/SHA256SUMS covers them all.
#
#   tools/dist.sh             build and lay out dist/
#   tools/dist.sh --repro     then build everything again from scratch in another target dir,
#                             compare the checksums file by file, and write the outcome into
#                             PLATFORMS.md ("Reproducibility"); exit 1 if a file differs
# Environment: DIST_DIR (dist), DIST_PLATFORMS (all of `tests/platforms/platforms.sh list`),
# and those of tests/platforms/platforms.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PLATFORMS_SH=$ROOT/tests/platforms/platforms.sh
DIST=${DIST_DIR:-$ROOT/dist}
OUT=${PLATFORMS_BUILD_DIR:-$ROOT/build/platforms}
export PLATFORMS_VENV=${PLATFORMS_VENV:-$OUT/venv}
read -r -a PLATFORMS <<<"${DIST_PLATFORMS:-$(bash "$PLATFORMS_SH" list | tr '\n' ' ')}"
repro=0
[ "${1:-}" = --repro ] && repro=1

say() { printf '[dist] %s\n' "$*" >&2; }

# sums DIR: SHA256SUMS lines of every regular file under DIR, paths relative to it, sorted.
sums() { (cd "$1" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -r -d '\n' sha256sum); }

# lay_out BUILD_DIR DIST_DIR: build + check each platform with the given build dir, copy its
# package tree into DIST_DIR/<platform>.
lay_out() {
    local build=$1 dist=$2 p rc
    rm -rf "$dist"; mkdir -p "$dist"
    for p in "${PLATFORMS[@]}"; do
        rc=0; PLATFORMS_BUILD_DIR=$build bash "$PLATFORMS_SH" check "$p" || rc=$?
        if [ $rc -ne 0 ]; then
            if [ $rc -eq 3 ]; then say "$p: blocked (a part of its toolchain cannot be had here): not packaged"
            else say "$p: build or check failed: not packaged"; fi
            say "package the others with: make dist DIST_PLATFORMS=\"...\""
            return $rc
        fi
        cp -a "$build/$p/pkg" "$dist/$p"
        sums "$dist/$p" >"$dist/$p/SHA256SUMS"
    done
    sums "$dist" >"$dist/SHA256SUMS"
}

lay_out "$OUT" "$DIST"
say "dist/ ready: ${PLATFORMS[*]}"
(cd "$DIST" && find . -mindepth 1 -maxdepth 3 \( -type f -o -type l \) -printf '  %P\n' | LC_ALL=C sort) >&2
(cd "$DIST" && sha256sum --quiet -c SHA256SUMS) || { say "dist/SHA256SUMS does not verify"; exit 1; }
[ $repro -eq 1 ] || exit 0

# ---- reproducibility: a second build from nothing, in another cargo target dir --------------
second_target=$ROOT/target/zig-repro
second_build=$ROOT/build/platforms-repro
second_dist=$ROOT/build/dist-repro
say "second build from scratch in $second_target"
rm -rf "$second_target" "$second_build"
ZIG_TARGET_DIR=$second_target lay_out "$second_build" "$second_dist"

# differing P: the files of P whose checksums are not the same in both builds.
differing() {
    LC_ALL=C comm -3 <(LC_ALL=C sort "$DIST/$1/SHA256SUMS") <(LC_ALL=C sort "$second_dist/$1/SHA256SUMS") \
        | awk '{print $2}' | LC_ALL=C sort -u | tr '\n' ' '
}
report=$OUT/repro.md
same=() differ=()
for p in "${PLATFORMS[@]}"; do
    d=$(differing "$p")
    if [ -z "$d" ]; then same+=("$p"); else differ+=("$p: $d"); fi
done
{
    echo "Last check: $(date -u '+%Y-%m-%d %H:%M UTC'), dist/ as built in target/zig against a second build from an empty target dir (target/zig-repro), with $(bash "$PLATFORMS_SH" versions)."
    echo
    echo "| platform | same checksums in both builds |"
    echo "| --- | --- |"
    for p in "${PLATFORMS[@]}"; do
        d=$(differing "$p")
        if [ -z "$d" ]; then echo "| $p | yes, every file |"; else echo "| $p | NO: ${d% } differ |"; fi
    done
} >"$report"
bash "$PLATFORMS_SH" write-block repro "$report"
cat "$report"
rm -rf "$second_target"   # a second full target dir is ~1 GB: keep only the outcome
if [ ${#differ[@]} -gt 0 ]; then say "not reproducible: ${differ[*]}"; exit 1; fi
say "reproducible: ${same[*]}"
