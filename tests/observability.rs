//! Logging (levels, sinks, redaction) and counters, against the real token server.

mod common;
use common::*;
use flexiti_auth::log::Level;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;

fn capture(client: &flexiti_auth::Client) -> Arc<Mutex<Vec<(Level, String)>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    client.logger.set_callback(Some(Arc::new(move |level, line: &str| sink.lock().push((level, line.to_owned())))));
    lines
}

#[test]
fn logging_is_off_by_default() {
    let server = TokenServer::start();
    let client = client(&server);
    let lines = capture(&client);
    client.get_token(false).unwrap();
    client.get_token(true).unwrap();
    assert!(lines.lock().is_empty());
}

#[test]
fn debug_lines_describe_each_exchange_without_secrets() {
    let server = TokenServer::start();
    let client = client(&server);
    client.set_option("log_level", "debug").unwrap();
    let lines = capture(&client);
    let first = client.get_token(false).unwrap();
    client.get_token(true).unwrap();
    let second = client.get_token(false).unwrap();
    server.expire_all();
    server.faults(json!([{"status": 503, "grant_type": "client_credentials", "retry_after": "0"}]));
    let third = client.get_token(false).unwrap();
    let text: Vec<String> = lines.lock().iter().map(|(_, l)| l.clone()).collect();
    let all = text.join("\n");
    for needle in [
        "grant_type=client_credentials attempt 1/3: HTTP 200",
        "decision=new",
        "decision=cached",
        "grant_type=refresh_token attempt 1/3: HTTP 200",
        "decision=refreshed",
        "falling back to client_credentials",
        "HTTP 503",
        "retry 1 in",
        "decision=fallback",
        "POST http://127.0.0.1:",
        " ms",
    ] {
        assert!(all.contains(needle), "no line with {needle:?} in:\n{all}");
    }
    for t in [&first, &second, &third] {
        assert!(!all.contains(&t.access_token), "an access token leaked:\n{all}");
        assert!(!all.contains(t.refresh_token.as_deref().unwrap()), "a refresh token leaked:\n{all}");
    }
    assert!(!all.contains(CLIENT_SECRET));
    assert!(text.iter().all(|l| l.contains(" flexiti-auth: ") && l.ends_with(|c: char| c != '\n')));
}

#[test]
fn levels_filter_lines() {
    let server = TokenServer::start();
    let client = client(&server);
    client.set_option("log_level", "error").unwrap();
    let lines = capture(&client);
    client.get_token(false).unwrap();
    assert!(lines.lock().is_empty(), "a success logs nothing at error level");
    client.set_option("max_retries", "0").unwrap();
    server.faults(json!([{"status": 500}]));
    assert!(client.get_token(false).is_err());
    let got = lines.lock().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Level::Error);
    assert!(got[0].1.contains("ERROR") && got[0].1.contains("FLX_ERR_HTTP_STATUS"));
    assert!(client.set_option("log_level", "chatty").is_err());
}

#[test]
fn log_file_gets_one_line_per_event() {
    let server = TokenServer::start();
    let client = client(&server);
    let path = std::env::temp_dir().join(format!("flx-log-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    client.set_option("log_file", path.to_str().unwrap()).unwrap();
    client.set_option("log_level", "info").unwrap();
    client.get_token(false).unwrap();
    client.get_token(false).unwrap();
    let content = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = content.lines().collect();
    assert_eq!(lines.len(), 2, "{content}");
    assert!(lines[0].contains("INFO flexiti-auth: decision=new"));
    assert!(lines[1].contains("decision=refreshed"));
    assert!(client.set_option("log_file", "/nonexistent-dir/x.log").unwrap_err().message.contains("log_file"));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn stats_count_what_happened() {
    let server = TokenServer::start();
    let client = client(&server);
    let s: Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(s["token_held"], false);
    assert_eq!(s["last_error_time"], Value::Null);
    client.get_token(false).unwrap();
    client.get_token(true).unwrap();
    client.get_token(true).unwrap();
    client.get_token(false).unwrap();
    server.faults(json!([{"status": 502, "retry_after": "0"}]));
    client.get_token(false).unwrap();
    client.set_option("max_retries", "0").unwrap();
    server.faults(json!([{"status": 500}]));
    client.get_token(false).unwrap_err();
    let s: Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(s["requests"]["client_credentials"], 1);
    assert_eq!(s["requests"]["refresh_token"], 4);
    assert_eq!(s["cache_hits"], 2);
    assert_eq!(s["new_tokens"], 1);
    assert_eq!(s["refreshes"], 2);
    assert_eq!(s["retries"], 1);
    assert_eq!(s["failures"]["FLX_ERR_HTTP_STATUS"], 1);
    assert_eq!(s["last_error_code"], 3);
    assert_eq!(s["last_error_name"], "FLX_ERR_HTTP_STATUS");
    assert!(s["last_error_time"].as_i64().unwrap() >= unix_now() - 5);
    assert_eq!(s["token_held"], true);
    assert_eq!(s["token_expires_in"], 1200);
    assert!(s["token_age_secs"].as_i64().unwrap() <= 2);
    assert!(s["token_valid_for_secs"].as_i64().unwrap() >= 1137);
}
