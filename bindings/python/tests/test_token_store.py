"""The token store shared by processes of three languages: C programs (tests/c/store_worker.c,
compiled here), Python processes (store_worker.py) and PHP CLI processes (the PHP binding's
tests/store_worker.php), all on one store directory and the real token server."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import flexiti_auth
from conftest import CLIENT_SECRET, REPO, TokenServer, library_path

HERE = Path(__file__).resolve().parent
PHP_WORKER = REPO / "bindings" / "php" / "tests" / "store_worker.php"


@pytest.fixture(scope="module")
def c_worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The library under test, also when it is the one inside an installed wheel (named
    # libflexiti_auth.so or libflexiti_auth.cpython-*.so there): linked through the names a C
    # program links and loads it by.
    lib = library_path()
    libdir = tmp_path_factory.mktemp("lib")
    for name in ("libflexiti_auth.so", "libflexiti_auth.so.0"):
        (libdir / name).symlink_to(lib)
    out = tmp_path_factory.mktemp("c") / "store_worker"
    cc = os.environ.get("CC", "cc")
    subprocess.run(
        [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(REPO / "include"), "-o", str(out),
         str(REPO / "tests" / "c" / "store_worker.c"), "-L", str(libdir), "-lflexiti_auth",
         f"-Wl,-rpath,{libdir}"],
        check=True,
    )
    return out


@pytest.fixture
def store(tmp_path: Path) -> Path:
    d = tmp_path / "store"
    yield d
    if d.exists():
        d.chmod(0o700)


class Worker:
    def __init__(self, argv: List[str], env: Optional[Dict[str, str]] = None) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)

    def ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "READY", f"worker said {line!r}: {self.proc.stderr.read() if self.proc.stderr else ''}"

    def finish(self) -> Dict[str, Any]:
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err
        result: Dict[str, Any] = {"tokens": [], "errors": [], "stats": None, "option_error": None}
        for line in out.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "TOKEN":
                result["tokens"].append(rest)
            elif kind == "ERROR":
                result["errors"].append(rest)
            elif kind == "STATS":
                result["stats"] = json.loads(rest)
            elif kind == "OPTION_ERROR":
                result["option_error"] = rest
        return result


def argv_for(kind: str, c_worker: Path, server: TokenServer, calls: int, use_cache: bool, go: str, options: Dict[str, str]) -> List[str]:
    args = [server.url, str(calls), "1" if use_cache else "0", go] + [f"{k}={v}" for k, v in options.items()]
    if kind == "c":
        return [str(c_worker)] + args
    if kind == "python":
        return [sys.executable, str(HERE / "store_worker.py")] + args
    # PHP loads the library under test by path (the same one FLEXITI_AUTH_LIB names, if set).
    return ["env", f"FLEXITI_AUTH_LIB={library_path()}", "php", "-d", "ffi.enable=1", str(PHP_WORKER)] + args


def together(kinds: List[str], c_worker: Path, server: TokenServer, store: Path, calls: int = 1,
             use_cache: bool = False, **options: str) -> List[Dict[str, Any]]:
    """Start one process per kind, wait until each is ready, release them at once."""
    go = store.parent / "go"
    opts = {"token_store": str(store), **options}
    workers = [Worker(argv_for(k, c_worker, server, calls, use_cache, str(go), opts)) for k in kinds]
    for w in workers:
        w.ready()
    go.write_text("go")
    results = [w.finish() for w in workers]
    go.unlink()
    return results


def one(kind: str, c_worker: Path, server: TokenServer, store: Path, calls: int = 1, use_cache: bool = True,
        env: Optional[Dict[str, str]] = None, **options: str) -> Dict[str, Any]:
    opts = {"token_store": str(store), **options}
    return Worker(argv_for(kind, c_worker, server, calls, use_cache, "-", opts), env).finish()


MIXED = ["c", "python", "php", "c", "python", "php", "c", "python"]


def test_c_python_and_php_processes_released_together_share_one_request(token_server: TokenServer, c_worker: Path, store: Path) -> None:
    # The first request takes a while, so every other process waits for it.
    token_server.faults({"delay_ms": 400, "count": 1})
    results = together(MIXED, c_worker, token_server, store)
    requests = token_server.requests()
    assert len(requests) == 1, [r["form"]["grant_type"] for r in requests]
    issued = token_server.issued()["access_tokens"]
    for kind, r in zip(MIXED, results):
        assert r["errors"] == [], (kind, r["errors"])
        assert r["tokens"] == [issued[0]], kind
    # One key, one record: 0600 in a 0700 directory, no token in clear.
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    records = list(store.glob("*.token"))
    assert len(records) == 1
    assert [p for p in store.iterdir() if p.is_file()] == records  # one file per key
    assert stat.S_IMODE(records[0].stat().st_mode) == 0o600
    data = records[0].read_bytes()
    for secret in issued + token_server.issued()["refresh_tokens"] + [CLIENT_SECRET]:
        assert secret.encode() not in data


def test_refresh_storm_across_languages_is_one_request(token_server: TokenServer, c_worker: Path, store: Path) -> None:
    results = together(MIXED, c_worker, token_server, store, calls=20, refresh_min_age_secs="60")
    assert len(token_server.requests()) == 1
    issued = token_server.issued()["access_tokens"]
    for kind, r in zip(MIXED, results):
        assert r["errors"] == [], (kind, r["errors"])
        assert r["tokens"] == [issued[0]] * 20, kind


def test_each_language_takes_the_token_another_stored_and_refreshes_with_the_stored_refresh_token(
        token_server: TokenServer, c_worker: Path, store: Path) -> None:
    first = one("php", c_worker, token_server, store, use_cache=False)
    for kind in ("c", "python", "php"):
        assert one(kind, c_worker, token_server, store)["tokens"] == first["tokens"], kind
    assert len(token_server.requests()) == 1
    # Non-cache calls in turn: each refreshes with the refresh token the store holds now.
    last = first
    for kind in ("c", "python", "php"):
        last = one(kind, c_worker, token_server, store, use_cache=False)
        assert last["errors"] == []
    forms = [r["form"] for r in token_server.requests()]
    assert [f["grant_type"] for f in forms] == ["client_credentials"] + ["refresh_token"] * 3
    refresh_tokens = token_server.issued()["refresh_tokens"]
    assert [f["refresh_token"] for f in forms[1:]] == refresh_tokens[:3]
    assert all(r["status"] == 200 for r in token_server.requests())
    assert last["tokens"] == [token_server.issued()["access_tokens"][-1]]


def test_store_error_class_in_python(token_server: TokenServer, store: Path) -> None:
    store.mkdir(mode=0o700)
    store.chmod(0o755)
    with pytest.raises(flexiti_auth.StoreError) as info:
        flexiti_auth.Client(token_server.url, "flexiti-test-client", CLIENT_SECRET, token_store=str(store))
    assert info.value.code == flexiti_auth.Status.STORE == 8
    assert "0755" in str(info.value) and str(store) in str(info.value)
    assert flexiti_auth.status_str(8).startswith("FLX_ERR_STORE")
    with pytest.raises(flexiti_auth.InvalidArgumentError):
        flexiti_auth.Client(token_server.url, "flexiti-test-client", CLIENT_SECRET, token_store="relative/dir")


@pytest.mark.parametrize("kind", ["c", "python", "php"])
def test_a_broad_directory_is_refused_in_every_language(kind: str, token_server: TokenServer, c_worker: Path, store: Path) -> None:
    store.mkdir(mode=0o700)
    store.chmod(0o755)
    r = one(kind, c_worker, token_server, store)
    assert r["option_error"] is not None and r["option_error"].startswith("8 "), r
    if kind == "php":
        assert "StoreException" in r["option_error"]
    if kind == "python":
        assert "StoreError" in r["option_error"]
    assert token_server.requests() == []


def test_a_0644_record_is_never_trusted_by_any_language(token_server: TokenServer, c_worker: Path, store: Path) -> None:
    first = one("c", c_worker, token_server, store, use_cache=False)
    record = next(store.glob("*.token"))
    record.chmod(0o644)
    for kind in ("c", "python", "php"):
        r = one(kind, c_worker, token_server, store, log_level="off")
        assert r["errors"] == []
        assert r["tokens"] != first["tokens"], kind
        assert r["stats"]["store_errors"] >= 1, kind
    assert stat.S_IMODE(record.stat().st_mode) == 0o644
    assert len(token_server.requests()) == 4


def test_a_store_removed_at_run_time_costs_no_call_its_token(token_server: TokenServer, store: Path) -> None:
    with flexiti_auth.Client(token_server.url, "flexiti-test-client", CLIENT_SECRET, proxy="none", token_store=str(store)) as c:
        first = c.access_token()
        shutil.rmtree(store)
        second = c.access_token()
        assert second != first
        assert c.access_token(use_cache=True) == second
        assert c.stats()["store_errors"] >= 1
