#!/usr/bin/env bash
# The whole benchmark, in one go: builds the bench programs, starts a loopback nginx (HTTP and
# HTTPS with a local CA) and the local token server, runs every measurement, and prints the table
# (bench/report.py). `make bench` builds the release library and calls this.
#
#   bench/run.sh [LIB]        LIB defaults to target/release/libflexiti_auth.so
#   FLX_BENCH_QUICK=1 ...     a smoke run: few repetitions, figures not worth publishing
#
# Output: build/bench/results.jsonl (every sample), build/bench/machine.txt, build/bench/table.md
# (what BENCHMARKS.md publishes). Exit status 1 when the library's round trip through PHP is more
# than 1.2x the kept-alive curl floor (see report.py); the other targets are reported, not enforced.
#
# CPU placement on a 2-core machine: single-threaded measurements run with the client on CPU 0
# and the nginx worker on CPU 1; the PHP round trips swap the two pair by pair (and also measure
# both on one CPU). Multi-threaded ones are not pinned.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=$(realpath "${1:-$repo/target/release/libflexiti_auth.so}")
lib_dir=$(dirname "$lib")
token_server=${FLX_BENCH_TOKEN_SERVER:-$lib_dir/flexiti-token-server}
[ -x "$token_server" ] || token_server=$repo/target/debug/flexiti-token-server
out=$repo/build/bench
results=$out/results.jsonl
quick=${FLX_BENCH_QUICK:-0}
CC=${CC:-cc}

# Loopback only: proxies from the environment would capture 127.0.0.1 too.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY FLX_LOG

[ -f "$lib" ] || { echo "no library at $lib: run 'make build PROFILE=release'" >&2; exit 2; }
[ -x "$token_server" ] || { echo "no token server binary next to $lib: run 'make build PROFILE=release'" >&2; exit 2; }
for tool in nginx php openssl curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "bench needs $tool (make bench installs it)" >&2; exit 2; }
done
php -r 'exit(extension_loaded("ffi") && extension_loaded("curl") ? 0 : 1);' \
  || { echo "bench needs PHP with the ffi and curl extensions" >&2; exit 2; }

reps() { if [ "$quick" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# Share of CPU time used by anything (this script is idle meanwhile) over one second: a busy
# machine spoils every figure here, so the table says how busy it was.
cpu_busy() {
  local a b
  a=($(head -n 1 /proc/stat)); sleep 1; b=($(head -n 1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
step() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

work=$(mktemp -d /tmp/flx-bench.XXXXXX)
chmod 0755 "$work"  # nginx's worker (an unprivileged user) serves files from it
token_server_pid=
cleanup() {
  nginx_stop
  if [ -n "$token_server_pid" ]; then kill "$token_server_pid" 2>/dev/null || true; wait "$token_server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
# shellcheck source=bench/nginx.sh
source "$repo/bench/nginx.sh"
trap cleanup EXIT

mkdir -p "$out"
: > "$results"
started=$(date +%s)

# ---- the machine --------------------------------------------------------------------------
{
  echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu:      $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) x $(nproc) ($(systemd-detect-virt 2>/dev/null || grep -o 'hypervisor' /proc/cpuinfo | head -n 1 || echo bare metal))"
  echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:   $(uname -sr), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo '?')"
  echo "os:       $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "library:  $lib ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo 'no git')$(git -C "$repo" diff --quiet HEAD -- src 2>/dev/null || echo ', src modified'))"
  echo "rustc:    $(rustc --version 2>/dev/null || echo '?')"
  echo "cc:       $($CC --version | head -n 1)"
  echo "php:      $(php -r 'echo PHP_VERSION;') (CLI, opcache.enable_cli=1), curl $(php -r 'echo curl_version()["version"], " ", curl_version()["ssl_version"];')"
  echo "python:   $(python3 -c 'import platform; print(platform.python_version())')"
  echo "nginx:    $(nginx -v 2>&1 | sed 's/^nginx version: //')"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at start); CPU busy before start: $(cpu_busy)% (other processes)"
  [ "$quick" = 1 ] && echo "mode:     QUICK (few repetitions: not for publication)"
} > "$out/machine.txt"
cat "$out/machine.txt" >&2

# ---- build the bench programs -------------------------------------------------------------
step "compiling the C benches"
cflags=(-O2 -std=c11 -Wall -Wextra -I "$repo/include")
link=(-L "$lib_dir" -lflexiti_auth -Wl,-rpath,"$lib_dir" -lpthread)
$CC "${cflags[@]}" -o "$out/cached" "$repo/bench/cached.c" "${link[@]}"
$CC "${cflags[@]}" -o "$out/net" "$repo/bench/net.c" "${link[@]}"
$CC "${cflags[@]}" -o "$out/footprint" "$repo/bench/footprint.c" -ldl

# ---- servers ------------------------------------------------------------------------------
step "starting nginx (HTTP + HTTPS, local CA) and the token server"
nginx_start "$work/nginx"
taskset -pc 1 "$NGINX_WORKER" >/dev/null
# --watch-stdin: the server exits when this script (holding its stdin) goes away.
coproc TOKEN_SERVER { exec "$token_server" --port 0 --watch-stdin 2> "$work/token-server.log"; }
token_server_pid=$TOKEN_SERVER_PID
read -r -t 10 token_server_url <&"${TOKEN_SERVER[0]}" || { echo "token server did not start" >&2; exit 2; }

pin0() { taskset -c 0 "$@"; }
php_run() { php -d ffi.enable=1 -d opcache.enable_cli=1 "$@"; }

# ---- 1. cached path -----------------------------------------------------------------------
step "1. cached path: C"
pin0 "$out/cached" cached "$(reps 21 5)" >> "$results"
step "1. cached path: Python"
pin0 python3 "$repo/bench/cached.py" "$lib" "$(reps 11 3)" >> "$results"
step "1. cached path: PHP"
FLEXITI_AUTH_LIB=$lib pin0 php -d ffi.enable=1 -d opcache.enable_cli=1 "$repo/bench/cached.php" "$lib" "$(reps 11 3)" >> "$results"

# ---- 2. round trips -----------------------------------------------------------------------
for scheme in http https; do
  if [ "$scheme" = http ]; then url=$NGINX_HTTP_URL; ca=-; n_guide=$(reps 200 50); else url=$NGINX_HTTPS_URL; ca=$NGINX_CA; n_guide=$(reps 40 10); fi
  for placement in split shared; do
    pairs=$(reps 30 4)
    [ "$placement" = shared ] && pairs=$(reps 12 2)
    step "2. round trip through PHP: $scheme, $placement CPUs ($pairs pairs)"
    FLEXITI_AUTH_LIB=$lib php_run "$repo/bench/roundtrip.php" "$lib" "$url" "$ca" "$pairs" "$(reps 300 100)" "$n_guide" \
      "${scheme}_$placement" "$NGINX_WORKER" "$placement" >> "$results"
  done
done
for scheme in http https; do
  if [ "$scheme" = http ]; then url=$NGINX_HTTP_URL; ca=-; else url=$NGINX_HTTPS_URL; ca=$NGINX_CA; fi
  for placement in split shared; do
    pairs=$(reps 30 4)
    [ "$placement" = shared ] && pairs=$(reps 12 2)
    step "2. authenticated POS-API GET through PHP: $scheme, $placement CPUs ($pairs pairs)"
    FLEXITI_AUTH_LIB=$lib php_run "$repo/bench/api_roundtrip.php" "$lib" "$url" "$ca" "$pairs" "$(reps 300 100)" \
      "${scheme}_$placement" "$NGINX_WORKER" "$placement" >> "$results"
  done
done
taskset -pc 1 "$NGINX_WORKER" >/dev/null
step "2. round trip from C"
pin0 "$out/net" rt "$NGINX_HTTP_URL" "" "$(reps 11 3)" c.rt.http >> "$results"
pin0 "$out/net" rt "$NGINX_HTTPS_URL" "$NGINX_CA" "$(reps 11 3)" c.rt.https >> "$results"
if command -v strace >/dev/null; then
  step "2. system calls per kept-alive request (strace)"
  for scheme in http https; do
    if [ "$scheme" = http ]; then url=$NGINX_HTTP_URL; ca=; else url=$NGINX_HTTPS_URL; ca=$NGINX_CA; fi
    strace -f -o "$work/strace.$scheme" "$out/net" probe "$url" 200 $ca 2>/dev/null
    python3 "$repo/bench/strace_count.py" "$work/strace.$scheme" 200 "$scheme" >> "$results"
  done
else
  step "strace not installed: no system call counts"
fi

# ---- 3. concurrency -----------------------------------------------------------------------
step "3. 64 threads at once: token server answering in 20 ms"
curl -s -X POST -d '[{"delay_ms":20,"count":1000000}]' "${token_server_url}_control/faults" >/dev/null
"$out/net" together "$token_server_url" "$(reps 20 3)" wan token-server >> "$results"
step "3. 64 threads at once: loopback nginx"
"$out/net" together "$NGINX_HTTP_URL" "$(reps 20 3)" lan nginx >> "$results"
step "3. cached path throughput by thread count"
"$out/cached" threads "$(reps 7 2)" >> "$results"

# ---- 4. footprint -------------------------------------------------------------------------
step "4. footprint"
strip -o "$work/stripped.so" "$lib"
python3 - "$lib" "$work/stripped.so" >> "$results" <<'PY'
import json, os, sys
print(json.dumps({"id": "footprint.so_built", "unit": "B", "samples": [os.path.getsize(sys.argv[1])]}))
print(json.dumps({"id": "footprint.so_stripped", "unit": "B", "samples": [os.path.getsize(sys.argv[2])]}))
PY
# The size of the default build and of the build with every optional feature (tools/size.sh,
# run by `make bench` before the featured library the suites load was built).
[ -z "${SIZE_JSONL:-}" ] || [ ! -s "$SIZE_JSONL" ] || cat "$SIZE_JSONL" >> "$results"
fp=$work/footprint.jsonl
: > "$fp"
for _ in $(seq "$(reps 15 3)"); do
  pin0 "$out/footprint" "$lib" "$NGINX_HTTP_URL" "$NGINX_HTTPS_URL" "$NGINX_CA" >> "$fp"
done
python3 - "$fp" >> "$results" <<'PY'
import collections, json, sys
merged = collections.OrderedDict()
for line in open(sys.argv[1]):
    d = json.loads(line)
    merged.setdefault(d["id"], {"id": d["id"], "unit": d["unit"], "samples": []})["samples"] += d["samples"]
for d in merged.values():
    print(json.dumps(d))
PY
header=$work/flexiti_auth_preload.h
{ echo '#define FFI_SCOPE "FLEXITI_AUTH"'; echo "#define FFI_LIB \"$lib\""; grep -v '^[[:space:]]*#[[:space:]]*define[[:space:]]\+FFI_' "$repo/include/flexiti_auth_php.h"; } > "$header"
pin0 php -d ffi.enable=1 -d opcache.enable_cli=1 -d ffi.preload="$header" "$repo/bench/ffi_load.php" "$lib" "$header" "$(reps 11 3)" >> "$results"

# ---- 5. scale -----------------------------------------------------------------------------
step "5. scale: token size"
pin0 "$out/cached" sizes "$(reps 11 3)" >> "$results"
pin0 "$out/net" sizes "$NGINX_HTTP_URL" "$(reps 7 2)" >> "$results"
step "5. scale: number of handles"
pin0 "$out/cached" handles "$(reps 7 2)" >> "$results"

# ---- 6. PHP-FPM ---------------------------------------------------------------------------
fpm_bin=${PHP_FPM:-/usr/sbin/php-fpm$(php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')}
if [ -x "$fpm_bin" ]; then
  step "6. PHP-FPM: a pool of 8 workers over FastCGI (persistent handles, the guide's flow, token_store)"
  FLEXITI_AUTH_LIB=$lib php -d ffi.enable=1 "$repo/bench/fpm.php" "$lib" "$token_server_url" "$NGINX_HTTPS_URL" "$NGINX_CA" \
    "$(reps 2000 200)" >> "$results"
else
  step "6. PHP-FPM: $fpm_bin not found (make deps installs php-fpm): skipped"
fi

# ---- the table ----------------------------------------------------------------------------
echo "elapsed:  $(( $(date +%s) - started )) s; load at end $(cut -d' ' -f1-3 /proc/loadavg); CPU busy after: $(cpu_busy)%" >> "$out/machine.txt"
status=0
python3 "$repo/bench/report.py" "$results" "$out/machine.txt" > "$out/table.md" || status=$?
cat "$out/table.md"
echo >&2
echo "results: $results; table: $out/table.md" >&2
exit "$status"
