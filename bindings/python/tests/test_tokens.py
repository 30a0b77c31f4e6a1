"""Getting tokens: what goes on the wire, what comes back, what the client keeps."""

from __future__ import annotations

import uuid

import flexiti_auth
import pytest
from conftest import CLIENT_ID, CLIENT_SECRET, EXPIRES_IN, TOKEN_PATH, make_session, now
from flexiti_auth import Client


def test_new_token_uses_client_credentials_on_the_wire(client, token_server):
    before = now()
    token = client.get_token()
    after = now()

    assert isinstance(token, dict)
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == EXPIRES_IN
    assert before <= token["created_at"] <= after
    assert token["access_token"] in token_server.issued()["access_tokens"]
    assert token["refresh_token"] in token_server.issued()["refresh_tokens"]

    (req,) = token_server.requests()
    assert req["method"] == "POST"
    assert req["path"] == TOKEN_PATH
    assert req["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
    assert req["form"] == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert req["query"] in (None, "")
    ref = uuid.UUID(req["headers"]["x-reference-id"])
    assert ref.version == 4


def test_each_request_has_its_own_reference_id(client, token_server):
    client.get_token()
    client.get_token()
    ids = [r["headers"]["x-reference-id"] for r in token_server.requests()]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_access_token_returns_the_bare_token(client, token_server):
    bearer = client.access_token()
    assert isinstance(bearer, str)
    assert token_server.issued()["access_tokens"] == [bearer]
    assert client.get_token(use_cache=True)["access_token"] == bearer


def test_use_cache_returns_the_held_token_without_a_request(client, token_server):
    first = client.get_token(use_cache=True)  # nothing held yet: one request
    assert len(token_server.requests()) == 1
    for _ in range(5):
        assert client.get_token(use_cache=True) == first
        assert client.access_token(use_cache=True) == first["access_token"]
    assert len(token_server.requests()) == 1


def test_without_cache_a_valid_token_is_refreshed_with_its_refresh_token(client, token_server):
    first = client.get_token()
    second = client.get_token(use_cache=False)
    third = client.access_token()

    reqs = token_server.requests()
    assert [r["form"]["grant_type"] for r in reqs] == ["client_credentials", "refresh_token", "refresh_token"]
    assert reqs[1]["form"] == {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert reqs[2]["form"]["refresh_token"] == second["refresh_token"]  # rotated: the latest one
    assert second["access_token"] != first["access_token"]
    assert third not in (first["access_token"], second["access_token"])
    assert client.get_token(use_cache=True)["access_token"] == third


def test_refused_refresh_falls_back_to_client_credentials_once(token_server):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as c:
        # A still-valid session whose refresh token the server never issued: refresh gets
        # 400 invalid_grant, and the client asks for a new token instead.
        stale = {"token_type": "bearer", "access_token": "a" * 32, "refresh_token": "f" * 32, "expires_in": EXPIRES_IN}
        c.import_session(make_session(stale, now()))
        token = c.get_token(use_cache=False)

    reqs = token_server.requests()
    assert [r["form"]["grant_type"] for r in reqs] == ["refresh_token", "client_credentials"]
    assert reqs[0]["form"]["refresh_token"] == "f" * 32
    assert reqs[0]["status"] == 400 and reqs[1]["status"] == 200
    assert token["access_token"] in token_server.issued()["access_tokens"]


def test_used_refresh_token_is_refused_and_replaced(token_server):
    # Two clients share one session; the second refresh reuses a rotated refresh token.
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as a, Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as b:
        a.get_token()
        b.import_session(a.export_session())
        a.get_token(use_cache=False)
        token_server.clear_requests()
        token = b.get_token(use_cache=False)
    reqs = token_server.requests()
    assert [(r["form"]["grant_type"], r["status"]) for r in reqs] == [("refresh_token", 400), ("client_credentials", 200)]
    assert token["access_token"] in token_server.issued()["access_tokens"]


def test_expired_token_is_replaced_through_client_credentials(client, token_server):
    old = client.get_token()
    client.import_session(make_session(old, now() - EXPIRES_IN - 5))
    new = client.get_token(use_cache=True)
    reqs = token_server.requests()
    assert [r["form"]["grant_type"] for r in reqs] == ["client_credentials", "client_credentials"]
    assert new["access_token"] != old["access_token"]


def test_expiry_boundary_at_the_threshold(client, token_server):
    token = client.get_token()
    token_server.clear_requests()
    usable = EXPIRES_IN - 60  # default expiration_threshold_secs

    # Aged exactly the usable life: expired (a second ticking only makes it older).
    client.import_session(make_session(token, now() - usable))
    renewed = client.get_token(use_cache=True)
    assert [r["form"]["grant_type"] for r in token_server.requests()] == ["client_credentials"]
    assert renewed["access_token"] != token["access_token"]

    # Two seconds younger than that: still valid (one second may tick), returned with no request.
    token_server.clear_requests()
    client.import_session(make_session(token, now() - usable + 2))
    assert client.get_token(use_cache=True)["access_token"] == token["access_token"]
    assert token_server.requests() == []


def test_expiration_threshold_option_moves_the_boundary(token_server):
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET, expiration_threshold_secs=300) as c:
        token = c.get_token()
        token_server.clear_requests()
        c.import_session(make_session(token, now() - (EXPIRES_IN - 300) + 2))
        assert c.access_token(use_cache=True) == token["access_token"]
        assert token_server.requests() == []
        c.import_session(make_session(token, now() - (EXPIRES_IN - 300)))
        assert c.access_token(use_cache=True) != token["access_token"]
        assert len(token_server.requests()) == 1


def test_string_options_reach_the_request(token_server):
    with Client(
        token_server.url,
        CLIENT_ID,
        CLIENT_SECRET,
        token_path="flexiti/pos-api/v2.5/oauth/token",
        scope="merchant",
        user_agent="shop-checkout/7",
        proxy="none",
        timeout_ms=5000,
    ) as c:
        c.get_token()
    (req,) = token_server.requests()
    assert req["path"] == "/flexiti/pos-api/v2.5/oauth/token"
    assert req["form"]["scope"] == "merchant"
    assert req["headers"]["user-agent"] == "shop-checkout/7"


def test_set_option_after_creation(client, token_server):
    client.set_option("user_agent", "later/1")
    client.get_token()
    assert token_server.requests()[0]["headers"]["user-agent"] == "later/1"


def test_clear_forgets_the_token(client, token_server):
    first = client.get_token()
    client.clear()
    with pytest.raises(flexiti_auth.SessionError):
        client.export_session()
    second = client.get_token(use_cache=True)
    reqs = token_server.requests()
    assert [r["form"]["grant_type"] for r in reqs] == ["client_credentials", "client_credentials"]
    assert second["access_token"] != first["access_token"]


def test_extra_response_fields_are_kept(client, token_server):
    token_server.config(extra_fields={"scope": "merchant", "partner": {"id": 7}})
    token = client.get_token()
    assert token["scope"] == "merchant"
    assert token["partner"] == {"id": 7}
