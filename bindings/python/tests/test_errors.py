"""Failures: each status code surfaces as its exception, and the held token survives them."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from conftest import CLIENT_ID, CLIENT_SECRET
from flexiti_auth import (
    AuthRejectedError,
    BadResponseError,
    Client,
    FlexitiError,
    HttpStatusError,
    InvalidArgumentError,
    NetworkError,
    SessionError,
    Status,
)


def _grants(server):
    return [r["form"].get("grant_type") for r in server.requests()]


def test_wrong_secret_is_auth_rejected_and_never_echoed(token_server):
    with Client(token_server.url, CLIENT_ID, "not-the-secret-xyz") as c:
        with pytest.raises(AuthRejectedError) as info:
            c.get_token()
    err = info.value
    assert isinstance(err, FlexitiError)
    assert err.code is Status.AUTH_REJECTED
    assert err.message and str(err) == err.message
    assert "not-the-secret-xyz" not in err.message and "not-the-secret-xyz" not in repr(err)
    assert _grants(token_server) == ["client_credentials"]
    assert token_server.issued()["access_tokens"] == []


def test_server_error_without_retries_is_one_request(token_server):
    token_server.faults({"status": 500, "count": 5})
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=0) as c:
        with pytest.raises(HttpStatusError) as info:
            c.get_token()
    assert info.value.code == Status.HTTP_STATUS
    assert "500" in info.value.message
    assert len(token_server.requests()) == 1


def test_server_error_is_retried_max_retries_times(token_server):
    token_server.faults({"status": 503, "count": 5})
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=2) as c:
        with pytest.raises(HttpStatusError):
            c.get_token()
    assert [r["status"] for r in token_server.requests()] == [503, 503, 503]


def test_transient_error_then_success(token_server):
    token_server.faults({"status": 500, "count": 1})
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=True) as c:  # True -> "1"
        token = c.get_token()
    assert [r["status"] for r in token_server.requests()] == [500, 200]
    assert token["access_token"] in token_server.issued()["access_tokens"]


def test_bool_option_is_sent_as_one_or_zero(token_server):
    token_server.faults({"status": 500, "count": 3})
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=False) as c:  # "0"
        with pytest.raises(HttpStatusError):
            c.get_token()
    assert len(token_server.requests()) == 1


def test_connection_refused_is_network_error(token_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on the port now
    with Client(f"http://127.0.0.1:{port}/", CLIENT_ID, CLIENT_SECRET, max_retries=0, connect_timeout_ms=2000) as c:
        with pytest.raises(NetworkError) as info:
            c.get_token()
    assert info.value.code == Status.NETWORK
    assert CLIENT_SECRET not in info.value.message


def test_timeout_is_network_error(token_server):
    token_server.faults({"delay_ms": 3000})
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=0, timeout_ms=300) as c:
        start = time.monotonic()
        with pytest.raises(NetworkError):
            c.get_token()
        assert time.monotonic() - start < 2.5


def test_unusable_answer_is_bad_response(client, token_server):
    token_server.faults({"status": 200, "body": "this is not json"})
    with pytest.raises(BadResponseError) as info:
        client.get_token()
    assert info.value.code == Status.BAD_RESPONSE


def test_failure_leaves_the_held_token_unchanged(token_server):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, max_retries=0) as c:
        c.get_token()
        session = c.export_session()
        token_server.faults({"status": 500, "count": 10})
        with pytest.raises(HttpStatusError):
            c.get_token(use_cache=False)
        assert c.export_session() == session
        assert c.get_token(use_cache=True)["access_token"] == json.loads(session)["token"]["access_token"]


def test_export_without_a_token_is_session_error(client):
    with pytest.raises(SessionError) as info:
        client.export_session()
    assert info.value.code == Status.SESSION


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not json",
        "[]",
        '{"token": {}}',
        '{"token": {"access_token": "a"}, "created_at": "1", "expires_in": 1200}',
        json.dumps({"token": {"access_token": "a"}, "created_at": int(time.time()) + 3600, "expires_in": 1200}),
    ],
)
def test_bad_session_is_session_error_and_changes_nothing(client, token_server, bad):
    client.get_token()
    before = client.export_session()
    with pytest.raises(SessionError):
        client.import_session(bad)
    assert client.export_session() == before


def test_error_message_of_a_failed_call_does_not_leak_into_the_next(client, token_server):
    token_server.faults({"status": 500, "count": 3})
    client.set_option("max_retries", 0)
    with pytest.raises(HttpStatusError):
        client.get_token()
    # the fault queue still has entries; a failure of another kind must carry its own code
    with pytest.raises(SessionError):
        client.import_session("{}")


# ---- bad arguments: rejected before reaching the server (or C) -------------------------------


@pytest.mark.parametrize("position", [0, 1, 2])
def test_none_arguments(token_server, position):
    args = [token_server.url, CLIENT_ID, CLIENT_SECRET]
    args[position] = None
    with pytest.raises(InvalidArgumentError) as info:
        Client(*args)
    assert ["api_url", "client_id", "client_secret"][position] in info.value.message


@pytest.mark.parametrize("position", [0, 1, 2])
def test_embedded_nul_arguments(token_server, position):
    args = [token_server.url, CLIENT_ID, CLIENT_SECRET]
    args[position] = args[position] + "\0trailing"
    with pytest.raises(InvalidArgumentError) as info:
        Client(*args)
    assert "NUL" in info.value.message
    assert CLIENT_SECRET not in info.value.message


def test_invalid_argument_error_is_a_value_error():
    with pytest.raises(ValueError):
        Client(None, CLIENT_ID, CLIENT_SECRET)  # type: ignore[arg-type]


def test_library_rejects_a_bad_url():
    with pytest.raises(InvalidArgumentError) as info:
        Client("not a url", CLIENT_ID, CLIENT_SECRET)
    assert info.value.code == Status.INVALID_ARGUMENT
    with pytest.raises(InvalidArgumentError):
        Client("http://flexiti.example.com/", CLIENT_ID, CLIENT_SECRET)  # plain http off loopback
    with pytest.raises(InvalidArgumentError):
        Client("http://127.0.0.1:1/", CLIENT_ID, "")


def test_unknown_option_names_the_option(token_server):
    with pytest.raises(InvalidArgumentError) as info:
        Client(token_server.url, CLIENT_ID, CLIENT_SECRET, colour="blue")
    assert "colour" in info.value.message


@pytest.mark.parametrize(
    "name,value",
    [("max_retries", -1), ("max_retries", "many"), ("timeout_ms", 0), ("expiration_threshold_secs", 10**9), ("proxy", "::nope")],
)
def test_bad_option_value_names_the_option(client, name, value):
    with pytest.raises(InvalidArgumentError) as info:
        client.set_option(name, value)
    assert name in info.value.message


@pytest.mark.parametrize("value", [None, 1.5, b"5", ["x"]])
def test_option_of_an_unsupported_type(client, value):
    with pytest.raises(InvalidArgumentError) as info:
        client.set_option("max_retries", value)
    assert "max_retries" in info.value.message


def test_option_with_nul(client):
    with pytest.raises(InvalidArgumentError) as info:
        client.set_option("user_agent", "a\0b")
    assert "user_agent" in info.value.message and "NUL" in info.value.message


def test_path_option_goes_through_fspath(client, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(InvalidArgumentError) as info:
        client.set_option("ca_file", missing)
    assert "ca_file" in info.value.message and os.fspath(missing) in info.value.message


def test_failed_option_keeps_its_previous_value(client, token_server):
    client.set_option("user_agent", "kept/1")
    with pytest.raises(InvalidArgumentError):
        client.set_option("user_agent", "bad\nagent")
    client.get_token()
    assert token_server.requests()[0]["headers"]["user-agent"] == "kept/1"


@pytest.mark.parametrize("bad", [None, "{}\0", 42])
def test_bad_session_argument(client, bad):
    with pytest.raises(InvalidArgumentError):
        client.import_session(bad)


# ---- closing --------------------------------------------------------------------------------


def test_context_manager_closes_and_use_after_close_is_refused(token_server):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as c:
        assert not c.closed
        c.get_token()
    assert c.closed
    calls = [
        lambda: c.get_token(),
        lambda: c.access_token(use_cache=True),
        lambda: c.export_session(),
        lambda: c.import_session("{}"),
        lambda: c.clear(),
        lambda: c.set_option("max_retries", 1),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError, match="closed"):
            call()
    c.close()  # idempotent
    with pytest.raises(InvalidArgumentError, match="closed"):
        with c:
            pass
    assert len(token_server.requests()) == 1


def test_client_dropped_without_close_is_collected(token_server):
    import gc
    import weakref

    c = Client(token_server.url, CLIENT_ID, CLIENT_SECRET)
    c.get_token()
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None
