#!/usr/bin/env bash
# Start the local Flexiti-compatible token server on an ephemeral loopback port, run a command
# with FLEXITI_API_URL / FLEXITI_CLIENT_ID / FLEXITI_CLIENT_SECRET pointing at it, stop the server.
#   tests/support/run-with-token-server.sh COMMAND [ARGS...]
set -euo pipefail
server=${FLX_TOKEN_SERVER:-$(dirname "$0")/../../target/debug/flexiti-token-server}
[ -x "$server" ] || { echo "token server $server not built: run 'make build'" >&2; exit 2; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

export FLEXITI_CLIENT_ID=${FLEXITI_CLIENT_ID:-flexiti-test-client}
export FLEXITI_CLIENT_SECRET=${FLEXITI_CLIENT_SECRET:-flexiti-test-secret}
coproc SERVER { exec "$server" --port 0 --watch-stdin --client-id "$FLEXITI_CLIENT_ID" --client-secret "$FLEXITI_CLIENT_SECRET"; }
server_pid=$SERVER_PID
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
read -r -t 10 url <&"${SERVER[0]}" || { echo "token server did not start" >&2; exit 2; }
export FLEXITI_API_URL=$url
echo "local token server: $url"
"$@"
