#!/usr/bin/env bash
# Runs every example of README.md as written: each fenced c / cpp / python / php block is saved as
# app.<ext> (a block fenced as "c api", "python api" or "php api", the POS-API call examples, as
# api.<ext>), built with the command its first line gives, and run against the local token server.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLEXITI_AUTH_LIB=${FLEXITI_AUTH_LIB:-$root/target/debug/libflexiti_auth.so}

python3 - "$root/README.md" "$work" <<'PY'
import re, sys, pathlib
text = pathlib.Path(sys.argv[1]).read_text()
ext = {"c": "c", "cpp": "cpp", "python": "py", "php": "php"}
found = set()
for lang, api, body in re.findall(r"```(c|cpp|python|php)( api)?\n(.*?)```", text, re.S):
    name = ("api." if api else "app.") + ext[lang]
    if name in found:
        sys.exit(f"README has two {lang}{api} examples; this runner expects one each")
    found.add(name)
    pathlib.Path(sys.argv[2], name).write_text(body)
missing = {"app." + e for e in ext.values()} | {"api.c", "api.py", "api.php"}
missing -= found
if missing:
    sys.exit(f"README lacks examples: {sorted(missing)}")
PY

run() { tests/support/run-with-token-server.sh "$@"; }
fails=0
check() { # name, expected pattern, command...
    local name=$1 want=$2; shift 2
    local out
    if out=$("$@" 2>&1) && grep -qE "$want" <<<"$out"; then
        echo "README $name example: ok"
    else
        echo "README $name example FAILED:"; echo "$out" | sed 's/^/    /'; fails=$((fails + 1))
    fi
}
cc -std=c99 -Wall -Wextra -Werror "$work/app.c" -I include -L target/debug -lflexiti_auth -Wl,-rpath,"$root/target/debug" -o "$work/app_c"
check c "session: exported" run "$work/app_c"
c++ -std=c++17 -Wall -Wextra -Werror "$work/app.cpp" -I include -L target/debug -lflexiti_auth -Wl,-rpath,"$root/target/debug" -o "$work/app_cpp"
check cpp "cached token reused" run "$work/app_cpp"
py=${FLX_PYTHON:-python3}
export PYTHONPATH="$root/bindings/python/src${PYTHONPATH:+:$PYTHONPATH}"
check python "^bearer 1200 True$" run "$py" "$work/app.py"
check python-errors "AuthRejectedError AUTH_REJECTED" run "$py" "$work/app.py"
check php "^bearer 1200 cached$" run php "$work/app.php"
cc -std=c99 -Wall -Wextra -Werror "$work/api.c" -I include -L target/debug -lflexiti_auth -Wl,-rpath,"$root/target/debug" -o "$work/api_c"
check c-api '^HTTP 200: \{"bearer_current":true' run "$work/api_c"
check python-api "^200 POST 125.5$" run "$py" "$work/api.py"
check php-api "^200 POST 125.5$" run php "$work/api.php"
echo "README examples: $((8 - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
