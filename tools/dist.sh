#!/usr/bin/env bash
# make dist: build every platform of PLATFORMS.md, check it (glibc 2.17 symbols / Windows system
# DLLs, every header function exported), and lay it out as dist/<platform>/ (library, headers,
# pkg-config file or import library, flexiti-token, README.txt, SHA256SUMS); then the packages
# people install, made from those trees by tools/packages.sh, beside them in dist/: Python wheels
# (manylinux2014 per Linux platform, checked with `auditwheel show`; win_amd64), the Composer
# artifact zip, the .deb packages (amd64, i386, arm64) and the Windows zip. dist/SHA256SUMS covers
# every file. A full run (every platform) also writes the package table of PLATFORMS.md.
#
#   tools/dist.sh             build and lay out dist/
#   tools/dist.sh --repro     then copy the tree twice (build/platforms/repro/{a,b}), build each
#                             from nothing, compare the checksums file by file, and write the
#                             outcome into PLATFORMS.md ("Reproducibility"); exit 1 if a file differs
# Environment: DIST_DIR (dist), DIST_PLATFORMS (all of `tests/platforms/platforms.sh list`),
# and those of tests/platforms/platforms.sh (PLATFORMS_FEATURES: the cargo features of the builds)
# and of tools/packages.sh (SOURCE_DATE_EPOCH).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PLATFORMS_SH=$ROOT/tests/platforms/platforms.sh
DIST=${DIST_DIR:-$ROOT/dist}
OUT=${PLATFORMS_BUILD_DIR:-$ROOT/build/platforms}
export PLATFORMS_VENV=${PLATFORMS_VENV:-$OUT/venv}
export PACKAGES_VENV=${PACKAGES_VENV:-$OUT/packages-venv}
read -r -a PLATFORMS <<<"${DIST_PLATFORMS:-$(bash "$PLATFORMS_SH" list | tr '\n' ' ')}"
repro=0
[ "${1:-}" = --repro ] && repro=1

say() { printf '[dist] %s\n' "$*" >&2; }

# sums DIR: SHA256SUMS lines of every regular file under DIR, paths relative to it, sorted.
sums() { (cd "$1" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -r -d '\n' sha256sum); }

# lay_out BUILD_DIR DIST_DIR: build + check each platform with the given build dir, copy its
# package tree into DIST_DIR/<platform>.
lay_out() {
    local build=$1 final=$2 p rc
    # Laid out beside, moved into place only when complete: a failed run leaves no half dist/.
    local dist=$final.partial
    rm -rf "$dist"; mkdir -p "$dist"
    for p in "${PLATFORMS[@]}"; do
        rc=0; PLATFORMS_BUILD_DIR=$build bash "$PLATFORMS_SH" check "$p" || rc=$?
        if [ $rc -ne 0 ]; then
            if [ $rc -eq 3 ]; then say "$p: blocked (a part of its toolchain cannot be had here): not packaged"
            else say "$p: build or check failed: not packaged"; fi
            say "package the others with: make dist DIST_PLATFORMS=\"...\""
            rm -rf "$dist"
            return $rc
        fi
        cp -a "$build/$p/pkg" "$dist/$p"
        sums "$dist/$p" >"$dist/$p/SHA256SUMS"
    done
    bash "$ROOT/tools/packages.sh" build "$dist" "$dist" "${PLATFORMS[@]}" || { rm -rf "$dist"; return 1; }
    sums "$dist" >"$dist/SHA256SUMS"
    rm -rf "$final"
    mv "$dist" "$final"
}

lay_out "$OUT" "$DIST"
say "dist/ ready: ${PLATFORMS[*]}"
(cd "$DIST" && find . -mindepth 1 -maxdepth 3 \( -type f -o -type l \) -printf '  %P\n' | LC_ALL=C sort) >&2
(cd "$DIST" && sha256sum --quiet -c SHA256SUMS) || { say "dist/SHA256SUMS does not verify"; exit 1; }
# The package table of PLATFORMS.md, from a full run only (a partial one would drop rows).
if [ "${PLATFORMS[*]}" = "$(bash "$PLATFORMS_SH" list | tr '\n' ' ' | sed 's/ $//')" ] && [ "${DIST_RECORD:-1}" = 1 ]; then
    bash "$ROOT/tools/packages.sh" table "$DIST" >"$OUT/packages.md"
    bash "$PLATFORMS_SH" write-block packages "$OUT/packages.md"
    {
        echo "\`auditwheel show\` ($("$PACKAGES_VENV/bin/auditwheel" --version 2>&1 | head -n1 | cut -d" " -f1,2)) on the wheels of the last full \`make dist\`:"
        echo
        echo '```'
        for w in "$DIST"/*manylinux*.whl; do
            echo "\$ auditwheel show $(basename "$w")"
            bash "$ROOT/tools/packages.sh" auditwheel "$w" | sed '/^$/d'
            echo
        done
        echo '```'
    } >"$OUT/auditwheel.md"
    bash "$PLATFORMS_SH" write-block auditwheel "$OUT/auditwheel.md"
fi
[ $repro -eq 1 ] || exit 0

# ---- reproducibility ------------------------------------------------------------------------
# Two builds from nothing of one snapshot of the tree (others may edit the tree meanwhile), from
# two different directories (so the checkout path must not matter either), compared file by file.
snap=$OUT/repro
say "reproducibility: snapshot of the tree into $snap/{a,b}/flexiti-auth, two builds from scratch"
rm -rf "$snap"
mkdir -p "$snap/a/flexiti-auth" "$snap/b/flexiti-auth"
# The files git would see (tracked, and untracked but not ignored: no build output, no caches).
snapshot_files() {
    if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' f; do [ -e "$ROOT/$f" ] && printf '%s\0' "$f"; done
    else
        (cd "$ROOT" && find . \( -path ./target -o -path ./build -o -path ./dist -o -name node_modules \
            -o -name __pycache__ -o -path ./fuzz/target -o -path ./fuzz/work \) -prune -o -type f -print0)
    fi
}
rc=0
snapshot_files | (cd "$ROOT" && tar --null -T - -cf -) | tar -xf - -C "$snap/a/flexiti-auth" || rc=$?
# tar exits 1 when a file changed while it was read (others edit the tree): the copy is what it read.
[ $rc -le 1 ] || { say "could not snapshot the tree"; exit 1; }
cp -a "$snap/a/flexiti-auth/." "$snap/b/flexiti-auth/"
for side in a b; do
    tree=$snap/$side/flexiti-auth
    PLATFORMS_BUILD_DIR=$tree/build/platforms ZIG_TARGET_DIR=$tree/target/zig DIST_DIR=$tree/dist \
        DIST_PLATFORMS="${PLATFORMS[*]}" DIST_RECORD=0 bash "$tree/tools/dist.sh" \
        || { say "build $side of the snapshot failed"; exit 1; }
done

# differing P: the files of P whose checksums are not the same in both builds ("packages": the
# packages at the top of dist/).
differing() {
    if [ "$1" = packages ]; then
        LC_ALL=C comm -3 <(grep -v ' [^/]*/' "$snap/a/flexiti-auth/dist/SHA256SUMS" | LC_ALL=C sort) \
            <(grep -v ' [^/]*/' "$snap/b/flexiti-auth/dist/SHA256SUMS" | LC_ALL=C sort) | awk '{print $2}' | LC_ALL=C sort -u | tr '\n' ' '
        return
    fi
    LC_ALL=C comm -3 <(LC_ALL=C sort "$snap/a/flexiti-auth/dist/$1/SHA256SUMS") \
        <(LC_ALL=C sort "$snap/b/flexiti-auth/dist/$1/SHA256SUMS") | awk '{print $2}' | LC_ALL=C sort -u | tr '\n' ' '
}
report=$OUT/repro.md
differ=()
{
    echo "Last check: $(date -u '+%Y-%m-%d %H:%M UTC'): one snapshot of the tree built twice from nothing, in two directories, with $(bash "$PLATFORMS_SH" versions)."
    echo
    echo "| platform | same checksums in both builds |"
    echo "| --- | --- |"
    for p in "${PLATFORMS[@]}" packages; do
        d=$(differing "$p")
        if [ -z "$d" ]; then echo "| $p | yes, every file |"
        else echo "| $p | NO: ${d% } |"; differ+=("$p: ${d% }"); fi
    done
} >"$report"
bash "$PLATFORMS_SH" write-block repro "$report"
cat "$report"
# Two more full target dirs are ~2 GB: keep the outcome and the two dist trees only.
rm -rf "$snap/a/flexiti-auth/target" "$snap/b/flexiti-auth/target"
if [ ${#differ[@]} -gt 0 ]; then say "not reproducible: ${differ[*]}"; exit 1; fi
say "reproducible: ${PLATFORMS[*]} (the two dist trees: $snap/{a,b}/flexiti-auth/dist)"
