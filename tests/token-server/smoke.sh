#!/usr/bin/env bash
# Smoke test for flexiti-token-server: exercises the token endpoint, every control endpoint,
# every fault kind, keep-alive, rotation, expiry and TLS, with curl over 127.0.0.1 only.
#
# Usage: tests/token-server/smoke.sh            (builds the server with cargo first)
#        FLEXITI_TOKEN_SERVER=/path/to/binary tests/token-server/smoke.sh
# Needs: bash, curl, grep, sed, awk; openssl for the TLS part (skipped with a notice if
# openssl is missing, unless SMOKE_REQUIRE_TLS=1). Exits non-zero if any check fails.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# Env proxies would apply to loopback too.
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY no_proxy NO_PROXY

BIN=${FLEXITI_TOKEN_SERVER:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build -q -p flexiti-token-server) || { echo "FAIL: build" >&2; exit 1; }
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/flexiti-token-server
fi
[ -x "$BIN" ] || { echo "FAIL: no server binary at $BIN" >&2; exit 1; }

TMP=$(mktemp -d)
PIDS=()
OPEN_FDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

FAILS=0
PASSES=0
ok() { PASSES=$((PASSES + 1)); echo "ok   - $1"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $1" >&2; }
# eq ACTUAL EXPECTED DESCRIPTION
eq() { if [ "$1" == "$2" ]; then ok "$3"; else fail "$3 (got '$1', expected '$2')"; fi; }
# has TEXT REGEX DESCRIPTION (grep -E)
has() { if printf '%s' "$1" | grep -Eq -- "$2"; then ok "$3"; else fail "$3 (no /$2/ in: $(printf '%s' "$1" | head -c 400))"; fi; }
hasnt() { if printf '%s' "$1" | grep -Eq -- "$2"; then fail "$3 (unexpected /$2/ in: $(printf '%s' "$1" | head -c 400))"; else ok "$3"; fi; }
# ge A B DESCRIPTION (floats)
ge() { if awk -v a="$1" -v b="$2" 'BEGIN{exit !(a>=b)}'; then ok "$3"; else fail "$3 ($1 < $2)"; fi; }
lt() { if awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<b)}'; then ok "$3"; else fail "$3 ($1 >= $2)"; fi; }
# jstr JSON FIELD: value of a string field; jnum JSON FIELD: value of a number field
jstr() { printf '%s' "$1" | sed -n 's/.*"'"$2"'":"\([^"]*\)".*/\1/p'; }
jnum() { printf '%s' "$1" | sed -n 's/.*"'"$2"'":\(-\{0,1\}[0-9][0-9]*\).*/\1/p'; }

# start_server NAME ARGS... : starts the server tied to a fifo on an fd; sets URL_<NAME>
start_server() {
    local name=$1
    shift
    mkfifo "$TMP/$name.in"
    (
        # Do not hand other servers' stdin pipes to this one (it would keep them open).
        for fd in "${OPEN_FDS[@]}"; do eval "exec $fd>&-"; done
        exec "$BIN" --watch-stdin --verbose "$@" <"$TMP/$name.in" >"$TMP/$name.url" 2>"$TMP/$name.log"
    ) &
    PIDS+=($!)
    eval "PID_$name=$!"
    # Hold the fifo's write end open: closing it is EOF on the server's stdin.
    eval "exec {FD_$name}>\"$TMP/$name.in\""
    eval "OPEN_FDS+=(\$FD_$name)"
    local i
    for i in $(seq 1 100); do
        [ -s "$TMP/$name.url" ] && break
        sleep 0.05
    done
    eval "URL_$name=\$(head -n1 \"$TMP/$name.url\")"
}

C() { curl -sS --noproxy '*' "$@"; }

start_server plain
U=$URL_plain
has "$U" '^http://127\.0\.0\.1:[0-9]+/$' "start-up line is the base URL"
T=${U}flexiti/online-api/oauth/token
P=${U}flexiti/pos-api/v2.5/oauth/token
CREDS='client_id=flexiti-test-client&client_secret=flexiti-test-secret'
CTL=${U}_control

# post_token URL FORM [curl args...]: sets CODE and BODY
post_token() {
    local url=$1 form=$2
    shift 2
    CODE=$(C -o "$TMP/body" -w '%{http_code}' "$@" -d "$form" "$url")
    BODY=$(cat "$TMP/body" 2>/dev/null)
}

# --- token endpoint ---------------------------------------------------------------------
post_token "$T" "$CREDS&grant_type=client_credentials"
eq "$CODE" 200 "client_credentials -> 200"
has "$BODY" '"token_type":"bearer"' "token_type bearer"
has "$BODY" '"access_token":"[0-9a-f]{32}"' "access_token is 32 hex"
has "$BODY" '"refresh_token":"[0-9a-f]{32}"' "refresh_token is 32 hex"
has "$BODY" '"expires_in":1200' "expires_in 1200"
hasnt "$BODY" '"scope"' "no scope when none was asked"
AT1=$(jstr "$BODY" access_token)
RT1=$(jstr "$BODY" refresh_token)

post_token "$P" "$CREDS&grant_type=client_credentials&scope=merchant"
eq "$CODE" 200 "pos-api v2.5 path -> 200"
has "$BODY" '"scope":"merchant"' "scope echoed"
AT2=$(jstr "$BODY" access_token)
[ "$AT1" != "$AT2" ] && ok "tokens are unique" || fail "tokens are unique"

post_token "$T" "client_id=flexiti-test-client&client_secret=nope&grant_type=client_credentials"
eq "$CODE" 400 "bad secret -> 400"
eq "$BODY" '{"error":"invalid_client","error_description":"Bad client credentials"}' "invalid_client body"
post_token "$T" "client_id=flexiti-test-client&grant_type=client_credentials"
has "$CODE $BODY" '^400 .*invalid_client' "missing secret -> invalid_client"
post_token "$T" "$CREDS"
eq "$BODY" '{"error":"invalid_request","error_description":"Missing or invalid grant_type"}' "missing grant_type -> invalid_request"
post_token "$T" "$CREDS&grant_type=client_credential"
has "$CODE $BODY" '^400 .*invalid_request' "singular client_credential -> invalid_request"
post_token "$T" '{"client_id":"flexiti-test-client"}' -H 'Content-Type: application/json'
has "$CODE $BODY" '^400 .*invalid_request' "JSON body -> invalid_request"
post_token "$T?$CREDS&grant_type=client_credentials" ""
has "$CODE $BODY" '^400 .*invalid_client' "credentials in the query string are ignored"
post_token "$T" "client_id=flexiti-test-client&client_secret=flexiti%2Dtest%2Dsecret&grant_type=client_credentials&scope=a+b"
has "$CODE $BODY" '^200 .*"scope":"a b"' "form percent-decoding and '+'"
CODE=$(C -o /dev/null -w '%{http_code}' "$T")
eq "$CODE" 405 "GET on the token endpoint -> 405"
CODE=$(C -o /dev/null -w '%{http_code}' "${U}nope")
eq "$CODE" 404 "unknown path -> 404"
post_token "$T" "$CREDS&grant_type=client_credentials&pad=$(printf 'x%.0s' $(seq 1 3000))"
eq "$CODE" 200 "large body (Expect: 100-continue) -> 200"

# --- rotation and expiry ----------------------------------------------------------------
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=$RT1"
eq "$CODE" 200 "refresh grant -> 200"
RT2=$(jstr "$BODY" refresh_token)
[ -n "$RT2" ] && [ "$RT2" != "$RT1" ] && ok "refresh token rotated" || fail "refresh token rotated"
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=$RT1"
eq "$BODY" '{"error":"invalid_grant","error_description":"Invalid refresh token"}' "reused refresh token -> invalid_grant"
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=deadbeef"
has "$CODE $BODY" '^400 .*invalid_grant' "unknown refresh token -> invalid_grant"
post_token "$T" "$CREDS&grant_type=refresh_token"
has "$CODE $BODY" '^400 .*invalid_grant' "missing refresh_token -> invalid_grant"
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=$RT2"
eq "$CODE" 200 "newest refresh token works"
RT3=$(jstr "$BODY" refresh_token)
R=$(C -X POST "$CTL/expire")
has "$R" '"expired":[1-9]' "POST /_control/expire"
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=$RT3"
has "$CODE $BODY" '^400 .*invalid_grant' "refresh after expire -> invalid_grant"
post_token "$T" "$CREDS&grant_type=client_credentials"
eq "$CODE" 200 "client_credentials after expire -> 200"

R=$(C -X POST -d '{"expires_in":1}' "$CTL/config")
has "$R" '"expires_in":1' "config expires_in 1"
post_token "$T" "$CREDS&grant_type=client_credentials"
has "$BODY" '"expires_in":1[,}]' "expires_in 1 issued"
RTS=$(jstr "$BODY" refresh_token)
sleep 1.1
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=$RTS"
has "$CODE $BODY" '^400 .*invalid_grant' "refresh of a time-expired token -> invalid_grant"

R=$(C -X POST -d '{"expires_in":null,"token_bytes":40,"extra_fields":{"note":"x","token_type":"Bearer"},"omit_fields":["refresh_token"]}' "$CTL/config")
has "$R" '"token_bytes":40' "config update echoes the config"
post_token "$T" "$CREDS&grant_type=client_credentials"
hasnt "$BODY" 'expires_in' "expires_in null -> omitted"
has "$BODY" '"access_token":"[0-9a-f]{40}"' "token_bytes 40"
has "$BODY" '"note":"x"' "extra_fields merged"
has "$BODY" '"token_type":"Bearer"' "extra_fields override"
hasnt "$BODY" 'refresh_token' "omit_fields"
R=$(C -X POST -d '{"role_error":true}' "$CTL/config")
post_token "$T" "$CREDS&grant_type=client_credentials"
eq "$CODE $BODY" '409 {"error":"invalid_role","message":"Account not provisioned","url":"/flexiti/online-api/oauth/token"}' "role_error -> 409 invalid_role"
R=$(C "$CTL/config")
has "$R" '"role_error":true' "GET /_control/config"
R=$(C -X POST -d '{"role_error":false,"extra_clients":{"second-client":"second-secret"}}' "$CTL/config")
has "$R" '"extra_clients":\["second-client"\]' "extra_clients: ids shown, secrets not"
post_token "$T" "client_id=second-client&client_secret=second-secret&grant_type=client_credentials"
eq "$CODE" 200 "extra_clients: a second client_id is accepted"
post_token "$T" "client_id=second-client&client_secret=wrong&grant_type=client_credentials"
eq "$CODE" 400 "extra_clients: with its own secret only"
CODE=$(C -o /dev/null -w '%{http_code}' -X POST -d '{"bogus":1}' "$CTL/config")
eq "$CODE" 400 "unknown config key -> 400"
CODE=$(C -o /dev/null -w '%{http_code}' -X POST -d 'not json' "$CTL/config")
eq "$CODE" 400 "bad config JSON -> 400"

R=$(C "$CTL/issued")
has "$R" "\"access_tokens\":\\[\"$AT1\",\"$AT2\"" "GET /_control/issued lists access tokens"
has "$R" "\"refresh_tokens\":\\[\"$RT1\"" "GET /_control/issued lists refresh tokens"

# --- reset, log, stats ------------------------------------------------------------------
R=$(C -X POST "$CTL/reset")
has "$R" '"reset":true' "POST /_control/reset"
eq "$(C "$CTL/requests")" '[]' "reset clears the log"
eq "$(C "$CTL/issued")" '{"access_tokens":[],"refresh_tokens":[]}' "reset clears tokens"
has "$(C "$CTL/config")" '"expires_in":1200.*"role_error":false' "reset restores the config"

# keep-alive: two requests on one connection
C -o /dev/null -o /dev/null -d "$CREDS&grant_type=client_credentials" "$T" "$P"
R=$(C "$CTL/requests")
N1=$(printf '%s' "$R" | grep -o '"connection_id":[0-9]*' | sed -n 1p)
N2=$(printf '%s' "$R" | grep -o '"connection_id":[0-9]*' | sed -n 2p)
[ -n "$N1" ] && eq "$N1" "$N2" "keep-alive: two requests share one connection"
has "$R" '"seq":1' "records have seq"
has "$R" '"content-type":"application/x-www-form-urlencoded"' "records have lowercased headers"
has "$R" '"form":\{"client_id":"flexiti-test-client"' "records have the parsed form"
has "$R" '"body":"client_id=flexiti-test-client' "records have the raw body"
has "$R" '"received_ms":[0-9]+' "records have received_ms"
R=$(C "$CTL/stats")
has "$R" '"token_requests":2' "stats token_requests"
has "$R" '"token_connections":1' "stats token_connections"
has "$R" '"connections":[0-9]+' "stats connections"
has "$R" '"open_connections":[0-9]+' "stats open_connections"
H=$(C -D - -o /dev/null -H 'Connection: close' -d "$CREDS&grant_type=client_credentials" "$T")
has "$H" '[Cc]onnection: close' "Connection: close is honoured"
R=$(C -X DELETE "$CTL/requests")
has "$R" '"cleared":3' "DELETE /_control/requests"
eq "$(C "$CTL/requests")" '[]' "log cleared"
CODE=$(C -o /dev/null -w '%{http_code}' "$CTL/nope")
eq "$CODE" 404 "unknown control path -> 404"
CODE=$(C -o /dev/null -w '%{http_code}' -X POST "$CTL/stats")
eq "$CODE" 405 "wrong control method -> 405"

# --- faults ----------------------------------------------------------------------------
CODE=$(C -o /dev/null -w '%{http_code}' -X POST -d '[{"stauts":500}]' "$CTL/faults")
eq "$CODE" 400 "unknown fault key -> 400"
CODE=$(C -o /dev/null -w '%{http_code}' -X POST -d '[1]' "$CTL/faults")
eq "$CODE" 400 "non-object fault -> 400"
R=$(C -X POST -d '[{"status":503,"body":"{\"error\":\"down\"}","headers":{"X-Test":"1"},"retry_after":"7","count":2},{"grant_type":"refresh_token","status":500}]' "$CTL/faults")
has "$R" '"queued":2' "POST /_control/faults"
has "$(C "$CTL/faults")" '"remaining":2' "GET /_control/faults"
H=$(C -D - -d "$CREDS&grant_type=client_credentials" "$T")
has "$H" '^HTTP/1.1 503' "fault status"
has "$H" 'X-Test: 1' "fault headers"
has "$H" 'Retry-After: 7' "fault retry_after"
has "$H" '\{"error":"down"\}$' "fault body"
post_token "$T" "$CREDS&grant_type=client_credentials"
eq "$CODE" 503 "fault count 2 applies twice"
post_token "$T" "$CREDS&grant_type=client_credentials"
eq "$CODE" 200 "grant_type-specific fault skipped by client_credentials"
RTF=$(jstr "$BODY" refresh_token)
post_token "$T" "$CREDS&grant_type=refresh_token&refresh_token=$RTF"
eq "$CODE" 500 "grant_type-specific fault applies to refresh_token"
eq "$(C "$CTL/faults")" '[]' "fault queue drained"
R=$(C "$CTL/requests")
has "$R" '"fault":\{[^}]*"status":500' "faulted requests are recorded with their fault"
C -s -X POST -d '[{"status":500},{"status":502}]' "$CTL/faults" >/dev/null
R=$(C -X DELETE "$CTL/faults")
has "$R" '"cleared":2' "DELETE /_control/faults"

C -X POST -d '[{"delay_ms":400}]' "$CTL/faults" >/dev/null
TT=$(C -o "$TMP/body" -w '%{http_code} %{time_total}' -d "$CREDS&grant_type=client_credentials" "$T")
eq "${TT% *}" 200 "delay_ms then normal answer"
ge "${TT#* }" 0.39 "delay_ms delays"

C -X POST -d '[{"retry_after":"3"}]' "$CTL/faults" >/dev/null
H=$(C -D - -d "$CREDS&grant_type=client_credentials" "$T")
has "$H" '^HTTP/1.1 200' "retry_after alone keeps the normal answer"
has "$H" 'Retry-After: 3' "retry_after alone adds the header"

C -X POST -d '[{"hang":true,"hang_ms":5000}]' "$CTL/faults" >/dev/null
C -o /dev/null -m 1 -d "$CREDS&grant_type=client_credentials" "$T" 2>/dev/null
eq "$?" 28 "hang: client times out"
C -X POST -d '[{"hang":true,"hang_ms":300}]' "$CTL/faults" >/dev/null
TT=$(C -o /dev/null -w '%{time_total}' -m 5 -d "$CREDS&grant_type=client_credentials" "$T" 2>/dev/null)
RC=$?
eq "$RC" 52 "hang_ms: connection closed without an answer"
ge "$TT" 0.29 "hang_ms: held for hang_ms"

C -X POST -d '[{"close":true}]' "$CTL/faults" >/dev/null
C -o /dev/null -d "$CREDS&grant_type=client_credentials" "$T" 2>/dev/null
eq "$?" 52 "close: empty reply"

C -X POST -d '[{"stall_body_ms":400}]' "$CTL/faults" >/dev/null
TT=$(C -o "$TMP/body" -w '%{http_code} %{time_starttransfer} %{time_total}' -d "$CREDS&grant_type=client_credentials" "$T")
read -r SC ST TOT <<<"$TT"
eq "$SC" 200 "stall_body_ms: answer complete"
lt "$ST" 0.3 "stall_body_ms: head arrives at once"
ge "$TOT" 0.39 "stall_body_ms: body arrives late"
has "$(cat "$TMP/body")" '"access_token"' "stall_body_ms: body intact"

C -X POST -d '[{"status":200,"body":"abcdef","trickle_ms":60}]' "$CTL/faults" >/dev/null
TT=$(C -o "$TMP/body" -w '%{time_total}' -d "$CREDS&grant_type=client_credentials" "$T")
eq "$(cat "$TMP/body")" abcdef "trickle_ms: body intact"
ge "$TT" 0.29 "trickle_ms: bytes trickle"

C -X POST -d '[{"reset_after_bytes":10}]' "$CTL/faults" >/dev/null
C -o "$TMP/body" -d "$CREDS&grant_type=client_credentials" "$T" 2>"$TMP/err"
RC=$?
has "$RC" '^(18|56)$' "reset_after_bytes: transfer fails ($(head -c 120 "$TMP/err"))"
eq "$(wc -c <"$TMP/body" | tr -d ' ')" 10 "reset_after_bytes: N body bytes received"

C -X POST -d '[{"oversize_bytes":3000000}]' "$CTL/faults" >/dev/null
TT=$(C -o "$TMP/body" -w '%{http_code} %{size_download}' -d "$CREDS&grant_type=client_credentials" "$T")
eq "$TT" "200 3000000" "oversize_bytes: full oversize body"
has "$(head -c 20 "$TMP/body")" '^\{"access_token":"x' "oversize_bytes: JSON-looking prefix"
C -X POST -d '[{"oversize_bytes":100000000}]' "$CTL/faults" >/dev/null
C -o /dev/null --max-filesize 1000 -d "$CREDS&grant_type=client_credentials" "$T" 2>/dev/null
eq "$?" 63 "oversize_bytes: client may refuse it"
C -X POST -d '[{"oversize_bytes":1000000000}]' "$CTL/faults" >/dev/null
C -o /dev/null -m 0.5 -d "$CREDS&grant_type=client_credentials" "$T" 2>/dev/null
eq "$?" 28 "oversize_bytes: streaming, client gives up"

# --- POS-API style endpoints ----------------------------------------------------------------
C -o /dev/null -X POST "$CTL/reset"
AT=$(jstr "$(C -d "$CREDS&grant_type=client_credentials" "$T")" access_token)
R=$(C -i -H "Authorization: Bearer $AT" -H 'X-Store: 7' "${U}flexiti/pos-api/v2.5/customers/42?x=1")
has "$R" '^HTTP/1.1 200' "api: echo with a current token"
has "$R" '"authorization":"Bearer '"$AT"'"' "api: echo shows the bearer sent"
has "$R" '"x-store":"7"' "api: echo shows the headers"
has "$R" '"query":"x=1"' "api: echo shows the query"
R=$(C -i -H "Authorization: Bearer nope" "${U}api/echo")
has "$R" '^HTTP/1.1 401' "api: an unknown token gets 401"
has "$R" 'WWW-Authenticate: Bearer error="invalid_token"' "api: WWW-Authenticate says invalid_token"
has "$R" '"error":"invalid_token"' "api: the body says invalid_token"
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" -H 'x-echo-status: 422' -d '{"a":1}' "${U}api/echo")
eq "$CODE" 422 "api: x-echo-status sets the status"
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "${U}api/invalid-token-once/k")
eq "$CODE" 401 "api: invalid-token-once: 401 first"
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "${U}api/invalid-token-once/k")
eq "$CODE" 200 "api: invalid-token-once: then 200"
R=$(C -i -H "Authorization: Bearer $AT" "${U}api/unavailable/2/k?retry_after=1")
has "$R" '^HTTP/1.1 503' "api: unavailable: 503"
has "$R" 'Retry-After: 1' "api: unavailable: Retry-After"
C -o /dev/null -H "Authorization: Bearer $AT" "${U}api/unavailable/2/k"
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "${U}api/unavailable/2/k")
eq "$CODE" 200 "api: unavailable: 200 after n times"
SIZE=$(C -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $AT" "${U}api/oversize/100000")
eq "$SIZE" 100000 "api: oversize body length"
SIZE=$(C -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $AT" "${U}api/oversize/5000?unframed=1")
eq "$SIZE" 5000 "api: oversize unframed (ends at close)"
BODY2=$(C -d "$CREDS&grant_type=client_credentials" "$T")
OLD=$(jstr "$BODY2" access_token)
RT=$(jstr "$BODY2" refresh_token)
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OLD" "${U}api/echo")
eq "$CODE" 200 "api: a second token is current too"
C -o /dev/null -d "$CREDS&grant_type=refresh_token&refresh_token=$RT" "$T"
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OLD" "${U}api/echo")
eq "$CODE" 401 "api: a refresh revokes the access token issued with that refresh token"
C -o /dev/null -X POST "$CTL/expire"
CODE=$(C -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AT" "${U}api/echo")
eq "$CODE" 401 "api: /_control/expire revokes tokens"
C -o /dev/null -X POST -d '[{"api":true,"status":503}]' "$CTL/faults"
CODE=$(C -o /dev/null -w '%{http_code}' -d "$CREDS&grant_type=client_credentials" "$T")
eq "$CODE" 200 "api: an api fault never applies to a token request"
CODE=$(C -o /dev/null -w '%{http_code}' "${U}api/echo")
eq "$CODE" 503 "api: an api fault applies to an api request"
R=$(C -s "$CTL/requests")
has "$R" '"kind":"api"' "api: records say kind api"
has "$(C -s "$CTL/stats")" '"api_requests":[1-9]' "api: stats count api_requests"
CODE=$(C -o /dev/null -w '%{http_code}' -X POST -d '[{"api":true,"grant_type":"refresh_token"}]' "$CTL/faults")
eq "$CODE" 400 "api: an api fault takes no grant_type"

# --- malformed requests ------------------------------------------------------------------
CODE=$(C -o /dev/null -w '%{http_code}' -X 'BAD METHOD' "$T")
eq "$CODE" 400 "malformed request line -> 400"
CODE=$(C -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -d "$CREDS" "$T")
eq "$CODE" 411 "chunked request body -> 411"
CODE=$(C -o /dev/null -w '%{http_code}' -H 'Content-Length: abc' "$T")
eq "$CODE" 400 "bad Content-Length -> 400"
CODE=$(C -o /dev/null -w '%{http_code}' -0 -d "$CREDS&grant_type=client_credentials" "$T")
eq "$CODE" 200 "HTTP/1.0 request"
post_token "$T" "$CREDS&grant_type=client_credentials"
eq "$CODE" 200 "server still healthy after faults and malformed requests"
sleep 0.3
has "$(C "$CTL/stats")" '"open_connections":1[,}]' "no leaked connections (only this one open)"

# --- logging never shows secrets in full -----------------------------------------------
if grep -q 'flexiti-test-secret' "$TMP/plain.log"; then fail "log shows client_secret"; else ok "log hides client_secret"; fi
if grep -q "$RT1" "$TMP/plain.log"; then fail "log shows a refresh token"; else ok "log hides tokens"; fi

# --- TLS ------------------------------------------------------------------------------------
if command -v openssl >/dev/null; then
    (
        cd "$TMP" &&
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=smoke test CA' \
                -keyout ca.key -out ca.pem -addext 'basicConstraints=critical,CA:TRUE' \
                -addext 'keyUsage=critical,keyCertSign,cRLSign' &&
            openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout leaf.key -out leaf.csr &&
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >leaf.ext &&
            openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile leaf.ext -out leaf.pem
    ) >/dev/null 2>&1 || fail "openssl: making a CA and a leaf certificate"
    start_server tls --tls-cert "$TMP/leaf.pem" --tls-key "$TMP/leaf.key"
    TU=$URL_tls
    has "$TU" '^https://localhost:[0-9]+/$' "TLS start-up line uses localhost"
    TPORT=$(printf '%s' "$TU" | sed 's/.*:\([0-9]*\)\/$/\1/')
    TC() { C --cacert "$TMP/ca.pem" --resolve "localhost:$TPORT:127.0.0.1" "$@"; }
    CODE=$(TC -o "$TMP/body" -w '%{http_code}' -d "$CREDS&grant_type=client_credentials" "${TU}flexiti/online-api/oauth/token")
    eq "$CODE" 200 "TLS: token over HTTPS with the CA"
    TC -o /dev/null -o /dev/null -d "$CREDS&grant_type=client_credentials" \
        "${TU}flexiti/online-api/oauth/token" "${TU}flexiti/pos-api/v2.5/oauth/token"
    R=$(TC "${TU}_control/requests")
    eq "$(printf '%s' "$R" | grep -o '"connection_id":[0-9]*' | sort -u | wc -l | tr -d ' ')" 2 "TLS: keep-alive (3 requests on 2 connections)"
    has "$R" '"tls":true' "TLS: records say tls"
    C -o /dev/null -d "$CREDS" --resolve "localhost:$TPORT:127.0.0.1" "${TU}flexiti/online-api/oauth/token" 2>/dev/null
    eq "$?" 60 "TLS: untrusted without the CA"
    TC -X POST -d '[{"reset_after_bytes":5}]' "${TU}_control/faults" >/dev/null
    TC -o /dev/null -d "$CREDS&grant_type=client_credentials" "${TU}flexiti/online-api/oauth/token" 2>/dev/null
    has "$?" '^(18|56|35)$' "TLS: reset_after_bytes fails the transfer"
    CODE=$(TC -o /dev/null -w '%{http_code}' "${TU}_control/stats")
    eq "$CODE" 200 "TLS: server healthy after a reset"
    CODE=$(C -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TPORT/_control/stats" 2>/dev/null)
    has "$CODE" '^000$' "TLS: plain HTTP is refused"
elif [ "${SMOKE_REQUIRE_TLS:-0}" = 1 ]; then
    fail "openssl not found: TLS checks not run"
else
    echo "SKIP - TLS checks (openssl not found)"
fi

# --- --watch-stdin --------------------------------------------------------------------------
eval "exec ${FD_plain}>&-"
for _ in $(seq 1 40); do kill -0 "$PID_plain" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$PID_plain" 2>/dev/null; then fail "--watch-stdin: server exits on stdin EOF"; else ok "--watch-stdin: server exits on stdin EOF"; fi

# --- CLI --------------------------------------------------------------------------------------
"$BIN" --host 192.0.2.1 >/dev/null 2>&1
eq "$?" 2 "--host refuses a non-loopback address"
has "$("$BIN" --help)" '--tls-cert' "--help documents the options"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
