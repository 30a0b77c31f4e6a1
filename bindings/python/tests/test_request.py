"""Client.request: authenticated POS-API calls through the library (flx_request), against the
token server's POS-API style endpoints. Each test asserts what went on the wire (the server's
request log) and what came back; the binding adds no retry of its own."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

import flexiti_auth
from flexiti_auth import BadResponseError, Client, InvalidArgumentError, NetworkError, Response

from conftest import CLIENT_ID, CLIENT_SECRET, TokenServer


def api(server: TokenServer) -> List[Dict[str, Any]]:
    return [r for r in server.requests() if r.get("kind") == "api"]


def grants(server: TokenServer) -> List[str]:
    return [r["form"]["grant_type"] for r in server.requests() if r.get("kind") != "api"]


def test_get_sends_the_current_token_and_returns_decoded_json(client: Client, token_server: TokenServer) -> None:
    r = client.request("GET", "flexiti/pos-api/v2.5/customers/42?lang=fr")
    assert isinstance(r, Response)
    assert r.status == 200 and r.ok
    assert r["status"] == 200
    assert r.status_code == 200 and r.json() == r.body == r["json"] and r.text == r.raw
    token = token_server.issued()["access_tokens"][0]
    assert r.body["headers"]["authorization"] == f"Bearer {token}"
    assert r.body["path"] == "/flexiti/pos-api/v2.5/customers/42"
    assert r.body["query"] == "lang=fr"
    assert r.body["headers"]["accept"] == "application/json"
    assert len(r.body["headers"]["x-reference-id"]) == 36
    assert r.headers["content-type"].startswith("application/json")
    assert grants(token_server) == ["client_credentials"]
    wire = api(token_server)
    assert len(wire) == 1 and wire[0]["method"] == "GET"
    assert wire[0]["connection_id"] == token_server.requests()[0]["connection_id"], "one kept-alive connection"


def test_json_body_and_headers_arrive_and_error_bodies_come_back(client: Client, token_server: TokenServer) -> None:
    r = client.request("POST", "api/echo", json={"amount": 12.5, "name": "café"}, headers={"X-Store": "7", "x-echo-status": "422"})
    assert r.status == 422
    assert r.body["json"] == {"amount": 12.5, "name": "café"}
    assert r.body["headers"]["content-type"] == "application/json"
    assert r.body["headers"]["x-store"] == "7"
    assert len(api(token_server)) == 1, "a 422 is returned, not retried"
    # Not JSON: the raw text.
    token_server.faults({"api": True, "status": 500, "body": "<html>oops</html>"})
    r = client.request("GET", "api/echo", headers=[("X-A", "1")])
    assert (r.status, r.body, r.raw) == (500, "<html>oops</html>", "<html>oops</html>")
    assert r["json"] is None
    with pytest.raises(ValueError):
        r.json()
    r = client.request("HEAD", "api/echo")
    assert (r.status, r.body) == (200, "")


def test_invalid_token_is_resent_once_with_a_new_token(client: Client, token_server: TokenServer) -> None:
    old = client.access_token(use_cache=True)
    r = client.request("POST", "api/invalid-token-once/py", json={"n": 1})
    assert r.status == 200
    new = client.access_token(use_cache=True)
    assert new != old
    assert r.body["headers"]["authorization"] == f"Bearer {new}"
    wire = api(token_server)
    assert [w["status"] for w in wire] == [401, 200]
    assert wire[0]["body"] == wire[1]["body"] == '{"n":1}'
    assert grants(token_server) == ["client_credentials", "client_credentials"]


def test_a_token_revoked_by_another_client_is_recovered(token_server: TokenServer) -> None:
    with Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as a, Client(token_server.url, CLIENT_ID, CLIENT_SECRET) as b:
        a.request("GET", "api/echo")
        b.import_session(a.export_session())
        b.access_token(use_cache=False)  # a refresh: the server revokes a's token
        r = a.request("GET", "api/echo")
        assert r.status == 200
        assert r.body["headers"]["authorization"] == f"Bearer {a.access_token(use_cache=True)}"
        assert [w["status"] for w in api(token_server)] == [200, 401, 200]


def test_get_is_retried_but_post_is_not(client: Client, token_server: TokenServer) -> None:
    r = client.request("GET", "api/unavailable/5/g")
    assert (r.status, r.body["attempt"]) == (503, 3), "max_retries 2: three attempts, the last answer"
    assert len(api(token_server)) == 3
    r = client.request("POST", "api/unavailable/5/p?retry_after=0", json={})
    assert r.status == 503
    assert len(api(token_server)) == 4
    token_server.faults({"api": True, "reset_after_bytes": 0})
    with pytest.raises(NetworkError):
        client.request("POST", "api/echo", json={})
    assert len(api(token_server)) == 5, "a POST is never resent after a reset"
    token_server.faults({"api": True, "reset_after_bytes": 0})
    assert client.request("GET", "api/echo").status == 200
    assert len(api(token_server)) == 7, "a GET is"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "1\r\nX-Evil: 2"},
        {"X-A": "1\nX-Evil: 2"},
        {"Authorization": "Bearer stolen"},
        {"host": "evil.example"},
        {"Bad Name": "x"},
        [("X-A", "1"), ("AUTHORIZATION", "x")],
    ],
)
def test_header_injection_is_refused_with_nothing_sent(client: Client, token_server: TokenServer, headers: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        client.request("GET", "api/echo", headers=headers, use_cache=False)
    assert token_server.requests() == [], "no API request and no token request"


def test_bad_method_and_oversized_answer(client: Client, token_server: TokenServer) -> None:
    with pytest.raises(InvalidArgumentError):
        client.request("TRACE", "api/echo")
    assert token_server.requests() == []
    with pytest.raises(BadResponseError, match="max_response_bytes"):
        client.request("GET", "api/oversize/9000000")
    client.set_option("max_response_bytes", 9000000)
    assert len(client.request("GET", "api/oversize/9000000").raw) == 9000000


def test_exports() -> None:
    assert flexiti_auth.Response is Response
