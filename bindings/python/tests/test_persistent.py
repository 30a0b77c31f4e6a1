"""Client.persistent: one client per account and process over flx_client_persistent; its token,
options and kept-alive connection are shared and outlive every `with` block."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flexiti_auth import Client, InvalidArgumentError

from conftest import CLIENT_ID, CLIENT_SECRET, TokenServer


def _persistent(server: TokenServer, **options: object) -> Client:
    return Client.persistent(server.url, CLIENT_ID, CLIENT_SECRET, proxy="none", **options)  # type: ignore[arg-type]


def _connections(server: TokenServer) -> list:
    return [r["connection_id"] for r in server.requests()]


@pytest.fixture
def shared(token_server: TokenServer) -> Client:
    c = _persistent(token_server)
    c.clear()  # it lives as long as the test process: start each test without a token
    return c


def test_the_same_account_gets_the_same_client_and_its_token(token_server: TokenServer, shared: Client) -> None:
    assert shared.is_persistent
    with _persistent(token_server, max_retries=0) as c:
        token = c.access_token()
    assert not c.closed, "leaving the with block closes nothing"
    again = _persistent(token_server)
    assert again is shared is c
    assert again.access_token(use_cache=True) == token
    assert again.access_token() != token  # a refresh, on the first connection
    assert [r["form"]["grant_type"] for r in token_server.requests()] == ["client_credentials", "refresh_token"]
    ids = _connections(token_server)
    assert ids[0] == ids[1]

    other = Client.persistent(token_server.url, CLIENT_ID, "another-secret", proxy="none")
    assert other is not shared
    assert other.is_persistent
    plain = Client(token_server.url, CLIENT_ID, CLIENT_SECRET)
    assert not plain.is_persistent
    plain.close()
    assert plain.closed


def test_options_set_on_every_call_keep_the_connection(token_server: TokenServer, shared: Client) -> None:
    for _ in range(3):
        _persistent(token_server, timeout_ms=15000, connect_timeout_ms=5000, max_retries=0).access_token()
    ids = _connections(token_server)
    assert len(ids) == 3 and len(set(ids)) == 1, ids
    _persistent(token_server, timeout_ms=14000).access_token()
    assert _connections(token_server)[3] != ids[0], "a changed timeout takes effect"
    _persistent(token_server, timeout_ms=15000)


def test_bad_arguments_raise_and_never_echo_the_secret(token_server: TokenServer) -> None:
    with pytest.raises(InvalidArgumentError) as e:
        Client.persistent("ftp://nope/", CLIENT_ID, "Zx9+secret/value")
    assert "Zx9+secret/value" not in str(e.value)
    with pytest.raises(InvalidArgumentError):
        Client.persistent(token_server.url, CLIENT_ID, "")


def test_the_65th_account_of_a_process_is_refused() -> None:
    code = """
import json, flexiti_auth
made = 0
try:
    for i in range(65):
        flexiti_auth.Client.persistent("https://posapi.example.com/", f"merchant-{i}", "the-secret")
        made += 1
except flexiti_auth.InvalidArgumentError as e:
    print(json.dumps({"made": made, "message": str(e)}))
else:
    print(json.dumps({"made": made}))
"""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    result = json.loads(out.stdout)
    assert result["made"] == 64, out
    assert "64 persistent handles" in result["message"]
    assert "the-secret" not in result["message"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_after_fork_the_child_uses_its_own_connection(token_server: TokenServer, shared: Client) -> None:
    token = shared.access_token()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            child = _persistent(token_server)
            ok = child is shared and child.access_token(use_cache=True) == token and child.access_token() != token
            os.write(w, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(w)
    answer = os.read(r, 16)
    os.waitpid(pid, 0)
    assert answer == b"ok"
    ids = _connections(token_server)
    assert len(ids) == 2 and ids[0] != ids[1]
    assert shared.access_token(use_cache=True) == token

