#!/usr/bin/env bash
# Does a Linux shared library load on an old glibc? Reads its dynamic symbol table (objdump -T)
# and fails on
#   - an import that needs a glibc symbol version newer than the floor (default GLIBC_2.17,
#     RHEL/CentOS 7), e.g. getrandom@GLIBC_2.25 or anything @GLIBC_2.34;
#   - a strong ("DF"/"DO" without the 'w' flag) undefined symbol with no version at all: the
#     loader would have to find it by name in whatever libc is there, and an old one has none.
#     Weak unversioned imports ('w': statx, gettid, getrandom, __cxa_thread_atexit_impl from
#     Rust's std) are fine: they resolve to NULL on an old glibc and std checks for that.
#   tests/platforms/check-glibc-symbols.sh LIB.so [2.17]
# Prints a one-line summary (newest version needed, import counts); exit 0 ok, 1 violations, 2 usage.
set -euo pipefail

lib=${1:?usage: check-glibc-symbols.sh LIB.so [MAX_GLIBC_VERSION]}
max=${2:-2.17}
objdump=${OBJDUMP:-objdump}
[ -f "$lib" ] || { echo "check-glibc-symbols: no such file: $lib" >&2; exit 2; }
command -v "$objdump" >/dev/null || { echo "check-glibc-symbols: $objdump not found (binutils)" >&2; exit 2; }

table=$("$objdump" -T "$lib") || { echo "check-glibc-symbols: $objdump -T failed on $lib" >&2; exit 2; }

# objdump -T lines: ADDRESS, one space, 7 flag characters (the second is 'w' for weak), a space,
# the section (*UND* for imports), a tab, the size, then the version (absent, "(GLIBC_2.14)" for
# a hidden/non-default one, or "GLIBC_2.2.5") and the name.
awk -v max="$max" -v lib="$lib" '
function vercmp(a, b,    na, nb, pa, pb, i, x, y) {
    na = split(a, pa, "."); nb = split(b, pb, ".")
    for (i = 1; i <= (na > nb ? na : nb); i++) {
        x = (i <= na) ? pa[i] + 0 : 0; y = (i <= nb) ? pb[i] + 0 : 0
        if (x != y) return x < y ? -1 : 1
    }
    return 0
}
/\*UND\*/ {
    sp = index($0, " ")
    flags = substr($0, sp + 1, 7)
    weak = (substr(flags, 2, 1) == "w")
    rest = substr($0, index($0, "*UND*") + 5)
    n = split(rest, f, /[ \t]+/)
    # f[1] is empty (leading tab), f[2] the size; then [version] name.
    name = f[n]; ver = (n >= 4) ? f[n - 1] : ""
    gsub(/[()]/, "", ver)
    if (ver == "Base" || ver == "*local*" || ver == "*global*") ver = ""
    imports++
    if (ver == "") {
        if (weak) { weak_unversioned = weak_unversioned " " name; next }
        bad++; printf "  strong unversioned import: %s\n", name
        next
    }
    if (ver ~ /^GLIBC_[0-9.]+$/) {
        v = substr(ver, 7)
        if (newest == "" || vercmp(v, newest) > 0) newest = v
        if (vercmp(v, max) > 0) { bad++; printf "  needs GLIBC_%s (newer than %s): %s%s\n", v, max, name, weak ? " (weak)" : "" }
    } else {
        other = other " " name "@" ver
    }
}
END {
    printf "%s: %d imports, newest %s (floor GLIBC_%s); weak unversioned:%s%s\n", lib, imports, newest == "" ? "none" : "GLIBC_" newest, max, weak_unversioned == "" ? " none" : weak_unversioned, other == "" ? "" : "; other versions:" other
    if (imports == 0) { print "  no undefined dynamic symbols at all: not a dynamically linked library?"; exit 1 }
    if (bad > 0) { printf "FAIL: %d import(s) would not resolve on glibc %s\n", bad, max; exit 1 }
    printf "OK: loads on glibc %s and newer\n", max
}' <<<"$table"
