#!/usr/bin/env bash
# Web farm figures (BENCHMARKS.md, "Web farm"): token requests per 1,000 calls across 8 processes
# on one Redis against each on its own, the cached path with a Redis store against the in-memory
# one, one farm-wide refresh against a plain one. `make bench-farm` builds the release library
# and calls this; it starts its own token server and redis-server on free loopback ports, and
# stops them by PID.
#
#   bench/farm.sh [LIB]      LIB defaults to target/release/libflexiti_auth.so (built with the
#                            redis feature)
# Output: the table on stdout, also in build/bench/farm.md; samples in build/bench/farm.jsonl.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=$(realpath "${1:-$repo/target/release/libflexiti_auth.so}")
lib_dir=$(dirname "$lib")
token_server=$lib_dir/flexiti-token-server
[ -x "$token_server" ] || token_server=$repo/target/debug/flexiti-token-server
out=$repo/build/bench
quick=${FLX_BENCH_QUICK:-0}
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY FLX_LOG
command -v redis-server >/dev/null || { echo "bench-farm needs redis-server (make deps installs it)" >&2; exit 2; }

mkdir -p "$out"
work=$(mktemp -d /tmp/flx-farm-bench.XXXXXX)
ts_pid= redis_pid=
cleanup() {
  [ -z "$ts_pid" ] || { kill "$ts_pid" 2>/dev/null || true; wait "$ts_pid" 2>/dev/null || true; }
  [ -z "$redis_pid" ] || { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

cc -std=c11 -O2 -Wall -Wextra -Werror -I "$repo/include" -I "$repo/bench" -o "$out/farm" "$repo/bench/farm.c" \
  -L "$lib_dir" -lflexiti_auth -Wl,-rpath,"$lib_dir"

# The token server, on an ephemeral port (it prints its URL).
"$token_server" --port 0 >"$work/ts.url" 2>/dev/null &
ts_pid=$!
for _ in $(seq 100); do [ -s "$work/ts.url" ] && break; sleep 0.05; done
url=$(head -n 1 "$work/ts.url")
[ -n "$url" ] || { echo "the token server did not start" >&2; exit 1; }

# redis-server: a free loopback port, no persistence, its own directory.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 200); do grep -q "Ready to accept connections" "$work/redis.log" 2>/dev/null && break; sleep 0.05; done
grep -q "Ready to accept connections" "$work/redis.log" || { echo "redis-server did not start" >&2; exit 1; }
store="redis://127.0.0.1:$port"
flush() { redis-cli -p "$port" FLUSHALL >/dev/null; }
reset_server() { curl -s -X POST "${url}_control/reset" >/dev/null; }

reps=$([ "$quick" = 1 ] && echo 3 || echo 11)
: >"$out/farm.jsonl"
# Requests: 8 nodes x 125 calls = 1,000 calls; every 10th is apply/purchase (use_cache=false).
for min_age in 0 60; do
  for kind in alone redis; do
    reset_server; flush
    s=$([ $kind = redis ] && echo "$store?prefix=r$min_age:" || echo none)
    read -r total errs < <("$out/farm" requests "$url" "$s" 8 125 10 "$min_age")
    echo "{\"id\":\"farm.requests.$kind.min_age_$min_age\",\"unit\":\"requests\",\"samples\":[$total],\"store_errors\":$errs}" >>"$out/farm.jsonl"
  done
done
reset_server; flush
taskset -c 0 "$out/farm" cached "$url" "$store?prefix=c:" "$reps" >>"$out/farm.jsonl"
reset_server; flush
"$out/farm" refresh "$url" "$store?prefix=f:" "$((reps * 5))" >>"$out/farm.jsonl"

python3 - "$out/farm.jsonl" "$out/farm.md" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[r["id"]] = r
def med(i): return statistics.median(rows[i]["samples"])
def spread(i):
    s = sorted(rows[i]["samples"]); return f"{s[0]:.3g} – {s[-1]:.3g} (n={len(s)})"
out = []
out.append("| measurement | without a store (each process on its own) | token_store on one Redis | |")
out.append("| --- | --- | --- | --- |")
for age, what in [(0, "guide's rule (refresh_min_age_secs=0)"), (60, "refresh_min_age_secs=60")]:
    a = med(f"farm.requests.alone.min_age_{age}"); b = med(f"farm.requests.redis.min_age_{age}")
    out.append(f"| token requests per 1,000 calls, 8 processes, 1 in 10 apply/purchase, {what} | {a:.0f} | {b:.0f} | {a/b:.1f}x fewer |")
m, r = med("farm.cached.memory"), med("farm.cached.redis")
verdict = "MET" if r <= m * 1.10 else "**MISSED**"
out.append(f"| C cached `flx_get_access_token(c, true)` + free, ns | {m:.1f} ({spread('farm.cached.memory')}) | {r:.1f} ({spread('farm.cached.redis')}) | {r/m:.2f}x; target ≤ 1.10x: {verdict} |")
p, f = med("farm.refresh.plain"), med("farm.refresh.redis")
out.append(f"| one refresh over a kept-alive connection (farm: lock + request + write + unlock), µs | {p:.0f} ({spread('farm.refresh.plain')}) | {f:.0f} ({spread('farm.refresh.redis')}) | +{f-p:.0f} µs |")
text = "\n".join(out) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
EOF
