#!/usr/bin/env bash
# The POS-terminal examples (C and C++) against the local token server: what they ask for on the
# wire (client_credentials first, refresh_token from the saved session next), what they keep
# (a 0600 session file), what they print (decisions; never the secret, never a whole token).
#   tests/cpp/test_examples.sh build/examples/pos_terminal build/examples/pos_terminal_cpp
set -uo pipefail
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

server=${FLX_TOKEN_SERVER:?FLX_TOKEN_SERVER is not set (run through make test-cpp)}
[ $# -gt 0 ] || { echo "usage: $0 EXAMPLE..." >&2; exit 2; }

ID=flexiti-test-client
SECRET=flexiti-test-secret-5d2e
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

coproc SERVER { exec "$server" --port 0 --watch-stdin --client-id "$ID" --client-secret "$SECRET"; }
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
read -r -t 10 URL <&"${SERVER[0]}" || { echo "token server did not start" >&2; exit 2; }

FAILS=0
ok() { echo "ok   - $1"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $1" >&2; }
has() { if grep -qF -- "$2" <<<"$1"; then ok "$3"; else fail "$3 (no '$2' in: $(head -c 600 <<<"$1"))"; fi; }
eq() { if [ "$1" == "$2" ]; then ok "$3"; else fail "$3 (got '$1', expected '$2')"; fi; }
# shellcheck source=tests/cpp/control.bash
. "$(dirname "$0")/control.bash"
# grant types of the token requests recorded since the last reset, in order
grants() { ctl GET requests | grep -o '"grant_type":"[a-z_]*"' | sed 's/.*:"\(.*\)"/\1/' | paste -sd, -; }
# The output must hold no secret and no whole token the server issued.
no_secrets() {
    local out=$1 what=$2 leaked=""
    grep -qF -- "$SECRET" <<<"$out" && leaked="the client secret"
    for t in $(ctl GET issued | grep -oE '"[^"]{16,}"' | tr -d '"'); do
        grep -qF -- "$t" <<<"$out" && leaked="$leaked a whole token"
    done
    if [ -z "$leaked" ]; then ok "$what: prints no secret, no whole token"; else fail "$what: printed$leaked"; fi
}

printf '%s\n' "$SECRET" >"$TMP/secret"
chmod 600 "$TMP/secret"

for bin in "$@"; do
    name=$(basename "$bin")
    session="$TMP/$name-session.json"
    run() { env -u FLEXITI_CLIENT_SECRET -u FLEXITI_CLIENT_SECRET_FILE -u FLEXITI_SESSION_FILE -u FLEXITI_TOKEN_PATH \
        FLEXITI_API_URL="$URL" FLEXITI_CLIENT_ID="$ID" "$@"; }

    # First run: no session yet, a new token, saved with mode 0600.
    ctl POST reset >/dev/null
    out=$(run FLEXITI_CLIENT_SECRET_FILE="$TMP/secret" "$bin" "$session" 2>&1); rc=$?
    eq "$rc" 0 "$name first run: exit 0"
    has "$out" "session: no $session yet" "$name first run: no session yet"
    has "$out" "purchase: token with a full lifetime" "$name first run: purchase"
    has "$out" "same as the purchase: yes" "$name first run: price calculator reuses the token"
    eq "$(grants)" "client_credentials" "$name first run: one client_credentials request (none for the price calculator)"
    eq "$(stat -c %a "$session" 2>/dev/null)" 600 "$name first run: session file mode 0600"
    first_access=$(ctl GET issued | sed -n 's/.*"access_tokens":\["\([^"]*\)".*/\1/p')
    has "$out" "${first_access:0:6}..." "$name first run: prints the 6-character prefix of the issued token"
    has "$(cat "$session")" "\"$first_access\"" "$name first run: session file holds the issued token"
    no_secrets "$out" "$name first run"
    saved_refresh=$(sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$session")

    # Second run, secret from the environment: the saved session is refreshed, not replaced.
    ctl DELETE requests >/dev/null
    out=$(run FLEXITI_CLIENT_SECRET="$SECRET" "$bin" "$session" 2>&1); rc=$?
    eq "$rc" 0 "$name second run: exit 0"
    has "$out" "session: restored from $session" "$name second run: session restored"
    eq "$(grants)" "refresh_token" "$name second run: one refresh_token request"
    has "$(ctl GET requests)" "\"refresh_token\":\"$saved_refresh\"" "$name second run: refreshes with the saved refresh token"
    if grep -qF "$first_access" "$session"; then fail "$name second run: session file still holds the old token"; else ok "$name second run: session file updated"; fi
    no_secrets "$out" "$name second run"

    # A damaged session file: a new token anyway.
    echo '{"token": 42' >"$session"
    ctl DELETE requests >/dev/null
    out=$(run FLEXITI_CLIENT_SECRET="$SECRET" "$bin" "$session" 2>&1); rc=$?
    eq "$rc" 0 "$name damaged session: exit 0"
    has "$out" "not usable" "$name damaged session: reported"
    eq "$(grants)" "client_credentials" "$name damaged session: new client_credentials token"

    # Wrong secret: refused, the decision printed, the secret not.
    ctl POST reset >/dev/null
    out=$(run FLEXITI_CLIENT_SECRET="wrong-$SECRET" "$bin" "$TMP/$name-none.json" 2>&1); rc=$?
    eq "$rc" 1 "$name wrong secret: exit 1"
    has "$out" "decision: credentials refused" "$name wrong secret: decision"
    if grep -qF -- "$SECRET" <<<"$out"; then fail "$name wrong secret: printed the secret"; else ok "$name wrong secret: secret not printed"; fi
    [ -e "$TMP/$name-none.json" ] && fail "$name wrong secret: wrote a session" || ok "$name wrong secret: no session written"

    # Token endpoint down (two 500s: the first try and the example's one retry).
    ctl POST reset >/dev/null
    ctl POST faults '[{"status":500,"count":2}]' >/dev/null
    out=$(run FLEXITI_CLIENT_SECRET="$SECRET" "$bin" "$TMP/$name-down.json" 2>&1); rc=$?
    eq "$rc" 1 "$name HTTP 500: exit 1"
    has "$out" "decision: Flexiti answered with an error status" "$name HTTP 500: decision"
    eq "$(grants)" "client_credentials,client_credentials" "$name HTTP 500: one retry (max_retries=1)"

    # POS API v2.5 token path from FLEXITI_TOKEN_PATH.
    ctl POST reset >/dev/null
    out=$(run FLEXITI_CLIENT_SECRET="$SECRET" FLEXITI_TOKEN_PATH=flexiti/pos-api/v2.5/oauth/token "$bin" "$TMP/$name-v25.json" 2>&1); rc=$?
    eq "$rc" 0 "$name token path: exit 0"
    has "$(ctl GET requests)" '"path":"/flexiti/pos-api/v2.5/oauth/token"' "$name token path: used"

    # No configuration: usage, exit 2.
    out=$(env -u FLEXITI_API_URL -u FLEXITI_CLIENT_ID -u FLEXITI_CLIENT_SECRET -u FLEXITI_CLIENT_SECRET_FILE "$bin" 2>&1); rc=$?
    eq "$rc" 2 "$name no configuration: exit 2"
    has "$out" "FLEXITI_API_URL" "$name no configuration: says what to set"
done

if [ "$FAILS" -ne 0 ]; then
    echo "test_examples: $FAILS check(s) failed" >&2
    exit 1
fi
echo "test_examples: all passed"
