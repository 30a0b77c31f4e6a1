"""One process of the mixed-language token store tests: the Python binding.

    store_worker.py URL CALLS USE_CACHE GO_FILE [NAME=VALUE ...]

Same protocol as tests/c/store_worker.c: READY, wait for GO_FILE ("-": no wait), one
"TOKEN <access token>" (or "ERROR <code> <message>") per call, then "STATS <json>"."""

import json
import os
import sys
import time

import flexiti_auth


def main() -> int:
    url, calls, use_cache, go = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
    options = dict(arg.split("=", 1) for arg in sys.argv[5:])
    client_id = os.environ.get("FLX_CLIENT_ID", "flexiti-test-client")
    secret = os.environ.get("FLX_CLIENT_SECRET", "flexiti-test-secret")
    try:
        client = flexiti_auth.Client(url, client_id, secret, proxy="none", **options)
    except flexiti_auth.FlexitiError as e:
        print(f"OPTION_ERROR {int(e.code)} {type(e).__name__} {e}", flush=True)
        return 0
    with client:
        print("READY", flush=True)
        if go != "-":
            while not os.path.exists(go):
                time.sleep(0.001)
        for _ in range(calls):
            try:
                print("TOKEN " + client.access_token(use_cache=use_cache))
            except flexiti_auth.FlexitiError as e:
                print(f"ERROR {int(e.code)} {e}")
        print("STATS " + json.dumps(client.stats()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
