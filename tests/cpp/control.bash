# Sourced by tests/cpp/test_examples.sh and tests/install/test_install.sh: the token server's
# control API over bash's /dev/tcp (no curl needed). Needs URL set to the server's api_url.
#   ctl METHOD PATH [JSON]   e.g. ctl GET requests; ctl POST faults '[{"status":500}]'
# Prints the answer's body; fails unless the answer is 200.
ctl() {
    local method=$1 path=$2 body=${3:-} hostport=${URL#http://} resp status
    hostport=${hostport%%/*}
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || return 1
    printf '%s /_control/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$method" "$path" "$hostport" "${#body}" "$body" >&3
    resp=$(timeout 5 cat <&3)
    exec 3<&-
    status=${resp#HTTP/1.1 }
    status=${status%% *}
    [ "$status" = 200 ] || { echo "control API: $method /_control/$path answered '${resp%%$'\r'*}'" >&2; return 1; }
    printf '%s' "${resp#*$'\r\n\r\n'}"
}
