"""Sessions: a token exported by one client (or process) and imported by another."""

from __future__ import annotations

import json

import pytest

from conftest import CLIENT_ID, CLIENT_SECRET, EXPIRES_IN, now
from flexiti_auth import Client, SessionError


def test_session_round_trip_between_two_clients(token_server):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as a, Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as b:
        token = a.get_token()
        session = a.export_session()

        doc = json.loads(session)
        assert set(doc) == {"token", "created_at", "expires_in"}
        assert doc["created_at"] == token["created_at"]
        assert doc["expires_in"] == EXPIRES_IN
        assert doc["token"]["access_token"] == token["access_token"]
        assert doc["token"]["refresh_token"] == token["refresh_token"]

        b.import_session(session)
        assert b.get_token(use_cache=True) == token  # the same token, created_at included
        assert len(token_server.requests()) == 1  # b made no request
        assert json.loads(b.export_session()) == doc

        refreshed = b.get_token(use_cache=False)  # b refreshes with a's refresh token
        req = token_server.requests()[-1]
        assert req["form"]["grant_type"] == "refresh_token"
        assert req["form"]["refresh_token"] == token["refresh_token"]
        assert refreshed["access_token"] != token["access_token"]
        # a still holds its own (now rotated-away) token until it asks again
        assert a.get_token(use_cache=True)["access_token"] == token["access_token"]


def test_session_token_may_be_a_json_string(client, token_server):
    token = client.get_token()
    body = {k: v for k, v in token.items() if k != "created_at"}
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as other:
        other.import_session(json.dumps({"token": json.dumps(body), "created_at": now(), "expires_in": EXPIRES_IN}))
        assert other.access_token(use_cache=True) == token["access_token"]
    assert len(token_server.requests()) == 1


def test_import_replaces_the_held_token(client, token_server):
    first = client.get_token()
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as other:
        second = other.get_token()
        client.import_session(other.export_session())
    assert client.access_token(use_cache=True) == second["access_token"] != first["access_token"]


def test_export_after_clear_is_session_error(client):
    client.get_token()
    client.clear()
    with pytest.raises(SessionError):
        client.export_session()
