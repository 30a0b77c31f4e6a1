#!/usr/bin/env bash
# The size of the C library, stripped (`strip`), release build: with the default features (what
# `make build PROFILE=release` and a plain `cargo build --release` give), and with every optional
# feature of the C library on (capi/Cargo.toml: what `make dist` builds). Fails when the default
# build is over LIMIT bytes (2 MiB unless told). The size is a property of the sources, the
# lockfile and the toolchain, not of the machine's load: this is a plain check, not a timed one.
#
#   bash tools/size.sh [LIMIT] [JSONL]   (make size; JSONL: also append the figures there, for
#                                         the bench's report)
set -euo pipefail
cd "$(dirname "$0")/.."

limit=${1:-2097152}
jsonl=${2:-}
cargo=${CARGO:-cargo}
lib=target/release/libflexiti_auth.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stripped() { # built-file -> stripped size in bytes
    strip -o "$work/s.so" "$1"
    stat -c %s "$work/s.so"
}

"$cargo" build --release --locked -p flexiti-auth-capi >&2
default=$(stripped "$lib")
built=$(stat -c %s "$lib")

# The optional features of the C library, from cargo's own metadata.
features=$("$cargo" metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
pkg = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "flexiti-auth-capi")
print(",".join(sorted(f for f in pkg["features"] if f != "default")))')
if [ -n "$features" ]; then
    "$cargo" build --release --locked -p flexiti-auth-capi --features "$features" >&2
    all=$(stripped "$lib")
    # Leave the default build in target/release, as `make build PROFILE=release` would.
    "$cargo" build --release --locked -p flexiti-auth-capi >&2
else
    all=$default
fi

mib() { python3 -c "print(f'{$1 / 1048576:.2f}')"; }
echo "libflexiti_auth.so, release build, stripped (strip):"
printf '  default features:        %9d B (%s MiB)   limit %d B (%s MiB)\n' "$default" "$(mib "$default")" "$limit" "$(mib "$limit")"
printf '  every optional feature:  %9d B (%s MiB)   features: %s\n' "$all" "$(mib "$all")" "${features:-(none)}"
printf '  as built (symbols kept): %9d B\n' "$built"
if [ -n "$jsonl" ]; then
    printf '{"id": "size.default", "unit": "B", "samples": [%d]}\n' "$default" >> "$jsonl"
    printf '{"id": "size.features", "unit": "B", "samples": [%d], "features": "%s"}\n' "$all" "$features" >> "$jsonl"
fi
if [ "$default" -gt "$limit" ]; then
    echo "size: the default build is $((default - limit)) B over the limit" >&2
    exit 1
fi
echo "size: the default build is $((limit - default)) B under the limit"
