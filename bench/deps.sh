#!/usr/bin/env bash
# What `make bench` needs beyond `make deps` (which brings php-cli, php-curl, curl, openssl,
# pytest): nginx, strace, util-linux's taskset. Installed only when missing. Debian's nginx
# package would start its default site on port 80 at install time; the bench only ever runs its
# own nginx on 127.0.0.1, so the install runs under a policy-rc.d that forbids starting services
# (the standard Debian mechanism), unless the machine already has one.
set -euo pipefail
packages=(nginx strace util-linux)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
echo "installing: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from flexiti-auth bench/deps.sh: no service starts during this install\nexit 101\n' \
    | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 0755 "$policy"
  added_policy=1
fi
status=0
"${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null || status=$?
[ "$added_policy" = 1 ] && "${sudo[@]}" rm -f "$policy"
exit "$status"
