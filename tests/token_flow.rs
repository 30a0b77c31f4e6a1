//! The token flow of the Flexiti guide against a real token server on loopback: what goes on the
//! wire, what comes back, what state remains.

mod common;
use common::*;
use flexiti_auth::{Decision, FlxStatus};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn session(access: &str, refresh: Option<&str>, created_at: i64, expires_in: i64) -> String {
    let mut token = json!({"token_type": "bearer", "access_token": access, "expires_in": expires_in});
    if let Some(r) = refresh {
        token["refresh_token"] = json!(r);
    }
    json!({"token": token, "created_at": created_at, "expires_in": expires_in}).to_string()
}

#[test]
fn first_call_sends_client_credentials_and_returns_every_field_plus_created_at() {
    let server = TokenServer::start();
    let client = client(&server);
    let before = unix_now();
    let (token, decision) = client.get_token_with_decision(false).unwrap();
    let after = unix_now();
    assert_eq!(decision, Decision::New);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/flexiti/online-api/oauth/token");
    assert!(r["headers"]["content-type"].as_str().unwrap().starts_with("application/x-www-form-urlencoded"));
    let form = r["form"].as_object().unwrap();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert!(!form.contains_key("refresh_token"));
    assert!(!form.contains_key("scope"));
    let reference = r["headers"]["x-reference-id"].as_str().expect("x-reference-id header");
    assert_eq!(reference.len(), 36);
    assert_eq!(&reference[14..15], "4", "a version 4 UUID: {reference}");

    let j = token_json(&token);
    assert_eq!(j["token_type"], "bearer");
    assert_eq!(j["expires_in"], 1200);
    assert_eq!(j["access_token"], server.issued_access_tokens()[0].as_str());
    assert!(j["refresh_token"].is_string());
    let created = j["created_at"].as_i64().unwrap();
    assert!(before <= created && created <= after);
}

#[test]
fn each_request_carries_a_fresh_reference_id() {
    let server = TokenServer::start();
    let client = client(&server);
    client.get_token(false).unwrap();
    client.get_token(false).unwrap();
    let reqs = server.requests();
    assert_ne!(reqs[0]["headers"]["x-reference-id"], reqs[1]["headers"]["x-reference-id"]);
}

#[test]
fn use_cache_returns_a_valid_token_without_a_request() {
    let server = TokenServer::start();
    let client = client(&server);
    let first = client.get_token(false).unwrap();
    let (cached, decision) = client.get_token_with_decision(true).unwrap();
    assert_eq!(decision, Decision::Cached);
    assert_eq!(cached.access_token, first.access_token);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn without_cache_a_valid_token_is_refreshed_with_its_refresh_token() {
    let server = TokenServer::start();
    let client = client(&server);
    let first = client.get_token(false).unwrap();
    let (second, decision) = client.get_token_with_decision(false).unwrap();
    assert_eq!(decision, Decision::Refresh);
    assert_ne!(second.access_token, first.access_token);
    let forms = server.forms();
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[1]["grant_type"], "refresh_token");
    assert_eq!(forms[1]["refresh_token"], first.refresh_token.as_deref().unwrap());
    assert_eq!(forms[1]["client_id"], CLIENT_ID);
    assert_eq!(forms[1]["client_secret"], CLIENT_SECRET);
    // Rotation: the third call uses the second response's refresh token.
    client.get_token(false).unwrap();
    assert_eq!(server.forms()[2]["refresh_token"], second.refresh_token.as_deref().unwrap());
}

/// Import a session whose age is `age` seconds (re-trying if the clock ticks in between).
fn decision_at_age(server: &TokenServer, client: &flexiti_auth::Client, age: i64, threshold: i64) -> Decision {
    loop {
        let n0 = server.requests().len();
        let now = unix_now();
        client.import_session(&session("imported-access", Some("imported-refresh"), now - age, 1200)).unwrap();
        let (_, d) = client.get_token_with_decision(true).unwrap();
        if unix_now() == now {
            let sent = server.requests().len() - n0;
            assert_eq!(sent, if d == Decision::Cached { 0 } else { 1 });
            let _ = threshold;
            return d;
        }
    }
}

#[test]
fn expiry_boundary_on_imported_sessions() {
    let server = TokenServer::start();
    let client = client(&server);
    // 1200 s lifetime, 60 s threshold: usable through age 1139, expired at 1140.
    assert_eq!(decision_at_age(&server, &client, 1139, 60), Decision::Cached);
    assert_eq!(decision_at_age(&server, &client, 1140, 60), Decision::New);
    assert_eq!(server.grants().last().unwrap(), "client_credentials");
    // A configurable threshold moves the boundary.
    client.set_option("expiration_threshold_secs", "300").unwrap();
    assert_eq!(decision_at_age(&server, &client, 899, 300), Decision::Cached);
    assert_eq!(decision_at_age(&server, &client, 900, 300), Decision::New);
}

#[test]
fn an_expired_token_is_replaced_through_client_credentials_even_without_cache() {
    let server = TokenServer::start();
    let client = client(&server);
    client.import_session(&session("old-access", Some("old-refresh"), unix_now() - 2000, 1200)).unwrap();
    let (t, d) = client.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::New);
    assert_eq!(server.grants(), ["client_credentials"]);
    assert!(!server.forms()[0].as_object().unwrap().contains_key("refresh_token"));
    assert_ne!(t.access_token, "old-access");
}

#[test]
fn a_refused_refresh_falls_back_once_to_client_credentials() {
    let server = TokenServer::start();
    let client = client(&server);
    client.get_token(false).unwrap();
    server.expire_all(); // the server no longer accepts the refresh token
    let (t, d) = client.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::Fallback);
    assert_eq!(server.grants(), ["client_credentials", "refresh_token", "client_credentials"]);
    assert_eq!(t.access_token, server.issued_access_tokens()[1]);
}

#[test]
fn refresh_4xx_other_than_408_and_429_falls_back_but_fallback_failure_is_reported() {
    let server = TokenServer::start();
    let client = client(&server);
    client.set_option("max_retries", "0").unwrap();
    let held = client.get_token(false).unwrap();
    server.faults(json!([
        {"grant_type": "refresh_token", "status": 403, "body": "{\"error\":\"access_denied\"}"},
        {"grant_type": "client_credentials", "status": 409, "body": "{\"url\":\"/flexiti/online-api/oauth/token\",\"message\":\"Account not provisioned\",\"error\":\"invalid_role\"}"}
    ]));
    let e = client.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_AUTH_REJECTED);
    assert!(e.message.contains("invalid_role") && e.message.contains("Account not provisioned"), "{}", e.message);
    assert_eq!(server.grants(), ["client_credentials", "refresh_token", "client_credentials"]);
    assert_eq!(client.held_token().unwrap(), held, "a failure leaves the held token as it was");
}

#[test]
fn refresh_429_is_retried_not_fallen_back() {
    let server = TokenServer::start();
    let client = client(&server);
    client.get_token(false).unwrap();
    server.faults(json!([{"grant_type": "refresh_token", "status": 429, "retry_after": "0", "body": "{\"error\":\"slow_down\"}"}]));
    let (_, d) = client.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::Refresh);
    assert_eq!(server.grants(), ["client_credentials", "refresh_token", "refresh_token"]);
    let forms = server.forms();
    assert_eq!(forms[1]["refresh_token"], forms[2]["refresh_token"], "an answered 429 did not consume the token");
}

#[test]
fn a_token_without_refresh_token_is_replaced_by_client_credentials() {
    let server = TokenServer::start();
    let client = client(&server);
    client.import_session(&session("no-refresh", None, unix_now(), 1200)).unwrap();
    let (_, d) = client.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::New);
    assert_eq!(server.grants(), ["client_credentials"]);
}

#[test]
fn missing_expires_in_means_1200_and_the_token_json_says_so() {
    let server = TokenServer::start();
    server.config(json!({"expires_in": null}));
    let client = client(&server);
    let t = client.get_token(false).unwrap();
    assert_eq!(t.expires_in, 1200);
    assert_eq!(token_json(&t)["expires_in"], 1200);
    let s: Value = serde_json::from_str(&client.export_session().unwrap()).unwrap();
    assert_eq!(s["expires_in"], 1200);
}

#[test]
fn extra_response_fields_are_kept() {
    let server = TokenServer::start();
    server.config(json!({"extra_fields": {"scope": "merchant", "merchant_id": 42}}));
    let client = client(&server);
    let j = token_json(&client.get_token(false).unwrap());
    assert_eq!(j["merchant_id"], 42);
    assert_eq!(j["scope"], "merchant");
}

#[test]
fn scope_and_token_path_options_go_on_the_wire() {
    let server = TokenServer::start();
    let client = client(&server);
    client.set_option("scope", "merchant").unwrap();
    client.set_option("token_path", "flexiti/pos-api/v2.5/oauth/token").unwrap();
    client.get_token(false).unwrap();
    client.get_token(false).unwrap();
    let reqs = server.requests();
    for r in &reqs {
        assert_eq!(r["path"], "/flexiti/pos-api/v2.5/oauth/token");
        assert_eq!(r["form"]["scope"], "merchant");
    }
}

#[test]
fn api_url_with_or_without_trailing_slash_is_the_same_url() {
    let server = TokenServer::start();
    let bare = server.url.trim_end_matches('/').to_owned();
    for url in [server.url.clone(), bare] {
        let c = flexiti_auth::Client::new(&url, CLIENT_ID, CLIENT_SECRET).unwrap();
        c.set_option("proxy", "none").unwrap();
        c.get_token(false).unwrap();
    }
    let paths: Vec<Value> = server.requests().iter().map(|r| r["path"].clone()).collect();
    assert_eq!(paths, [json!("/flexiti/online-api/oauth/token"), json!("/flexiti/online-api/oauth/token")]);
}

#[test]
fn session_round_trip_between_two_clients() {
    let server = TokenServer::start();
    let a = client(&server);
    let token = a.get_token(false).unwrap();
    let exported = a.export_session().unwrap();
    let s: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(s["created_at"], token.created_at);
    assert_eq!(s["expires_in"], 1200);
    assert_eq!(s["token"]["access_token"], token.access_token.as_str());

    let b = client(&server);
    b.import_session(&exported).unwrap();
    let (cached, d) = b.get_token_with_decision(true).unwrap();
    assert_eq!(d, Decision::Cached);
    assert_eq!(cached.access_token, token.access_token);
    assert_eq!(cached.created_at, token.created_at);
    assert_eq!(server.requests().len(), 1);
    // b refreshes with a's refresh token; the rotated state then travels back to a.
    b.get_token(false).unwrap();
    assert_eq!(server.forms()[1]["refresh_token"], token.refresh_token.as_deref().unwrap());
    a.import_session(&b.export_session().unwrap()).unwrap();
    assert_eq!(a.get_token(true).unwrap().access_token, b.get_token(true).unwrap().access_token);
}

#[test]
fn export_without_a_token_is_a_session_error_and_clear_forgets() {
    let server = TokenServer::start();
    let client = client(&server);
    assert_eq!(client.export_session().unwrap_err().status, FlxStatus::FLX_ERR_SESSION);
    client.get_token(false).unwrap();
    client.clear();
    assert_eq!(client.export_session().unwrap_err().status, FlxStatus::FLX_ERR_SESSION);
    let (_, d) = client.get_token_with_decision(true).unwrap();
    assert_eq!(d, Decision::New);
    assert_eq!(server.grants(), ["client_credentials", "client_credentials"]);
}

#[test]
fn bad_sessions_are_refused_and_leave_the_token() {
    let server = TokenServer::start();
    let client = client(&server);
    let held = client.get_token(false).unwrap();
    let now = unix_now();
    for bad in [
        "not json".to_owned(),
        "{\"token\":".to_owned(),
        "[1,2]".to_owned(),
        json!({"token": {"access_token": "a"}, "created_at": now}).to_string(),
        json!({"token": {"refresh_token": "r"}, "created_at": now, "expires_in": 1200}).to_string(),
        json!({"token": {"access_token": "a"}, "created_at": now + 100_000, "expires_in": 1200}).to_string(),
        json!({"token": {"access_token": "a"}, "created_at": "yesterday", "expires_in": 1200}).to_string(),
        format!("{{\"token\":{{\"access_token\":\"{}\"}},\"created_at\":1,\"expires_in\":1200}}", "x".repeat(2 << 20)),
    ] {
        let e = client.import_session(&bad).unwrap_err();
        assert_eq!(e.status, FlxStatus::FLX_ERR_SESSION, "{}", &bad[..bad.len().min(80)]);
    }
    assert_eq!(client.held_token().unwrap(), held);
}

#[test]
fn wrong_client_secret_is_auth_rejected_once_without_leaking_it() {
    let server = TokenServer::start();
    let secret = "wrong-secret-8c1f0e3b9a";
    let client = flexiti_auth::Client::new(&server.url, CLIENT_ID, secret).unwrap();
    client.set_option("proxy", "none").unwrap();
    let e = client.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_AUTH_REJECTED);
    assert_eq!(e.http_status, Some(400));
    assert!(e.message.contains("invalid_client"), "{}", e.message);
    assert!(!e.message.contains(secret));
    assert_eq!(server.requests().len(), 1, "a rejection is not retried");
}

#[test]
fn an_echoed_secret_is_redacted_from_messages() {
    let server = TokenServer::start();
    let client = client(&server);
    let held = client.get_token(false).unwrap();
    let rt = held.refresh_token.clone().unwrap();
    server.faults(json!([
        {"status": 400, "body": json!({"error": "invalid_request", "error_description": format!("bad {CLIENT_SECRET} {rt} {}", held.access_token)}).to_string(), "count": 2}
    ]));
    let e = client.get_token(false).unwrap_err();
    assert!(!e.message.contains(CLIENT_SECRET) && !e.message.contains(&rt) && !e.message.contains(&held.access_token), "{}", e.message);
    assert!(e.message.contains("[redacted]"));
}

#[test]
fn transient_5xx_is_retried_then_succeeds() {
    let server = TokenServer::start();
    let client = client(&server);
    server.faults(json!([{"status": 500, "body": "oops"}, {"status": 502, "body": ""}, {"status": 503}]));
    client.set_option("max_retries", "3").unwrap();
    let t = client.get_token(false).unwrap();
    assert_eq!(server.requests().len(), 4);
    assert_eq!(t.access_token, server.issued_access_tokens()[0]);
}

#[test]
fn retries_run_out_after_max_retries_plus_one_attempts() {
    let server = TokenServer::start();
    let client = client(&server);
    let held = client.get_token(false).unwrap();
    server.faults(json!([{"status": 503, "body": "{\"error\":\"unavailable\",\"message\":\"maintenance\"}", "count": 10}]));
    let e = client.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_HTTP_STATUS);
    assert_eq!(e.http_status, Some(503));
    assert!(e.message.contains("503") && e.message.contains("maintenance"), "{}", e.message);
    assert_eq!(server.requests().len(), 1 + 3);
    assert_eq!(client.held_token().unwrap(), held);
}

#[test]
fn retry_after_is_honoured() {
    let server = TokenServer::start();
    let client = client(&server);
    server.faults(json!([{"status": 429, "retry_after": "1", "body": "{\"error\":\"slow_down\"}"}]));
    let t0 = Instant::now();
    client.get_token(false).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(950), "waited {:?}", t0.elapsed());
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1]["received_ms"].as_u64().unwrap() - reqs[0]["received_ms"].as_u64().unwrap() >= 950);
}

#[test]
fn non_json_and_unusable_answers_are_bad_responses_not_retried() {
    let server = TokenServer::start();
    let client = client(&server);
    let held = client.get_token(false).unwrap();
    for (body, hint) in [
        ("<html><body>Gateway</body></html>", "HTML"),
        ("", "empty"),
        ("{\"access_token\": \"abc\"", "truncated"),
        ("{\"token_type\":\"bearer\",\"expires_in\":1200}", "no access_token"),
        ("{\"access_token\":\"a\",\"expires_in\":-5}", "expires_in"),
        ("{\"access_token\":\"a\",\"expires_in\":99999999999}", "expires_in"),
        ("{\"access_token\":[1]}", "access_token"),
    ] {
        let n0 = server.requests().len();
        server.faults(json!([{"status": 200, "body": body, "headers": {"content-type": "application/json"}}]));
        let e = client.get_token(false).unwrap_err();
        assert_eq!(e.status, FlxStatus::FLX_ERR_BAD_RESPONSE, "{hint}: {}", e.message);
        assert!(e.message.contains(hint), "{hint}: {}", e.message);
        assert_eq!(server.requests().len() - n0, 1, "{hint}: not retried");
        assert_eq!(client.held_token().unwrap(), held, "{hint}");
    }
}

#[test]
fn an_oversized_body_is_refused_at_the_cap() {
    let server = TokenServer::start();
    let client = client(&server);
    server.faults(json!([{"oversize_bytes": 50 * 1024 * 1024}]));
    let t0 = Instant::now();
    let e = client.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_BAD_RESPONSE, "{}", e.message);
    assert!(e.message.contains("larger than"), "{}", e.message);
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(client.held_token().is_none());
}

#[test]
fn a_hanging_server_times_out_within_the_bound() {
    let server = TokenServer::start();
    let client = client(&server);
    client.set_option("timeout_ms", "300").unwrap();
    client.set_option("max_retries", "1").unwrap();
    server.faults(json!([{"hang": true, "count": 5}]));
    let t0 = Instant::now();
    let e = client.get_token(false).unwrap_err();
    let took = t0.elapsed();
    assert_eq!(e.status, FlxStatus::FLX_ERR_NETWORK, "{}", e.message);
    assert!(e.message.contains("timed out"), "{}", e.message);
    assert_eq!(server.requests().len(), 2);
    assert!(took >= Duration::from_millis(600) && took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn connection_refused_is_a_network_error() {
    let port = closed_port();
    let client = flexiti_auth::Client::new(&format!("http://127.0.0.1:{port}/"), CLIENT_ID, CLIENT_SECRET).unwrap();
    client.set_option("proxy", "none").unwrap();
    client.set_option("max_retries", "1").unwrap();
    let e = client.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_NETWORK);
    assert!(e.message.contains(&port.to_string()), "the message names the URL: {}", e.message);
}

#[test]
fn a_redirect_is_not_followed() {
    let server = TokenServer::start();
    let other = TokenServer::start();
    let client = client(&server);
    server.faults(json!([{"status": 307, "headers": {"location": format!("{}flexiti/online-api/oauth/token", other.url)}, "body": ""}]));
    let e = client.get_token(false).unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_HTTP_STATUS);
    assert!(e.message.contains("redirect"), "{}", e.message);
    assert_eq!(other.requests().len(), 0, "credentials never went to the other host");
}

#[test]
fn a_connection_reset_mid_body_is_retried() {
    let server = TokenServer::start();
    let client = client(&server);
    server.faults(json!([{"reset_after_bytes": 10}]));
    let (t, d) = client.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::New);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(t.access_token, server.issued_access_tokens().last().unwrap().as_str());
}

#[test]
fn a_refresh_with_unknown_outcome_is_never_resent() {
    let server = TokenServer::start();
    let client = client(&server);
    client.set_option("timeout_ms", "400").unwrap();
    let first = client.get_token(false).unwrap();
    // The refresh request reaches the server, which never answers: the refresh token may
    // have been consumed, so it is not sent again; a new token comes through client_credentials.
    server.faults(json!([{"grant_type": "refresh_token", "hang": true}]));
    let (_, d) = client.get_token_with_decision(false).unwrap();
    assert_eq!(d, Decision::Fallback);
    let forms = server.forms();
    let sent_refresh: Vec<&Value> = forms.iter().filter(|f| f["grant_type"] == "refresh_token").collect();
    assert_eq!(sent_refresh.len(), 1);
    assert_eq!(sent_refresh[0]["refresh_token"], first.refresh_token.as_deref().unwrap());
}

#[test]
fn concurrent_callers_share_one_request() {
    let server = TokenServer::start();
    let client = Arc::new(client(&server));
    server.faults(json!([{"delay_ms": 300}]));
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (c, b) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                c.get_token(false).unwrap().access_token.clone()
            })
        })
        .collect();
    let tokens: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "one request for 16 callers: {:?}", server.grants());
    assert!(tokens.iter().all(|t| *t == tokens[0]));
}

#[test]
fn concurrent_mixed_calls_only_return_issued_tokens_and_never_reuse_a_refresh_token() {
    let server = TokenServer::start();
    let client = Arc::new(client(&server));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let c = client.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for j in 0..40 {
                    match (i + j) % 5 {
                        0 => seen.push(c.get_token(false).unwrap().access_token.clone()),
                        4 if j % 7 == 0 => c.clear(),
                        _ => seen.push(c.get_token(true).unwrap().access_token.clone()),
                    }
                }
                seen
            })
        })
        .collect();
    let returned: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let issued = server.issued_access_tokens();
    for seen in returned {
        for t in seen {
            assert!(issued.contains(&t), "token {t} was not issued by the server");
        }
    }
    let forms = server.forms();
    let mut refresh: Vec<&str> = forms.iter().filter_map(|f| f["refresh_token"].as_str()).collect();
    let n = refresh.len();
    refresh.sort();
    refresh.dedup();
    assert_eq!(refresh.len(), n, "a refresh token was sent twice");
    assert!(forms.iter().all(|f| f["grant_type"] != "refresh_token") || n > 0);
}

#[test]
fn options_are_validated_by_name() {
    let server = TokenServer::start();
    let client = client(&server);
    let e = client.set_option("timeout", "5").unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    assert!(e.message.contains("timeout"));
    let e = client.set_option("max_retries", "many").unwrap_err();
    assert!(e.message.contains("max_retries"));
    assert_eq!(client.options().max_retries, 2);
}

#[test]
fn http_is_refused_for_non_loopback_hosts() {
    let e = flexiti_auth::Client::new("http://posapi.flexiti.fi/", CLIENT_ID, CLIENT_SECRET).err().unwrap();
    assert_eq!(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    assert!(flexiti_auth::Client::new("https://posapi.flexiti.fi/", CLIENT_ID, CLIENT_SECRET).is_ok());
    assert!(flexiti_auth::Client::new("https://posapi.flexiti.fi/", "", CLIENT_SECRET).is_err());
    assert!(flexiti_auth::Client::new("https://posapi.flexiti.fi/", CLIENT_ID, "").is_err());
}
