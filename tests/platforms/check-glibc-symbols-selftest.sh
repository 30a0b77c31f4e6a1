#!/usr/bin/env bash
# The glibc symbol check must reject what would not load on glibc 2.17, not only pass what does:
# build small libraries with this machine's gcc (glibc 2.36) and check the checker's verdict.
#   tests/platforms/check-glibc-symbols-selftest.sh [WORK_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cc=${CC:-cc}
passed=0 failed=0

expect() { # expect ok|fail NAME LIB
    local want=$1 name=$2 lib=$3 got out
    if out=$(bash "$here/check-glibc-symbols.sh" "$lib" 2.17 2>&1); then got=ok; else got=fail; fi
    if [ "$got" = "$want" ]; then
        passed=$((passed + 1)); echo "ok   $name (checker said $got)"
    else
        failed=$((failed + 1)); echo "FAIL $name: expected $want, checker said $got"; sed 's/^/     /' <<<"$out"
    fi
}

# Old symbols only (memcpy@GLIBC_2.14, strlen@2.2.5), and a weak unversioned import: loads on 2.17.
cat >"$work/old.c" <<'EOF'
#include <string.h>
extern int flx_maybe_there(void) __attribute__((weak));
size_t f(char *d, const char *s, size_t n) { memcpy(d, s, n); return strlen(d) + (flx_maybe_there ? 1 : 0); }
EOF
# A strong getrandom() import: GLIBC_2.25, what the issue warns about.
cat >"$work/getrandom.c" <<'EOF'
#include <sys/random.h>
long f(void *b, unsigned long n) { return (long)getrandom(b, n, 0); }
EOF
# A strong import of a symbol no versioned library defines: resolved by bare name at load time.
cat >"$work/dep.c" <<'EOF'
int flx_from_elsewhere(void) { return 1; }
EOF
cat >"$work/unversioned.c" <<'EOF'
extern int flx_from_elsewhere(void);
int f(void) { return flx_from_elsewhere(); }
EOF
# pthread_create from glibc 2.36 binds to the 2.34 version (libpthread merged into libc).
cat >"$work/new_pthread.c" <<'EOF'
#include <pthread.h>
static void *run(void *a) { return a; }
int f(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }
EOF

"$cc" -shared -fPIC -O1 -o "$work/libold.so" "$work/old.c"
"$cc" -shared -fPIC -O1 -o "$work/libgetrandom.so" "$work/getrandom.c"
"$cc" -shared -fPIC -O1 -o "$work/libdep.so" "$work/dep.c"
"$cc" -shared -fPIC -O1 -o "$work/libunversioned.so" "$work/unversioned.c" -L"$work" -ldep
"$cc" -shared -fPIC -O1 -o "$work/libnewpthread.so" "$work/new_pthread.c" -pthread

expect ok   "old symbols + weak unversioned import" "$work/libold.so"
expect fail "strong getrandom import (GLIBC_2.25)" "$work/libgetrandom.so"
expect fail "strong unversioned import" "$work/libunversioned.so"
expect fail "pthread_create@GLIBC_2.34" "$work/libnewpthread.so"
expect fail "not an ELF library" "$work/old.c"

echo "glibc symbol check self-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
