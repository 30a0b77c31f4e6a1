//! Faults from the server, one test per row of RELIABILITY.md. Each asserts the status code,
//! the message, the number of token requests sent, a bound on the elapsed time, and that the
//! held token is unchanged and still served from the cache (see `fail_with`).

mod common;
mod reliability_support;
use common::*;
use flexiti_auth::{Decision, FlxStatus};
use reliability_support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const S: fn(u64) -> Duration = Duration::from_secs;

// ---- reaching the server --------------------------------------------------------------------

#[test]
fn connection_refused_is_retried_then_a_network_error() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/");
    let c = flexiti_auth::Client::new(&url, CLIENT_ID, CLIENT_SECRET).unwrap();
    c.set_option("proxy", "none").unwrap();
    c.import_session(&held_session(HELD_ACCESS, None)).unwrap();
    let held = c.held_token();
    let t0 = Instant::now();
    let e = c.get_token(false).unwrap_err();
    let took = t0.elapsed();
    assert_eq!(e.status, FlxStatus::FLX_ERR_NETWORK, "{}", e.message);
    // Three attempts (max_retries 2) with 100 + 200 ms of backoff between them.
    for f in ["connect", &port.to_string(), "after 3 attempts"] {
        assert!(e.message.contains(f), "lacks {f:?}: {}", e.message);
    }
    assert!(took >= ms(300) && took < S(3), "{took:?}");
    assert_eq!(c.held_token(), held);
    assert_eq!(c.get_token(true).unwrap().access_token, HELD_ACCESS);
}

#[test]
fn dns_failure_is_a_fast_network_error() {
    let c = flexiti_auth::Client::new("https://flexiti.invalid/", CLIENT_ID, CLIENT_SECRET).unwrap();
    c.set_option("proxy", "none").unwrap();
    c.set_option("max_retries", "0").unwrap();
    c.import_session(&held_session(HELD_ACCESS, None)).unwrap();
    let held = c.held_token();
    let t0 = Instant::now();
    let e = c.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_NETWORK, "{}", e.message);
    assert!(e.message.contains("flexiti.invalid"), "{}", e.message);
    assert!(e.message.contains("host not found (DNS lookup failed)"), "says the name did not resolve: {}", e.message);
    assert!(!e.message.contains("attempts"), "max_retries 0 makes one attempt: {}", e.message);
    assert!(t0.elapsed() < S(3), "{:?}", t0.elapsed());
    assert_eq!(c.held_token(), held);
    // With retries: max_retries + 1 lookups, and still no more than backoff time.
    c.set_option("max_retries", "2").unwrap();
    let e = c.get_token(false).unwrap_err();
    assert!(e.message.contains("after 3 attempts"), "{}", e.message);
    assert_eq!(c.get_token(true).unwrap().access_token, HELD_ACCESS);
}

/// Nothing was sent when the name does not resolve, so a refresh token cannot have been used:
/// the refresh grant's own error is reported, without a pointless client_credentials fallback
/// (which doubles the wait) and without marking the refresh token as spent.
#[test]
fn dns_failure_on_a_refresh_does_not_spend_the_refresh_token() {
    let c = flexiti_auth::Client::new("https://flexiti.invalid/", CLIENT_ID, CLIENT_SECRET).unwrap();
    c.set_option("proxy", "none").unwrap();
    c.set_option("max_retries", "0").unwrap();
    c.import_session(&held_session(HELD_ACCESS, Some("held-refresh-token-51c0"))).unwrap();
    let e = c.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_NETWORK, "{}", e.message);
    assert!(e.message.contains("refresh_token grant"), "a DNS failure was taken for a request that may have arrived: {}", e.message);
    assert_eq!(c.get_token(true).unwrap().access_token, HELD_ACCESS);
}

#[test]
fn tls_self_signed_is_refused_without_ca_file_then_trusted_with_it() {
    let dir = temp_dir("tls");
    let (cert, key) = make_self_signed(&dir);
    let server = TokenServer::start_with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(server.url.starts_with("https://localhost:"), "{}", server.url);
    let c = held_client(&server);
    let f = fail_with(&server, &c, json!([]));
    // A certificate problem is not retried: one connection, no HTTP request at all.
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["TLS", "client_credentials grant to https://localhost"], ms(0), S(3)).requests_sent(0);
    assert!(!f.error.message.contains("attempts"), "{}", f.error.message);
    assert_eq!(server.stats()["token_requests"], 0);

    assert!(c.set_option("ca_file", cert.to_str().unwrap()).is_ok());
    let t = c.get_token(false).unwrap();
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["tls"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- slow or broken answers -----------------------------------------------------------------

#[test]
fn a_server_that_accepts_and_never_answers_times_out_per_attempt() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("timeout_ms", "400").unwrap();
    c.set_option("max_retries", "1").unwrap();
    let f = fail_with(&server, &c, json!([{"hang": true, "count": 5}]));
    // 2 × 400 ms + 100 ms backoff.
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["timed out", "after 2 attempts"], ms(850), ms(2500)).requests_sent(2);
    assert_eq!(f.grants(), ["client_credentials", "client_credentials"]);
}

#[test]
fn headers_then_a_stalled_body_times_out() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("timeout_ms", "400").unwrap();
    c.set_option("max_retries", "1").unwrap();
    let f = fail_with(&server, &c, json!([{"stall_body_ms": 5000, "count": 5}]));
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["timed out", "after 2 attempts"], ms(850), ms(2500)).requests_sent(2);
}

#[test]
fn a_body_trickling_past_timeout_ms_is_cut_at_the_timeout() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("timeout_ms", "500").unwrap();
    c.set_option("max_retries", "0").unwrap();
    // ~130 bytes at 40 ms each would take over 5 s: the whole-request timeout stops it at 500 ms.
    let f = fail_with(&server, &c, json!([{"trickle_ms": 40}]));
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["timed out"], ms(450), ms(1500)).requests_sent(1);
}

#[test]
fn a_body_trickling_within_timeout_ms_is_accepted() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("timeout_ms", "3000").unwrap();
    server.faults(json!([{"trickle_ms": 2}]));
    let t0 = Instant::now();
    let t = c.get_token(false).unwrap();
    assert!(t0.elapsed() >= ms(150), "the body did trickle: {:?}", t0.elapsed());
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_connection_reset_mid_body_is_retried_then_reported() {
    let server = TokenServer::start();
    let c = held_client(&server);
    let f = fail_with(&server, &c, json!([{"reset_after_bytes": 10, "count": 3}]));
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["before a complete answer", "after 3 attempts"], ms(300), S(3)).requests_sent(3);
    // Once only: the retry succeeds.
    server.post_delete_requests();
    server.faults(json!([{"reset_after_bytes": 10}]));
    let t = c.get_token(false).unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(&t.access_token, server.issued_access_tokens().last().unwrap());
}

#[test]
fn a_connection_closed_without_an_answer_is_retried_then_reported() {
    let server = TokenServer::start();
    let c = held_client(&server);
    let f = fail_with(&server, &c, json!([{"close": true, "count": 3}]));
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["after 3 attempts"], ms(300), S(3)).requests_sent(3);
}

/// A refresh whose request may have arrived (here: reset mid-answer) is not resent; the
/// fallback fails too; the held token (with its refresh token) stays and is still served.
#[test]
fn a_failed_refresh_and_a_failed_fallback_keep_the_held_token_usable() {
    let server = TokenServer::start();
    let c = client(&server);
    c.set_option("max_retries", "1").unwrap();
    let held = c.get_token(false).unwrap();
    let f = fail_with(&server, &c, json!([{"reset_after_bytes": 5, "count": 10}]));
    f.expect(FlxStatus::FLX_ERR_NETWORK, &["before a complete answer", "client_credentials", "after 2 attempts"], ms(100), S(3));
    assert_eq!(f.grants(), ["refresh_token", "client_credentials", "client_credentials"]);
    assert_eq!(f.requests[0]["form"]["refresh_token"], held.refresh_token.as_deref().unwrap());
    // The server is back: the next refresh does not resend a refresh token that may be spent.
    server.post_delete_requests();
    let (_, d) = c.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::New);
    assert_eq!(server.grants(), ["client_credentials"]);
}

// ---- error statuses -------------------------------------------------------------------------

#[test]
fn status_500_502_503_then_success_is_retried_with_backoff() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("max_retries", "3").unwrap();
    server.faults(json!([{"status": 500, "body": "oops"}, {"status": 502, "body": ""}, {"status": 503, "body": "{\"error\":\"unavailable\"}"}]));
    let t0 = Instant::now();
    let t = c.get_token(false).unwrap();
    let took = t0.elapsed();
    // Backoff 100 + 200 + 400 ms.
    assert!(took >= ms(700) && took < S(3), "{took:?}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    let statuses: Vec<Value> = reqs.iter().map(|r| r["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(502), json!(503), json!(200)]);
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
    assert_eq!(c.held_token().unwrap().access_token, t.access_token);
}

#[test]
fn status_503_that_persists_is_reported_after_the_retries() {
    let server = TokenServer::start();
    let c = held_client(&server);
    let f = fail_with(&server, &c, json!([{"status": 503, "body": "{\"error\":\"unavailable\",\"message\":\"maintenance\"}", "count": 9}]));
    f.expect(FlxStatus::FLX_ERR_HTTP_STATUS, &["HTTP 503", "unavailable: maintenance", "after 3 attempts"], ms(300), S(3)).requests_sent(3);
    assert_eq!(f.error.http_status, Some(503));
}

#[test]
fn status_429_retry_after_is_honoured() {
    let server = TokenServer::start();
    let c = held_client(&server);
    server.faults(json!([{"status": 429, "retry_after": "1", "body": "{\"error\":\"slow_down\"}"}]));
    let t0 = Instant::now();
    let t = c.get_token(false).unwrap();
    let took = t0.elapsed();
    assert!(took >= ms(950) && took < S(3), "{took:?}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1]["received_ms"].as_u64().unwrap() - reqs[0]["received_ms"].as_u64().unwrap() >= 950);
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
}

#[test]
fn status_429_retry_after_beyond_the_cap_waits_the_cap_then_gives_up() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("max_retries", "1").unwrap();
    // An hour is asked for: the wait is capped at 5 s, then the retries run out.
    let f = fail_with(&server, &c, json!([{"status": 429, "retry_after": "3600", "body": "{\"error\":\"slow_down\"}", "count": 5}]));
    f.expect(FlxStatus::FLX_ERR_HTTP_STATUS, &["HTTP 429", "slow_down", "after 2 attempts"], ms(4900), ms(6500)).requests_sent(2);
}

/// Retry-After as an HTTP date the server may send in any form: a date far in the future must
/// not crash the call (the wait is capped), a date in the past means no wait.
#[test]
fn status_429_retry_after_dates_past_and_absurd_are_handled() {
    let server = TokenServer::start();
    let c = held_client(&server);
    server.faults(json!([{"status": 429, "retry_after": "Sun, 06 Nov 1994 08:49:37 GMT"}]));
    let t0 = Instant::now();
    c.get_token(false).unwrap();
    assert!(t0.elapsed() < ms(900), "a past date means no wait: {:?}", t0.elapsed());

    server.faults(json!([{"status": 429, "retry_after": "Fri, 31 Dec 999999999999999999 23:59:59 GMT"}]));
    let t0 = Instant::now();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.get_token(false)));
    let took = t0.elapsed();
    let r = r.unwrap_or_else(|_| panic!("an absurd Retry-After date panicked inside get_token (FLX_ERR_INTERNAL through C)"));
    let t = r.unwrap_or_else(|e| panic!("an absurd Retry-After date failed the call: {e}"));
    assert!(took <= ms(5600), "the wait is capped at 5 s: {took:?}");
    assert_eq!(&t.access_token, server.issued_access_tokens().last().unwrap());
}

/// RFC 6749 and Flexiti-shaped error bodies on 400/401/409: credential refusals are
/// FLX_ERR_AUTH_REJECTED, other client errors FLX_ERR_HTTP_STATUS; never retried.
#[test]
fn status_400_401_409_with_rfc6749_and_flexiti_bodies() {
    let server = TokenServer::start();
    let c = held_client(&server);
    let flexiti_role = json!({"url": "/flexiti/online-api/oauth/token", "message": "Account not provisioned", "error": "invalid_role"}).to_string();
    let flexiti_input = json!({"url": "/flexiti/online-api/oauth/token", "message": "Some inputs are wrong!", "error": "wrong_input",
        "field_errors": [{"param": "client_id", "msg": "invalid", "value": "x"}]}).to_string();
    let rows: Vec<(u16, String, Value, FlxStatus, Vec<&str>)> = vec![
        (400, json!({"error": "invalid_client", "error_description": "Bad client credentials"}).to_string(), json!({}),
            FlxStatus::FLX_ERR_AUTH_REJECTED, vec!["HTTP 400", "invalid_client: Bad client credentials"]),
        (401, json!({"error": "invalid_client"}).to_string(), json!({"www-authenticate": "Basic realm=\"oauth\""}),
            FlxStatus::FLX_ERR_AUTH_REJECTED, vec!["HTTP 401", "invalid_client"]),
        (401, json!({"error": "unauthorized_client", "error_description": "client may not use this grant"}).to_string(), json!({}),
            FlxStatus::FLX_ERR_AUTH_REJECTED, vec!["HTTP 401", "unauthorized_client: client may not use this grant"]),
        (400, json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}).to_string(), json!({}),
            FlxStatus::FLX_ERR_AUTH_REJECTED, vec!["HTTP 400", "invalid_grant: Invalid refresh token"]),
        (409, flexiti_role, json!({}), FlxStatus::FLX_ERR_AUTH_REJECTED, vec!["HTTP 409", "invalid_role: Account not provisioned"]),
        (400, json!({"error": "invalid_request", "error_description": "Missing or invalid grant_type"}).to_string(), json!({}),
            FlxStatus::FLX_ERR_HTTP_STATUS, vec!["HTTP 400", "invalid_request: Missing or invalid grant_type"]),
        (400, json!({"error": "invalid_scope"}).to_string(), json!({}), FlxStatus::FLX_ERR_HTTP_STATUS, vec!["HTTP 400", "invalid_scope"]),
        (400, flexiti_input, json!({}), FlxStatus::FLX_ERR_HTTP_STATUS, vec!["HTTP 400", "wrong_input: Some inputs are wrong!"]),
        (401, String::new(), json!({}), FlxStatus::FLX_ERR_HTTP_STATUS, vec!["HTTP 401"]),
        (401, "<html><body>Unauthorized</body></html>".into(), json!({"content-type": "text/html"}), FlxStatus::FLX_ERR_HTTP_STATUS, vec!["HTTP 401"]),
        (409, json!({"message": "Conflict"}).to_string(), json!({}), FlxStatus::FLX_ERR_HTTP_STATUS, vec!["HTTP 409", "Conflict"]),
    ];
    for (status, body, headers, code, fragments) in rows {
        let f = fail_with(&server, &c, json!([{"status": status, "body": body, "headers": headers, "count": 5}]));
        f.expect(code, &fragments, ms(0), S(2)).requests_sent(1);
        assert_eq!(f.error.http_status, Some(status));
        assert_eq!(f.grants(), ["client_credentials"]);
    }
}

/// On the refresh grant a 4xx means "fall back once to client_credentials"; when that is
/// refused too, the fallback's refusal is reported and the held token stays.
#[test]
fn a_refused_refresh_and_a_refused_fallback_report_the_fallback() {
    let server = TokenServer::start();
    let c = client(&server);
    let held = c.get_token(false).unwrap();
    let f = fail_with(&server, &c, json!([
        {"grant_type": "refresh_token", "status": 400, "body": "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token\"}"},
        {"grant_type": "client_credentials", "status": 401, "body": "{\"error\":\"invalid_client\",\"error_description\":\"Bad client credentials\"}"}
    ]));
    f.expect(FlxStatus::FLX_ERR_AUTH_REJECTED, &["HTTP 401", "invalid_client", "client_credentials grant"], ms(0), S(2)).requests_sent(2);
    assert_eq!(f.grants(), ["refresh_token", "client_credentials"]);
    assert_eq!(c.held_token().unwrap(), held);
}

// ---- 200 answers that are not a token -------------------------------------------------------

#[test]
fn status_200_bodies_that_are_not_a_usable_token() {
    let server = TokenServer::start();
    let c = held_client(&server);
    let json_ct = json!({"content-type": "application/json"});
    let rows: Vec<(&str, String, Value, &str)> = vec![
        ("HTML", "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>".into(), json!({"content-type": "text/html"}), "HTML"),
        ("empty body", String::new(), json_ct.clone(), "empty"),
        ("whitespace body", " \r\n ".into(), json_ct.clone(), "empty"),
        ("truncated JSON", "{\"access_token\":\"abc\",\"expires_in\":12".into(), json_ct.clone(), "truncated"),
        ("not JSON", "access_token=abc&expires_in=1200".into(), json_ct.clone(), "not valid JSON"),
        ("JSON array", "[{\"access_token\":\"abc\"}]".into(), json_ct.clone(), "array"),
        ("JSON string", "\"abc\"".into(), json_ct.clone(), "string"),
        ("no access_token", "{\"token_type\":\"bearer\",\"expires_in\":1200}".into(), json_ct.clone(), "no access_token"),
        ("empty access_token", "{\"access_token\":\"\"}".into(), json_ct.clone(), "empty access_token"),
        ("access_token with a newline", "{\"access_token\":\"ab\\ncd\"}".into(), json_ct.clone(), "control characters"),
        ("access_token null", "{\"access_token\":null}".into(), json_ct.clone(), "access_token of type null"),
        ("access_token number", "{\"access_token\":12345}".into(), json_ct.clone(), "access_token of type number"),
        ("access_token object", "{\"access_token\":{\"v\":\"a\"}}".into(), json_ct.clone(), "access_token of type object"),
        ("refresh_token number", "{\"access_token\":\"a\",\"refresh_token\":7}".into(), json_ct.clone(), "refresh_token of type number"),
        ("refresh_token array", "{\"access_token\":\"a\",\"refresh_token\":[\"r\"]}".into(), json_ct.clone(), "refresh_token of type array"),
        ("token_type number", "{\"access_token\":\"a\",\"token_type\":1}".into(), json_ct.clone(), "token_type of type number"),
        ("expires_in word", "{\"access_token\":\"a\",\"expires_in\":\"soon\"}".into(), json_ct.clone(), "expires_in of type string"),
        ("expires_in fraction", "{\"access_token\":\"a\",\"expires_in\":1.5}".into(), json_ct.clone(), "expires_in of type number"),
        ("expires_in boolean", "{\"access_token\":\"a\",\"expires_in\":true}".into(), json_ct.clone(), "expires_in of type boolean"),
        ("expires_in negative", "{\"access_token\":\"a\",\"expires_in\":-5}".into(), json_ct.clone(), "expires_in -5"),
        ("expires_in zero", "{\"access_token\":\"a\",\"expires_in\":0}".into(), json_ct.clone(), "expires_in 0"),
        ("expires_in enormous", "{\"access_token\":\"a\",\"expires_in\":99999999999}".into(), json_ct.clone(), "expires_in 99999999999"),
        ("expires_in beyond i64", "{\"access_token\":\"a\",\"expires_in\":1e300}".into(), json_ct.clone(), "expires_in"),
        ("expires_in negative string", "{\"access_token\":\"a\",\"expires_in\":\"-1\"}".into(), json_ct.clone(), "expires_in -1"),
    ];
    for (what, body, headers, hint) in rows {
        let f = fail_with(&server, &c, json!([{"status": 200, "body": body, "headers": headers}]));
        assert_eq!(f.error.status, FlxStatus::FLX_ERR_BAD_RESPONSE, "{what}: {}", f.error.message);
        assert!(f.error.message.contains(hint), "{what}: lacks {hint:?}: {}", f.error.message);
        assert!(f.error.message.contains("HTTP 200"), "{what}: {}", f.error.message);
        assert_eq!(f.count(), 1, "{what}: a bad answer is not retried");
        assert!(f.elapsed < S(2), "{what}: {:?}", f.elapsed);
    }
}

/// Tolerated: expires_in as a numeric string (taken as a number), an unknown extra field, and
/// an upper-case token_type.
#[test]
fn status_200_with_expires_in_as_a_numeric_string_is_accepted_as_a_number() {
    let server = TokenServer::start();
    let c = held_client(&server);
    server.config(json!({"extra_fields": {"expires_in": "900", "token_type": "Bearer", "jti": {"n": 1}}}));
    let t = c.get_token(false).unwrap();
    assert_eq!(t.expires_in, 900);
    let j = token_json(&t);
    assert_eq!(j["expires_in"], 900, "the token JSON states the lifetime as a number");
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["jti"]["n"], 1);
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
}

#[test]
fn a_50_mib_body_is_refused_at_the_1_mib_cap_without_reading_it() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("timeout_ms", "10000").unwrap();
    // Sent one byte per millisecond: reading it all would take 14 hours.
    let f = fail_with(&server, &c, json!([{"oversize_bytes": 50 * 1024 * 1024, "trickle_ms": 1}]));
    f.expect(FlxStatus::FLX_ERR_BAD_RESPONSE, &["larger than 1048576 bytes"], ms(0), S(2)).requests_sent(1);
    // The same without the trickle: refused as quickly, and the server sees the client go away.
    let f = fail_with(&server, &c, json!([{"oversize_bytes": 50 * 1024 * 1024}]));
    f.expect(FlxStatus::FLX_ERR_BAD_RESPONSE, &["larger than 1048576 bytes"], ms(0), S(2)).requests_sent(1);
}

/// The cap is exact: a token response of exactly 1 MiB is accepted, one byte more is refused.
#[test]
fn the_body_cap_is_exactly_1_mib() {
    let server = TokenServer::start();
    let c = held_client(&server);
    c.set_option("timeout_ms", "10000").unwrap();
    // The size of a normal body, minus its 32-character access token, is the overhead.
    let probe = client(&server).get_token(false).unwrap();
    let overhead = serde_json::to_string(&probe.response).unwrap().len() - 32;
    let cap = 1024 * 1024;
    server.config(json!({"token_bytes": cap - overhead}));
    let t = c.get_token(false).expect("a body of exactly 1 MiB is accepted");
    assert_eq!(t.access_token.len(), cap - overhead);
    server.config(json!({"token_bytes": cap - overhead + 1}));
    c.import_session(&held_session(HELD_ACCESS, None)).unwrap();
    let f = fail_with(&server, &c, json!([]));
    f.expect(FlxStatus::FLX_ERR_BAD_RESPONSE, &["larger than 1048576 bytes"], ms(0), S(3)).requests_sent(1);
}

// ---- redirects ------------------------------------------------------------------------------

#[test]
fn redirects_to_another_host_are_never_followed() {
    let server = TokenServer::start();
    let other = TokenServer::start();
    let c = held_client(&server);
    for status in [301, 302, 303, 307, 308] {
        let location = format!("{}flexiti/online-api/oauth/token", other.url);
        let f = fail_with(&server, &c, json!([{"status": status, "headers": {"location": location}, "body": ""}]));
        f.expect(FlxStatus::FLX_ERR_HTTP_STATUS, &[&format!("HTTP {status}"), "redirect, not followed"], ms(0), S(2)).requests_sent(1);
        assert_eq!(f.error.http_status, Some(status));
    }
    assert_eq!(other.stats()["token_requests"], 0, "credentials never went to the other host");
    assert!(other.requests().is_empty());
}
