"""Finding the native library, the declared prototypes, and interpreter shutdown."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import flexiti_auth
from conftest import REPO, library_path
from flexiti_auth import _native

PACKAGE_DIR = Path(flexiti_auth.__file__).resolve().parent
LIB = library_path()


def _run(code: str, env_changes: dict, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def _copy_package(dest: Path) -> Path:
    pkg = dest / "flexiti_auth"
    shutil.copytree(PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("*.so", "*.so.*", "__pycache__"))
    return pkg


def test_flexiti_auth_lib_that_cannot_load_is_named(tmp_path):
    bogus = tmp_path / "missing" / "libflexiti_auth.so"
    r = _run(
        "import flexiti_auth\n"
        "try:\n    flexiti_auth.Client('http://127.0.0.1:1/', 'a', 'b')\n"
        "except flexiti_auth.LibraryLoadError as e:\n    print('ERR', e)\n",
        {"FLEXITI_AUTH_LIB": str(bogus)},
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ERR ")
    assert str(bogus) in r.stdout and "FLEXITI_AUTH_LIB" in r.stdout


def test_library_next_to_the_package_is_found(tmp_path):
    pkg = _copy_package(tmp_path)
    shutil.copy(LIB, pkg / "libflexiti_auth.so")
    r = _run(
        "import flexiti_auth, flexiti_auth._native as n\n"
        "print(flexiti_auth.library_version()); print(n.load()._name)\n",
        {"FLEXITI_AUTH_LIB": None, "PYTHONPATH": str(tmp_path), "LD_LIBRARY_PATH": None},
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    version, name = r.stdout.split()
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", version)
    assert name == str(pkg / "libflexiti_auth.so")


def test_library_inside_the_installed_package_is_used_without_env(tmp_path):
    """A wheel of `make dist` and `pip install ./bindings/python` put the library inside the package:
    with FLEXITI_AUTH_LIB unset (and no LD_LIBRARY_PATH), that library is the one loaded."""
    bundled = _native.bundled_library()
    if bundled is None:
        if os.environ.get("FLX_EXPECT_BUNDLED_LIB") == "1":
            pytest.fail(f"FLX_EXPECT_BUNDLED_LIB=1 but the installed package {PACKAGE_DIR} holds no library")
        pytest.skip("this install of flexiti_auth carries no library (the suite runs with FLEXITI_AUTH_LIB)")
    assert Path(bundled).parent == PACKAGE_DIR
    r = _run(
        "import flexiti_auth, flexiti_auth._native as n\n"
        "print(flexiti_auth.library_version()); print(n.load()._name); print(flexiti_auth.__version__)\n",
        {"FLEXITI_AUTH_LIB": None, "LD_LIBRARY_PATH": None},
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    library_version, name, package_version = r.stdout.split()
    assert name == bundled
    # One version everywhere: the package's is the library's (both from Cargo.toml).
    assert package_version == library_version


def test_not_found_lists_every_place_tried(tmp_path):
    pkg = _copy_package(tmp_path)
    r = _run(
        "import flexiti_auth\n"
        "try:\n    flexiti_auth.library_version()\n"
        "except flexiti_auth.LibraryLoadError as e:\n    print(e)\n",
        {"FLEXITI_AUTH_LIB": None, "PYTHONPATH": str(tmp_path), "LD_LIBRARY_PATH": None},
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "FLEXITI_AUTH_LIB: not set" in out
    assert str(pkg / "libflexiti_auth.so") in out
    assert "system loader" in out


def test_every_header_function_has_declared_types():
    lib = _native.load()
    header = (REPO / "include" / "flexiti_auth.h").read_text()
    decls = re.findall(r"^([A-Za-z_][\w \*]*?)\s*\b(flx_\w+)\(", header, re.M)
    assert len(decls) >= 14
    for ret, name in decls:
        fn = getattr(lib, name)
        assert fn.argtypes is not None, f"{name} has no argtypes"
        ret = ret.strip()
        if ret == "char *":  # owned by the caller: keep the pointer to free it
            assert fn.restype is ctypes.c_void_p, name
        elif ret == "const char *":
            assert fn.restype is ctypes.c_char_p, name
        elif ret == "void":
            assert fn.restype is None, name
        elif ret == "int32_t":
            assert fn.restype is ctypes.c_int32, name
        elif ret == "bool":
            assert fn.restype is ctypes.c_bool, name
        elif ret == "int64_t":
            assert fn.restype is ctypes.c_int64, name
        else:
            assert fn.restype is ctypes.c_void_p, f"{name} returns {ret}"


def test_owned_strings_are_freed(client, token_server):
    """20000 reads of a 64 KiB token would leak over 1 GiB if strings were not freed."""
    token_server.config(token_bytes=64 * 1024)
    client.get_token()

    def rss_kib() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    for _ in range(500):
        client.access_token(use_cache=True)
    before = rss_kib()
    for _ in range(20000):
        client.access_token(use_cache=True)
    assert rss_kib() - before < 100 * 1024


def test_py_typed_is_installed():
    assert (PACKAGE_DIR / "py.typed").exists()


def test_interpreter_exit_with_live_clients_is_quiet(token_server, tmp_path):
    code = f"""
import threading, flexiti_auth
keep = flexiti_auth.Client({token_server.url!r}, 'flexiti-test-client', 'flexiti-test-secret')
keep.get_token()
cycle = flexiti_auth.Client({token_server.url!r}, 'flexiti-test-client', 'flexiti-test-secret')
cycle.me = cycle  # only collectable by the cycle collector, possibly during shutdown
def spin():
    while True:
        keep.access_token(use_cache=True)
threading.Thread(target=spin, daemon=True).start()
print('ok')
"""
    r = _run(code, {}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    assert r.stderr == ""


def test_the_into_getters_follow_snprintf_through_ctypes(client, token_server):
    """flx_get_access_token_into from ctypes: the length back, the string in the buffer, a buffer
    too small left "" (the token held: taken again from the cache, no second request)."""
    lib = _native.load()
    access = client.access_token()
    with client._handle.use() as ptr:
        buf = ctypes.create_string_buffer(4096)
        n = lib.flx_get_access_token_into(ptr, True, buf, len(buf))
        assert n == len(access) and buf.value.decode() == access
        small = ctypes.create_string_buffer(b"x" * 8)
        assert lib.flx_get_access_token_into(ptr, True, small, len(small)) == len(access)
        assert small.value == b""
        assert lib.flx_get_token_into(ptr, True, None, 0) > n
    assert lib.flx_get_access_token_into(None, True, buf, len(buf)) == -1
    assert lib.flx_last_error_code() == 1  # FLX_ERR_INVALID_ARGUMENT
    assert [r["form"]["grant_type"] for r in token_server.requests()] == ["client_credentials"]
