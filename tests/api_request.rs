//! Authenticated POS-API calls (flx_request, issue 12) against the token server's POS-API style
//! endpoints: what went on the wire, what came back, what state remains. Through the C ABI, the
//! way every binding calls it.

mod common;
use common::*;
use flexiti_auth::ffi::*;
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::time::{Duration, Instant};

struct Handle(*mut FlxClient);

impl Handle {
    fn new(server: &TokenServer) -> Handle {
        Self::with_secret(server, CLIENT_SECRET)
    }
    fn with_secret(server: &TokenServer, secret: &str) -> Handle {
        let url = CString::new(server.url.as_str()).unwrap();
        let id = CString::new(CLIENT_ID).unwrap();
        let secret = CString::new(secret).unwrap();
        let h = flx_client_new(url.as_ptr(), id.as_ptr(), secret.as_ptr());
        assert!(!h.is_null());
        let h = Handle(h);
        h.option("proxy", "none");
        h
    }
    fn option(&self, name: &str, value: &str) {
        let (n, v) = (CString::new(name).unwrap(), CString::new(value).unwrap());
        assert_eq!(flx_client_set_option(self.0, n.as_ptr(), v.as_ptr()), 0, "{name}={value}: {}", last_message());
    }
    fn access_token(&self, use_cache: bool) -> String {
        let p = flx_get_access_token(self.0, use_cache);
        assert!(!p.is_null(), "{}", last_message());
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        flx_string_free(p);
        s
    }
    /// A session holding a valid token from `server` (a fresh handle gets one).
    fn session_or_new(&self, server: &TokenServer) -> String {
        let h = Handle::new(server);
        h.access_token(true);
        h.session()
    }
    fn stats(&self) -> Value {
        let p = flx_client_stats(self.0);
        assert!(!p.is_null());
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        flx_string_free(p);
        serde_json::from_str(&s).unwrap()
    }
    fn session(&self) -> String {
        let p = flx_session_export(self.0);
        assert!(!p.is_null());
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        flx_string_free(p);
        s
    }
    fn import(&self, session: &str) {
        let s = CString::new(session).unwrap();
        assert_eq!(flx_session_import(self.0, s.as_ptr()), 0);
    }
    /// flx_request; Ok((status, body, headers)) or Err((code, message)).
    fn request(&self, method: &str, path: &str, body: Option<&str>, headers: Option<&str>, use_cache: bool) -> Result<(i32, String, String), (i32, String)> {
        let method = CString::new(method).unwrap();
        let path = CString::new(path).unwrap();
        let body = body.map(|b| CString::new(b).unwrap());
        let headers = headers.map(|h| CString::new(h).unwrap());
        let mut status = -1;
        let mut out: *mut c_char = 0x1 as *mut c_char; // must be overwritten on every path
        let rc = flx_request(
            self.0,
            method.as_ptr(),
            path.as_ptr(),
            body.as_ref().map_or(ptr::null(), |b| b.as_ptr()),
            headers.as_ref().map_or(ptr::null(), |h| h.as_ptr()),
            use_cache,
            &mut status,
            &mut out,
        );
        if rc != 0 {
            assert!(out.is_null(), "response_body is NULL on error");
            assert_eq!(status, 0, "http_status is 0 on error");
            assert_eq!(rc, flx_last_error_code());
            return Err((rc, last_message()));
        }
        assert!(!out.is_null());
        let text = unsafe { CStr::from_ptr(out) }.to_string_lossy().into_owned();
        flx_string_free(out);
        let headers = unsafe { CStr::from_ptr(flx_last_response_headers()) }.to_str().unwrap().to_owned();
        Ok((status, text, headers))
    }
    fn ok(&self, method: &str, path: &str, body: Option<&str>, headers: Option<&str>, use_cache: bool) -> (i32, Value) {
        let (status, text, _) = self.request(method, path, body, headers, use_cache).unwrap_or_else(|(c, m)| panic!("{method} {path}: {c} {m}"));
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        flx_client_free(self.0);
    }
}

fn last_message() -> String {
    unsafe { CStr::from_ptr(flx_last_error_message()) }.to_str().unwrap().to_owned()
}

fn api_records(server: &TokenServer) -> Vec<Value> {
    server.requests().into_iter().filter(|r| r["kind"] == "api").collect()
}

fn token_grants(server: &TokenServer) -> Vec<String> {
    server.requests().iter().filter(|r| r["kind"] != "api").map(|r| r["form"]["grant_type"].as_str().unwrap_or("").to_owned()).collect()
}

fn kinds(server: &TokenServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| if r["kind"] == "api" { format!("api {}", r["method"].as_str().unwrap()) } else { r["form"]["grant_type"].as_str().unwrap_or("?").to_owned() })
        .collect()
}

#[test]
fn a_get_carries_the_current_token_a_reference_id_and_accept_and_shares_the_connection() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    let (status, echo) = h.ok("GET", "flexiti/pos-api/v2.5/customers/42?lang=en", None, None, true);
    assert_eq!(status, 200);
    let token = server.issued_access_tokens();
    assert_eq!(token.len(), 1, "one token request, then the call");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {}", token[0]));
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/flexiti/pos-api/v2.5/customers/42");
    assert_eq!(echo["query"], "lang=en");
    assert_eq!(echo["headers"]["accept"], "application/json");
    assert!(echo["headers"].get("content-type").is_none(), "no body, no Content-Type");
    let reference = echo["headers"]["x-reference-id"].as_str().unwrap();
    assert_eq!((reference.len(), &reference[14..15]), (36, "4"), "a v4 UUID: {reference}");

    // On the wire: the token request, then the call, on one kept-alive connection.
    let reqs = server.requests();
    assert_eq!(kinds(&server), ["client_credentials", "api GET"]);
    assert_eq!(reqs[0]["connection_id"], reqs[1]["connection_id"], "the call reuses the token request's connection");

    // A second call: the cached token, no token request, a fresh reference id, same connection.
    let (_, echo2) = h.ok("GET", "/flexiti/pos-api/v2.5/customers/42", None, None, true);
    assert_eq!(echo2["headers"]["authorization"], echo["headers"]["authorization"]);
    assert_ne!(echo2["headers"]["x-reference-id"], echo["headers"]["x-reference-id"]);
    assert_eq!(kinds(&server), ["client_credentials", "api GET", "api GET"]);
    assert_eq!(server.requests()[2]["connection_id"], reqs[0]["connection_id"]);
}

#[test]
fn use_cache_false_refreshes_first_like_flx_get_token() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    h.access_token(false);
    let (status, echo) = h.ok("POST", "api/echo", Some("{}"), None, false);
    assert_eq!(status, 200);
    assert_eq!(kinds(&server), ["client_credentials", "refresh_token", "api POST"]);
    let issued = server.issued_access_tokens();
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {}", issued[1]), "the refreshed token");
}

#[test]
fn body_headers_and_every_status_come_back_intact() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    let body = r#"{"amount":125.5,"items":[{"sku":"A-1","qty":2}],"note":"caf\u00e9 ü"}"#;
    let (status, text, headers) = h
        .request("PUT", "api/echo/orders/7", Some(body), Some("X-Store-Id: 0042\nX-Terminal:  T9 \nAccept: application/vnd.flexiti+json\n"), true)
        .unwrap();
    assert_eq!(status, 200);
    let echo: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["body"], body, "the body arrives byte for byte");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-store-id"], "0042");
    assert_eq!(echo["headers"]["x-terminal"], "T9");
    assert_eq!(echo["headers"]["accept"], "application/vnd.flexiti+json", "a caller's header replaces the default");
    assert!(headers.contains("content-type: application/json;charset=UTF-8\n"), "{headers}");
    assert!(headers.contains("server: flexiti-token-server\n"), "{headers}");

    // 4xx and 5xx: returned as is, with their bodies, FLX_OK, never retried (500/422/404 are not transient).
    for (method, code) in [("GET", 422), ("POST", 500), ("DELETE", 404), ("PATCH", 409), ("GET", 400)] {
        let before = api_records(&server).len();
        let (status, echo) = h.ok(method, "api/echo", None, Some(&format!("x-echo-status: {code}")), true);
        assert_eq!(status, code);
        assert_eq!(echo["method"], method, "the body of a {code} comes back");
        assert_eq!(api_records(&server).len(), before + 1, "{method} {code}: sent once");
    }
    // HEAD: a status and an empty body.
    let (status, text, _) = h.request("HEAD", "api/echo", None, None, true).unwrap();
    assert_eq!((status, text.as_str()), (200, ""));
    // A caller's x-reference-id is sent instead of a fresh one.
    let (_, echo) = h.ok("GET", "api/echo", None, Some("x-reference-id: my-ref-1"), true);
    assert_eq!(echo["headers"]["x-reference-id"], "my-ref-1");
    // A large body (past the 64 KiB the transport gathers into one write) arrives intact.
    let big = format!("{{\"blob\":\"{}\"}}", "x".repeat(300 * 1024));
    let (status, echo) = h.ok("POST", "api/echo", Some(&big), None, true);
    assert_eq!((status, echo["body"].as_str().map(str::len)), (200, Some(big.len())));
    assert_eq!(echo["body"].as_str(), Some(big.as_str()));
    // An empty body string is a body: Content-Type goes with it.
    let (_, echo) = h.ok("POST", "api/echo", Some(""), None, true);
    assert_eq!((echo["body"].as_str(), echo["headers"]["content-type"].as_str()), (Some(""), Some("application/json")));
}

#[test]
fn invalid_token_drops_the_token_and_resends_exactly_once_with_a_new_one_for_every_method() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    for (i, method) in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].iter().enumerate() {
        let before_tokens = server.issued_access_tokens();
        let before = server.requests().len();
        let body = (*method != "GET" && *method != "HEAD").then_some(r#"{"n":1}"#);
        let (status, text, _) = h.request(method, &format!("api/invalid-token-once/k{i}"), body, None, true).unwrap();
        assert_eq!(status, 200, "{method}: {text}");
        let reqs: Vec<Value> = server.requests()[before..].to_vec();
        let seq: Vec<String> = reqs.iter().map(|r| if r["kind"] == "api" { "api".to_owned() } else { r["form"]["grant_type"].as_str().unwrap().to_owned() }).collect();
        let first_token_request = i == 0;
        let expect: Vec<&str> = if first_token_request { vec!["client_credentials", "api", "client_credentials", "api"] } else { vec!["api", "client_credentials", "api"] };
        assert_eq!(seq, expect, "{method}: exactly one resend, after one token request");
        let issued = server.issued_access_tokens();
        let api: Vec<&Value> = reqs.iter().filter(|r| r["kind"] == "api").collect();
        assert_eq!(api[1]["headers"]["authorization"], format!("Bearer {}", issued.last().unwrap()), "{method}: the resend carries the new token");
        assert_ne!(api[0]["headers"]["authorization"], api[1]["headers"]["authorization"]);
        assert_eq!(api[0]["body"], api[1]["body"], "{method}: the same request again");
        assert_eq!(issued.len(), before_tokens.len() + if first_token_request { 2 } else { 1 });
        assert_eq!(h.access_token(true), *issued.last().unwrap(), "the new token is the one held");
    }
    let api = &h.stats()["api"];
    assert_eq!((api["requests"].as_u64(), api["invalid_token_resends"].as_u64(), api["retries"].as_u64()), (Some(12), Some(6), Some(0)), "{api}");
}

#[test]
fn a_second_invalid_token_is_returned_as_is() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    h.access_token(true);
    // The API answers invalid_token twice: the resend's answer comes back as is.
    server.faults(json!([{"api": true, "count": 2, "status": 401, "headers": {"WWW-Authenticate": "Bearer error=\"invalid_token\""}, "body": "{\"error\":\"invalid_token\"}"}]));
    let (status, text, headers) = h.request("POST", "api/echo", Some("{}"), None, true).unwrap();
    assert_eq!(status, 401);
    assert!(text.contains("invalid_token"));
    assert!(headers.contains("www-authenticate: Bearer error=\"invalid_token\""), "{headers}");
    assert_eq!(api_records(&server).len(), 2, "one send, one resend, never a third");
    assert_eq!(token_grants(&server), ["client_credentials", "client_credentials"]);
}

#[test]
fn a_401_without_invalid_token_is_not_resent() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    server.faults(json!([{"api": true, "status": 401, "body": "{\"error\":\"insufficient_scope\"}"}]));
    let (status, body) = h.ok("GET", "api/echo", None, None, true);
    assert_eq!((status, body["error"].as_str()), (401, Some("insufficient_scope")));
    assert_eq!(api_records(&server).len(), 1);
    assert_eq!(token_grants(&server).len(), 1, "no new token");
}

#[test]
fn a_token_revoked_by_another_clients_refresh_is_recovered_transparently() {
    let server = TokenServer::start();
    let a = Handle::new(&server);
    let b = Handle::new(&server);
    let (status, _) = a.ok("GET", "api/echo", None, None, true);
    assert_eq!(status, 200);
    let old = a.access_token(true);
    // Another process takes over the session and refreshes it: the server revokes a's token.
    b.import(&a.session());
    let b_token = b.access_token(false);
    assert_ne!(b_token, old);
    let before = server.requests().len();
    let (status, echo) = a.ok("GET", "api/echo", None, None, true);
    assert_eq!(status, 200, "recovered transparently");
    let after: Vec<Value> = server.requests()[before..].to_vec();
    assert_eq!(after.len(), 3, "401, a new token, the resend: {after:?}");
    assert_eq!(after[0]["status"], 401);
    assert_eq!(after[1]["form"]["grant_type"], "client_credentials", "the dropped token is not refreshed: a new one");
    let newest = server.issued_access_tokens().last().unwrap().clone();
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {newest}"));
    assert_eq!(a.access_token(true), newest);
}

#[test]
fn a_get_is_retried_on_503_up_to_max_retries_and_the_last_answer_returned() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    h.access_token(true);
    // 503 twice, then 200: with max_retries 2, three attempts.
    let (status, echo) = h.ok("GET", "api/unavailable/2/a", None, None, true);
    assert_eq!(status, 200);
    assert_eq!(echo["method"], "GET");
    assert_eq!(api_records(&server).len(), 3);
    // 503 five times: three attempts, then the last 503 and its body, with FLX_OK.
    let (status, body) = h.ok("GET", "api/unavailable/5/b", None, None, true);
    assert_eq!(status, 503);
    assert_eq!(body["attempt"], 3, "the last answer's body");
    assert_eq!(api_records(&server).len(), 6);
    // max_retries 0: one attempt. PUT, DELETE, HEAD are retried like GET.
    h.option("max_retries", "0");
    assert_eq!(h.ok("GET", "api/unavailable/1/c", None, None, true).0, 503);
    h.option("max_retries", "1");
    for (i, m) in ["PUT", "DELETE", "HEAD"].iter().enumerate() {
        let before = api_records(&server).len();
        let (status, _, _) = h.request(m, &format!("api/unavailable/1/d{i}"), None, None, true).unwrap();
        assert_eq!(status, 200, "{m}");
        assert_eq!(api_records(&server).len(), before + 2, "{m} retried once");
    }
    // 502 and 504 are transient; 429 only with Retry-After; 500 never.
    for (q, expect_sends, expect_status) in [("status=502", 2, 200), ("status=504", 2, 200), ("status=429&retry_after=0", 2, 200), ("status=429", 1, 429), ("status=500", 1, 500)] {
        let before = api_records(&server).len();
        let (status, _) = h.ok("GET", &format!("api/unavailable/1/e-{q}?{q}"), None, None, true);
        assert_eq!((status, api_records(&server).len() - before), (expect_status, expect_sends), "{q}");
    }
    assert_eq!(token_grants(&server).len(), 1, "retries reuse the token");
    // The counters: every send, every retry.
    let api = &h.stats()["api"];
    assert_eq!(api["requests"].as_u64().unwrap() as usize, api_records(&server).len());
    assert_eq!(api["retries"].as_u64().unwrap() as usize, api_records(&server).len() - 11, "{api}: 11 calls");
    assert_eq!((api["invalid_token_resends"].as_u64(), api["failures"].as_u64()), (Some(0), Some(0)));
}

#[test]
fn post_and_patch_are_never_resent_after_a_transient_failure() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    h.access_token(true);
    for m in ["POST", "PATCH"] {
        // A 503: returned as is after one send.
        let before = api_records(&server).len();
        let (status, body) = h.ok(m, &format!("api/unavailable/3/{m}?retry_after=0"), Some("{}"), None, true);
        assert_eq!((status, body["attempt"].as_i64()), (503, Some(1)));
        assert_eq!(api_records(&server).len(), before + 1, "{m} sent once on 503");
        // A reset after the request arrived: FLX_ERR_NETWORK, sent once.
        server.faults(json!([{"api": true, "reset_after_bytes": 0}]));
        let (code, msg) = h.request(m, "api/echo", Some("{}"), None, true).unwrap_err();
        assert_eq!(code, FlxStatus::FLX_ERR_NETWORK as i32, "{msg}");
        assert!(msg.contains("not retried"), "{msg}");
        assert_eq!(api_records(&server).len(), before + 2, "{m} sent once on a reset");
        // A closed connection without an answer: the same.
        server.faults(json!([{"api": true, "close": true}]));
        assert!(h.request(m, "api/echo", Some("{}"), None, true).is_err());
        assert_eq!(api_records(&server).len(), before + 3, "{m} sent once on a close");
    }
    // A GET on a reset is retried.
    server.faults(json!([{"api": true, "reset_after_bytes": 0}]));
    let before = api_records(&server).len();
    assert_eq!(h.ok("GET", "api/echo", None, None, true).0, 200);
    assert_eq!(api_records(&server).len(), before + 2);
}

use flexiti_auth::FlxStatus;

#[test]
fn bad_arguments_are_refused_with_nothing_sent() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("GET", "api/echo", Some("X-A: 1\r\nX-B: 2")),
        ("GET", "api/echo", Some("X-A: 1\rX-Evil: 2")),
        ("GET", "api/echo", Some("Authorization: Bearer stolen")),
        ("GET", "api/echo", Some("X-A: 1\nauthorization: Basic x")),
        ("GET", "api/echo", Some("Host: evil.example")),
        ("GET", "api/echo", Some("no colon here")),
        ("GET", "api/echo", Some(": no name")),
        ("GET", "api/echo", Some("Bad Name: x")),
        ("GET", "api/echo", Some("X-A: 1\n\nX-B: 2")),
        ("GET", "api/echo", Some("X-A: bell\u{7}")),
        ("GET", "api/echo", Some("Content-Length: 0")),
        ("get", "api/echo", None),
        ("TRACE", "api/echo", None),
        ("OPTIONS", "api/echo", None),
        ("", "api/echo", None),
        ("GET", "", None),
        ("GET", "api/echo with space", None),
        ("GET", "api/echo#frag", None),
        ("GET", "https://evil.example/x", None),
    ];
    for (method, path, headers) in cases {
        for use_cache in [true, false] {
            let (code, msg) = h.request(method, path, None, *headers, use_cache).unwrap_err();
            assert_eq!(code, FlxStatus::FLX_ERR_INVALID_ARGUMENT as i32, "{method} {path} {headers:?}: {msg}");
            assert!(!msg.contains("stolen"), "{msg}");
        }
    }
    assert_eq!(server.requests().len(), 0, "nothing was sent: no API request, no token request");
    // NULL out-pointers and handle.
    let m = CString::new("GET").unwrap();
    let p = CString::new("api/echo").unwrap();
    let mut status = 7;
    let mut out: *mut c_char = ptr::null_mut();
    assert_eq!(flx_request(h.0, m.as_ptr(), p.as_ptr(), ptr::null(), ptr::null(), true, ptr::null_mut(), &mut out), 1);
    assert_eq!(flx_request(h.0, m.as_ptr(), p.as_ptr(), ptr::null(), ptr::null(), true, &mut status, ptr::null_mut()), 1);
    assert_eq!(status, 0);
    assert_eq!(flx_request(ptr::null_mut(), m.as_ptr(), p.as_ptr(), ptr::null(), ptr::null(), true, &mut status, &mut out), 1);
    assert_eq!(flx_request(h.0, ptr::null(), p.as_ptr(), ptr::null(), ptr::null(), true, &mut status, &mut out), 1);
    assert_eq!(flx_request(h.0, m.as_ptr(), ptr::null(), ptr::null(), ptr::null(), true, &mut status, &mut out), 1);
    assert!(out.is_null());
    assert_eq!(server.requests().len(), 0);
    // A valid header set goes through.
    assert_eq!(h.ok("GET", "api/echo", None, Some("X-A: 1\n"), true).0, 200);
}

#[test]
fn oversized_answers_are_refused_without_reading_them() {
    let server = TokenServer::start();
    let h = Handle::new(&server);
    h.access_token(true);
    // Over the 8 MiB default, by Content-Length: refused at once.
    let started = Instant::now();
    let (code, msg) = h.request("GET", "api/oversize/1073741824", None, None, true).unwrap_err();
    assert_eq!(code, FlxStatus::FLX_ERR_BAD_RESPONSE as i32);
    assert!(msg.contains("max_response_bytes") && msg.contains("8388608"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(5), "a 1 GiB answer was not read");
    // The cap is exact.
    h.option("max_response_bytes", "1000");
    let (status, text, _) = h.request("GET", "api/oversize/1000", None, None, true).unwrap();
    assert_eq!((status, text.len()), (200, 1000));
    assert_eq!(h.request("GET", "api/oversize/1001", None, None, true).unwrap_err().0, FlxStatus::FLX_ERR_BAD_RESPONSE as i32);
    // Without a Content-Length (the body ends at close): read up to the cap, then refused.
    h.option("max_response_bytes", "100000");
    let (code, msg) = h.request("GET", "api/oversize/50000000?unframed=1", None, None, true).unwrap_err();
    assert_eq!(code, FlxStatus::FLX_ERR_BAD_RESPONSE as i32, "{msg}");
    assert_eq!(h.request("GET", "api/oversize/99999?unframed=1", None, None, true).unwrap().1.len(), 99999);
    // HEAD: the Content-Length of a body it does not carry is no reason to refuse.
    let (status, text, headers) = h.request("HEAD", "api/oversize/50000000", None, None, true).unwrap();
    assert_eq!((status, text.as_str()), (200, ""));
    assert!(headers.contains("content-length: 50000000"), "{headers}");
    // Bad values of the option are refused and change nothing.
    for bad in ["0", "-1", "abc", "1073741825"] {
        let (n, v) = (CString::new("max_response_bytes").unwrap(), CString::new(bad).unwrap());
        assert_eq!(flx_client_set_option(h.0, n.as_ptr(), v.as_ptr()), 1, "{bad}");
    }
    assert!(h.request("GET", "api/oversize/100000", None, None, true).is_ok());
    // And the handle still works.
    assert_eq!(h.ok("GET", "api/echo", None, None, true).0, 200);
}

#[test]
fn token_failures_come_back_as_the_token_requests_error() {
    let server = TokenServer::start();
    let h = Handle::with_secret(&server, "wrong-secret-value");
    let (code, msg) = h.request("GET", "api/echo", None, None, true).unwrap_err();
    assert_eq!(code, FlxStatus::FLX_ERR_AUTH_REJECTED as i32, "{msg}");
    assert!(!msg.contains("wrong-secret-value"));
    assert!(api_records(&server).is_empty(), "no API call without a token");
    // No server at all: a network error.
    let port = closed_port();
    let url = CString::new(format!("http://127.0.0.1:{port}/")).unwrap();
    let (id, secret) = (CString::new(CLIENT_ID).unwrap(), CString::new(CLIENT_SECRET).unwrap());
    let c = flx_client_new(url.as_ptr(), id.as_ptr(), secret.as_ptr());
    let h2 = Handle(c);
    h2.option("max_retries", "0");
    assert_eq!(h2.request("GET", "api/echo", None, None, true).unwrap_err().0, FlxStatus::FLX_ERR_NETWORK as i32);
    // A token held (imported), the API host refusing connections: a GET is retried up to
    // max_retries, a POST is not.
    h2.option("max_retries", "2");
    h2.import(&h.session_or_new(&server));
    let (code, msg) = h2.request("GET", "api/echo", None, None, true).unwrap_err();
    assert_eq!(code, FlxStatus::FLX_ERR_NETWORK as i32);
    assert!(msg.contains("after 3 attempts"), "{msg}");
    let (code, msg) = h2.request("POST", "api/echo", Some("{}"), None, true).unwrap_err();
    assert_eq!(code, FlxStatus::FLX_ERR_NETWORK as i32);
    assert!(!msg.contains("attempts") && msg.contains("not retried"), "{msg}");
}

#[test]
fn no_secret_in_messages_or_log_lines() {
    let secret = "cs-api-0123456789abcdef0123456789";
    let server = TokenServer::start_with(&["--client-secret", secret]);
    let h = Handle::with_secret(&server, secret);
    let log = std::env::temp_dir().join(format!("flx-api-log-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    h.option("log_level", "debug");
    h.option("log_file", log.to_str().unwrap());
    let token = h.access_token(true);
    // Answers that echo the token and the secret, on every path that makes a message or a line.
    let echo_body = format!("{{\"error\":\"invalid_token\",\"got\":\"{token} {secret}\"}}");
    server.faults(json!([
        {"api": true, "status": 401, "headers": {"WWW-Authenticate": format!("Bearer error=\"invalid_token\" {token}")}, "body": echo_body},
    ]));
    let (status, echo) = h.ok("GET", "api/echo", None, None, true);
    assert_eq!(status, 200);
    let new_token = h.access_token(true);
    server.faults(json!([{"api": true, "status": 503, "body": format!("{new_token} {secret}"), "count": 3}]));
    let _ = h.request("GET", "api/echo", None, None, true).unwrap();
    server.faults(json!([{"api": true, "reset_after_bytes": 3, "body": format!("{new_token}")}]));
    let (_, msg) = h.request("POST", "api/echo", Some("{}"), None, true).unwrap_err();
    h.option("max_response_bytes", "10");
    let (_, msg2) = h.request("GET", "api/echo", None, None, true).unwrap_err();
    let lines = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(lines.contains("GET") && lines.contains("HTTP 401") && lines.contains("invalid_token"), "{lines}");
    for text in [&msg, &msg2, &lines] {
        for s in [secret, token.as_str(), new_token.as_str()] {
            assert!(!text.contains(s), "a secret leaked: {text}");
            assert!(!text.contains(&s[..12]), "a piece of a secret leaked: {text}");
        }
    }
    // The echo is the caller's own data: it holds the token it was sent with.
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {new_token}"));
}

#[test]
fn concurrent_invalid_tokens_get_one_replacement() {
    let server = TokenServer::start();
    let h = std::sync::Arc::new(Handle::new(&server));
    h.access_token(true);
    server.expire_all();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let h = h.clone();
            std::thread::spawn(move || h.ok("GET", "api/echo", None, None, true).0)
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let grants = token_grants(&server);
    assert_eq!(grants, ["client_credentials", "client_credentials"], "one replacement, shared by every thread");
}

unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

/// With a token store shared by two handles (two processes in real life): the token the API
/// refused is never taken from the store again; the replacement is obtained once and stored, and
/// the other handle takes it from the store with no 401 and no token request of its own.
#[cfg(unix)] // the file store is Unix-only in this version
#[test]
fn invalid_token_with_a_token_store_gets_one_replacement_for_every_handle() {
    let server = TokenServer::start();
    let dir = std::env::temp_dir().join(format!("flx-api-store-{}-{}", std::process::id(), unix_now()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = Handle::new(&server);
    let b = Handle::new(&server);
    a.option("token_store", dir.to_str().unwrap());
    b.option("token_store", dir.to_str().unwrap());
    let t1 = a.access_token(true);
    assert_eq!(b.access_token(true), t1, "b takes a's token from the store");
    assert_eq!(token_grants(&server), ["client_credentials"]);
    // The server revokes t1 (every token issued so far).
    server.expire_all();
    let (status, echo) = a.ok("GET", "api/echo", None, None, true);
    assert_eq!(status, 200);
    let t2 = a.access_token(true);
    assert_ne!(t2, t1, "the store's copy of the rejected token is not taken back");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {t2}"));
    assert_eq!(token_grants(&server), ["client_credentials", "client_credentials"], "one new token");
    // b: the replacement from the store, no 401, no token request.
    let before = server.requests().len();
    let (status, echo) = b.ok("POST", "api/echo", Some("{}"), None, true);
    assert_eq!(status, 200);
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {t2}"));
    let after: Vec<Value> = server.requests()[before..].to_vec();
    assert_eq!(after.len(), 1, "b sent its call once and asked for no token: {after:?}");
    drop(a);
    drop(b);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 16 threads share a handle for mixed calls (GET, POST, 503 once, invalid_token once) while
/// the server revokes every token again and again: every call comes back with FLX_OK, 200 or
/// (revoked once more during its resend) 401; every bearer sent was one the server issued; the
/// handle works afterwards.
#[test]
fn threads_sharing_a_handle_through_revocations_get_only_documented_answers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let server = Arc::new(TokenServer::start());
    let h = Arc::new(Handle::new(&server));
    h.option("max_retries", "1");
    let stop = Arc::new(AtomicBool::new(false));
    let revoker = {
        let (server, stop) = (server.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 40 {
                std::thread::sleep(Duration::from_millis(15));
                server.expire_all();
                n += 1;
            }
        })
    };
    let workers: Vec<_> = (0..16)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for i in 0..15 {
                    let key = format!("{t}-{i}");
                    let r = match i % 4 {
                        0 => h.request("GET", "api/echo", None, None, true),
                        1 => h.request("POST", "api/echo", Some("{\"n\":1}"), Some("X-Worker: w"), true),
                        2 => h.request("GET", &format!("api/unavailable/1/{key}?retry_after=0"), None, None, true),
                        _ => h.request("PUT", &format!("api/invalid-token-once/{key}"), Some("{}"), None, true),
                    };
                    statuses.push(r.map(|(s, _, _)| s).map_err(|(c, m)| format!("{c}: {m}")));
                }
                statuses
            })
        })
        .collect();
    let mut seen = std::collections::BTreeMap::new();
    for w in workers {
        for s in w.join().unwrap() {
            let s = s.unwrap_or_else(|e| panic!("a call failed: {e}"));
            assert!(s == 200 || s == 401, "status {s}");
            *seen.entry(s).or_insert(0) += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    revoker.join().unwrap();
    assert!(seen.get(&200).copied().unwrap_or(0) > 0, "{seen:?}");
    let issued: std::collections::HashSet<String> = server.issued_access_tokens().into_iter().collect();
    for r in api_records(&server) {
        let bearer = r["headers"]["authorization"].as_str().unwrap().trim_start_matches("Bearer ").to_owned();
        assert!(issued.contains(&bearer), "a bearer the server never issued was sent");
    }
    assert_eq!(h.ok("GET", "api/echo", None, None, true).0, 200, "the handle still works");
}
