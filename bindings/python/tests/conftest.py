"""Shared fixtures: the local Flexiti-compatible token server (one process per test module) and
clients pointed at it. Everything talks HTTP over 127.0.0.1 to the real server and loads the real
native library; nothing is mocked."""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

# The source tree (headers, the debug build, the token server): where these tests live, unless they
# were copied out to test an installed package (tests/packages/test-packages.sh sets FLX_TEST_REPO).
REPO = Path(os.environ.get("FLX_TEST_REPO") or Path(__file__).resolve().parents[3])

# Environment proxies would also apply to loopback: the suite talks to 127.0.0.1 only.
for _var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_var, None)

# `make test-python` exports FLEXITI_AUTH_LIB. Without it, an installed package that carries its
# own library (a wheel of `make dist`, `pip install ./bindings/python`) is tested with that library
# and the variable stays unset; otherwise a bare `pytest` in a checkout uses the debug build.
if not os.environ.get("FLEXITI_AUTH_LIB"):
    from flexiti_auth import _native as _flx_native

    if _flx_native.bundled_library() is None:
        _default_lib = REPO / "target" / "debug" / "libflexiti_auth.so"
        if _default_lib.exists():
            os.environ["FLEXITI_AUTH_LIB"] = str(_default_lib)



def library_path() -> Path:
    """The library under test: FLEXITI_AUTH_LIB, else the one inside the installed package (a wheel
    of `make dist` or `pip install ./bindings/python`, tested with the variable unset)."""
    env = os.environ.get("FLEXITI_AUTH_LIB")
    if env:
        return Path(env).resolve()
    from flexiti_auth import _native

    bundled = _native.bundled_library()
    if bundled is None:
        pytest.fail("FLEXITI_AUTH_LIB is unset and the installed flexiti_auth holds no library: run `make build`")
    return Path(bundled).resolve()


CLIENT_ID = "flexiti-test-client"
CLIENT_SECRET = "flexiti-test-secret"
EXPIRES_IN = 1200
TOKEN_PATH = "/flexiti/online-api/oauth/token"

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def server_binary() -> Path:
    path = Path(os.environ.get("FLX_TOKEN_SERVER") or REPO / "target" / "debug" / "flexiti-token-server")
    if not path.exists():
        pytest.fail(f"token server {path} not found: run `make build` (or set FLX_TOKEN_SERVER)")
    return path


class TokenServer:
    """A running flexiti-token-server process and its control API."""

    def __init__(self, *args: str) -> None:
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(server_binary()), "--port", "0", "--watch-stdin", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("http"):
            self.stop()
            self._stderr.seek(0)
            raise RuntimeError(f"token server did not print its URL (got {line!r}): {self._stderr.read()!r}")
        self.url = line if line.endswith("/") else line + "/"

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # --watch-stdin: exits on EOF
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "_control/" + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with _NO_PROXY.open(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    # conveniences
    def reset(self) -> None:
        self.control("POST", "reset")

    def requests(self) -> List[Dict[str, Any]]:
        return self.control("GET", "requests")

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    def faults(self, *faults: Dict[str, Any]) -> None:
        self.control("POST", "faults", list(faults))

    def config(self, **config: Any) -> None:
        self.control("POST", "config", config)

    def issued(self) -> Dict[str, List[str]]:
        return self.control("GET", "issued")

    def expire(self) -> None:
        self.control("POST", "expire")


@pytest.fixture(scope="module")
def _module_server() -> Iterator[TokenServer]:
    server = TokenServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token_server(_module_server: TokenServer) -> TokenServer:
    """The module's token server, back in its start state (no tokens, requests, faults)."""
    _module_server.reset()
    return _module_server


@pytest.fixture
def client(token_server: TokenServer) -> Iterator["flexiti_auth.Client"]:  # noqa: F821
    import flexiti_auth

    with flexiti_auth.Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as c:
        yield c


def make_session(token: Dict[str, Any], created_at: int, expires_in: Optional[int] = None) -> str:
    """Session JSON in the library's export format, for a token created at `created_at`."""
    exp = int(token.get("expires_in", EXPIRES_IN)) if expires_in is None else expires_in
    body = {k: v for k, v in token.items() if k != "created_at"}
    return json.dumps({"token": body, "created_at": created_at, "expires_in": exp})


def now() -> int:
    return int(time.time())
