#!/usr/bin/env bash
# The PHP suite from a checkout below a 0700 directory (a private clone, /root, a 0700 home):
# nothing a php-fpm pool reads may come from the checkout, whose files its user (www-data when
# the master runs as root) cannot read. Copies the working tree (tracked and untracked files, not
# ignored ones) and the built library and token server into `mktemp -d` (mode 0700), then runs
# phpunit there against the copies.
#
#   bash bindings/php/tests/private-checkout.sh LIB TOKEN_SERVER
set -euo pipefail

lib=${1:?usage: private-checkout.sh LIB TOKEN_SERVER}
server=${2:?usage: private-checkout.sh LIB TOKEN_SERVER}
repo=$(cd "$(dirname "$0")/../../.." && pwd)

parent=$(mktemp -d "${TMPDIR:-/tmp}/flexiti-private-XXXXXX")
trap 'rm -rf "$parent"' EXIT
chmod 0700 "$parent"
copy=$parent/checkout
mkdir "$copy"

if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
     | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - -cf -) | tar -xf - -C "$copy"
else
  (cd "$repo" && tar --exclude=./target --exclude=./build --exclude=./dist -cf - .) | tar -xf - -C "$copy"
fi
mkdir -p "$copy/target/debug"
cp "$lib" "$copy/target/debug/libflexiti_auth.so"
cp "$server" "$copy/target/debug/flexiti-token-server"

# The check means something only when the pool user really cannot read the copy.
if [ "$(id -u)" = 0 ] && id -u www-data >/dev/null 2>&1; then
  if setpriv --reuid=www-data --regid=www-data --clear-groups test -r "$copy/bindings/php/preload.php" 2>/dev/null; then
    echo "private-checkout: www-data can read $copy: the check would prove nothing" >&2
    exit 1
  fi
  echo "private-checkout: $parent is 0700, www-data cannot read the copy; running the PHP suite there"
else
  echo "private-checkout: not root (the pool runs as $(id -un), who owns the copy); running the PHP suite from $parent anyway"
fi

cd "$copy"
FLEXITI_AUTH_LIB="$copy/target/debug/libflexiti_auth.so" FLX_TOKEN_SERVER="$copy/target/debug/flexiti-token-server" \
  "${PHPUNIT:-phpunit}" -c "$copy/bindings/php/phpunit.xml"
