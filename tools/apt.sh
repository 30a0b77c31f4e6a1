# shellcheck shell=bash
# ensure_apt PACKAGE...: install the Debian packages that are missing (apt-get; through sudo
# when not root). Sourced by tools/packages.sh and tests/packages/test-packages.sh; says what it
# installs through the caller's say().
ensure_apt() {
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    say "installing ${missing[*]}"
    # (an index that fails to update, e.g. a mirror mid-sync, need not stop the install)
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
