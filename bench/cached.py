#!/usr/bin/env python3
"""The cached path from Python: a valid token held, no request.
  ctypes   raw ctypes: flx_get_access_token(c, True) (restype c_void_p), string_at, flx_string_free
  binding  the flexiti_auth package: Client.access_token(use_cache=True)
Usage: cached.py LIB [reps]"""
import ctypes
import json
import os
import sys
import time

lib_path = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 11
N = 100_000
URL = "https://127.0.0.1:9/"
SESSION = json.dumps({
    "token": {"token_type": "bearer", "access_token": "A" * 40, "expires_in": 1200, "refresh_token": "R" * 64},
    "created_at": int(time.time()),
    "expires_in": 1200,
})

lib = ctypes.CDLL(lib_path)
lib.flx_client_new.restype = ctypes.c_void_p
lib.flx_client_new.argtypes = [ctypes.c_char_p] * 3
lib.flx_session_import.restype = ctypes.c_int32
lib.flx_session_import.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.flx_get_access_token.restype = ctypes.c_void_p
lib.flx_get_access_token.argtypes = [ctypes.c_void_p, ctypes.c_bool]
lib.flx_string_free.restype = None
lib.flx_string_free.argtypes = [ctypes.c_void_p]
lib.flx_client_free.argtypes = [ctypes.c_void_p]

c = lib.flx_client_new(URL.encode(), b"bench-client", b"bench-secret")
if lib.flx_session_import(c, SESSION.encode()) != 0:
    sys.exit("flx_session_import failed")


def raw(n):
    get, free, string_at = lib.flx_get_access_token, lib.flx_string_free, ctypes.string_at
    for _ in range(n):
        p = get(c, True)
        t = string_at(p).decode()
        free(p)


variants = {"ctypes": raw}
try:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python", "src"))
    os.environ["FLEXITI_AUTH_LIB"] = lib_path
    import flexiti_auth

    client = flexiti_auth.Client(URL, "bench-client", "bench-secret")
    client.import_session(SESSION)
    assert client.access_token(use_cache=True) == "A" * 40

    def binding(n):
        get = client.access_token
        for _ in range(n):
            t = get(use_cache=True)

    variants["binding"] = binding
except Exception as e:  # the binding is optional here: the raw figure still stands
    print(f"Python binding unavailable, measuring raw ctypes only: {e}", file=sys.stderr)

p = lib.flx_get_access_token(c, True)
assert ctypes.string_at(p) == b"A" * 40
lib.flx_string_free(p)

names = list(variants)
samples = {k: [] for k in names}
for fn in variants.values():
    fn(N // 10)
for r in range(reps):
    for j in range(len(names)):
        name = names[(j + r) % len(names)]
        t0 = time.perf_counter_ns()
        variants[name](N)
        samples[name].append((time.perf_counter_ns() - t0) / N)
for name, s in samples.items():
    print(json.dumps({"id": f"py.cached.{name}", "unit": "ns", "samples": s}))
lib.flx_client_free(c)
