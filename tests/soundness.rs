//! Soundness findings of issue 15 that need a server with a chosen secret, or Rust-side checks:
//! secrets echoed back in any spelling (item 3), short secrets (item 3).
//! The C-side findings are in tests/c/test_soundness.c.

mod common;
mod reliability_support;
use common::*;
use reliability_support::*;
use serde_json::{json, Value};
use std::sync::Mutex;

const OK: i32 = 0;
const INVALID: i32 = 1;

/// A base64-style secret with the characters form encoding changes: + / = and a space.
const B64_SECRET: &str = "Zx9+Qw3/kP0=aB c7+/Yt8vLm2Qx+Rw5/Np1=Jk4 Hs6+Ud0/";

/// Every spelling of `s` the library produces or a server plausibly echoes.
fn spellings(s: &str) -> Vec<String> {
    let form = |lower: bool, plus: bool| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => (b as char).to_string(),
                b' ' if plus => "+".to_owned(),
                _ if lower => format!("%{b:02x}"),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let json = serde_json::to_string(s).unwrap();
    vec![
        s.to_owned(),
        form(false, true),
        form(true, true),
        form(false, false),
        form(true, false),
        json[1..json.len() - 1].to_owned(),
        json[1..json.len() - 1].replace('/', "\\/"),
        s.chars().map(|c| format!("\\u{:04X}", c as u32)).collect(),
    ]
}

/// No text holds any 10-byte piece of any spelling of any secret.
fn assert_clean(texts: &[(String, String)], secrets: &[&str]) {
    let mut leaks = Vec::new();
    for secret in secrets {
        for spelling in spellings(secret) {
            let b = spelling.as_bytes();
            for (at, text) in texts {
                if let Some(w) = b.windows(10.min(b.len())).find(|w| text.as_bytes().windows(w.len()).any(|x| x == *w)) {
                    leaks.push(format!("{at}: holds {:?} of the spelling {spelling:?}: {text}", String::from_utf8_lossy(w)));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{} leak(s):\n{}", leaks.len(), leaks.join("\n"));
}

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

extern "C" fn collect(_level: i32, line: *const std::ffi::c_char, _user: *mut std::ffi::c_void) {
    let line = unsafe { std::ffi::CStr::from_ptr(line) }.to_string_lossy().into_owned();
    LINES.lock().unwrap().push(line);
}

/// Item 3: a server, WAF or proxy that echoes the form body (or the secret alone) back in any
/// spelling — form-encoded with either hex case, `+` or `%20` for spaces, JSON-escaped,
/// `\u`-escaped, raw, or a part of it — never gets the secret into a message or a log line.
#[test]
fn a_secret_echoed_in_any_spelling_is_redacted() {
    let server = TokenServer::start_with(&["--client-secret", B64_SECRET]);
    let h = Handle::new(&server.url, CLIENT_ID, B64_SECRET);
    assert_eq!(h.set("max_retries", "0"), OK);
    assert_eq!(h.set("log_level", "debug"), OK);
    assert_eq!(flexiti_auth::ffi::flx_client_set_log_callback(h.0, Some(collect), std::ptr::null_mut()), OK);
    // The secret works: the server decoded what the library form-encoded.
    let held: Value = serde_json::from_str(&h.token(false).expect("a token with the base64-style secret")).unwrap();
    let access = held["access_token"].as_str().unwrap().to_owned();
    let refresh = held["refresh_token"].as_str().unwrap().to_owned();

    let mut texts = Vec::new();
    let mut bodies: Vec<String> = Vec::new();
    for spelling in spellings(B64_SECRET) {
        // The raw form body echoed as text, inside JSON, and the secret alone.
        bodies.push(format!("client_id={CLIENT_ID}&client_secret={spelling}&grant_type=refresh_token&refresh_token={refresh}"));
        bodies.push(json!({"error": "invalid_request", "error_description": format!("bad body: client_secret={spelling}")}).to_string());
        bodies.push(format!("{{\"error\":\"invalid_request\",\"error_description\":\"{spelling}\"}}"));
    }
    // A part of it: the first 20 characters, form-encoded, and the last 16, raw.
    bodies.push(format!("received client_secret={}…", &spellings(B64_SECRET)[1][..26]));
    bodies.push(format!("received …{}", &B64_SECRET[B64_SECRET.len() - 16..]));
    for (i, body) in bodies.iter().enumerate() {
        server.faults(json!([{"status": 400, "body": body, "count": 2}]));
        assert!(h.token(false).is_none(), "echo {i}: expected a failure");
        let (code, msg) = last_error();
        assert_ne!(code, OK);
        texts.push((format!("echo {i} message"), msg));
    }
    for (n, line) in LINES.lock().unwrap().iter().enumerate() {
        texts.push((format!("log line {n}"), line.clone()));
    }
    assert!(texts.iter().any(|(_, t)| t.contains("[redacted]")), "the echoes were redacted, not dropped");
    assert_clean(&texts, &[B64_SECRET, &access, &refresh]);
    h.free();
}

/// Item 3: a client_secret shorter than 4 bytes cannot be redacted without redacting ordinary
/// words: it is refused. 4 bytes are accepted and redacted wherever they occur.
#[test]
fn secrets_shorter_than_4_bytes_are_refused_and_4_bytes_are_redacted() {
    let server = TokenServer::start_with(&["--client-secret", "Ab+1"]);
    for short in ["a", "ab", "a+c"] {
        let c = flexiti_auth::ffi::flx_client_new(cstr(&server.url).as_ptr(), cstr(CLIENT_ID).as_ptr(), cstr(short).as_ptr());
        assert!(c.is_null(), "{short:?} accepted");
        let (code, msg) = last_error();
        assert_eq!(code, INVALID);
        assert!(msg.contains("client_secret") && msg.contains("at least 4"), "{msg}");
        assert!(!msg.contains(short) || short.len() < 2, "{msg}");
    }
    let h = Handle::new(&server.url, CLIENT_ID, "Ab+1");
    assert_eq!(h.set("max_retries", "0"), OK);
    assert!(h.token(false).is_some(), "{:?}", last_error());
    for echo in ["client_secret=Ab%2B1&x=1", "client_secret=Ab%2b1", "got Ab+1", "got Ab\\u002b1"] {
        let body = format!("{{\"error\":\"invalid_request\",\"error_description\":\"{echo}\"}}");
        server.faults(json!([{"status": 400, "body": body, "count": 2}]));
        assert!(h.token(false).is_none());
        let (_, msg) = last_error();
        assert!(msg.contains("[redacted]") && !msg.contains("Ab+1") && !msg.to_ascii_lowercase().contains("ab%2b1"), "{msg}");
    }
    h.free();
}

/// A token whose extra field is `n` empty arrays: about 3 bytes each in JSON, a 24-byte value
/// each in memory (plus the array growing): 1 MB of it used to become over 10 MB.
fn node_heavy_token(n: usize) -> Value {
    json!({"token_type": "bearer", "access_token": "node-heavy-access-token", "expires_in": 1200, "x": vec![json!([]); n]})
}

/// Item 7: sizes are capped on what parsing builds, not only on the input bytes: a valid
/// session or token response under 1 MiB that would expand to many MiB of values is refused
/// before it is parsed; one of normal shape at the 1 MiB limit is still accepted.
#[test]
fn a_session_or_token_that_expands_in_memory_is_refused() {
    let server = TokenServer::start();
    let h = Handle::new(&server.url, CLIENT_ID, CLIENT_SECRET);
    assert_eq!(h.set("max_retries", "0"), OK);
    let heavy = json!({"token": node_heavy_token(300_000), "created_at": unix_now(), "expires_in": 1200}).to_string();
    assert!(heavy.len() < 1024 * 1024, "{}", heavy.len());
    assert_eq!(h.import(&heavy), 6, "a node-heavy session was accepted");
    let (_, msg) = last_error();
    assert!(msg.contains("JSON values"), "{msg}");
    // The same as a token string inside the session (the guide's FlxOauthToken).
    let as_string = json!({"token": node_heavy_token(300_000).to_string(), "created_at": unix_now(), "expires_in": 1200}).to_string();
    assert_eq!(h.import(&as_string), 6);
    // And from the server.
    server.faults(json!([{"status": 200, "body": node_heavy_token(300_000).to_string()}]));
    assert!(h.token(false).is_none());
    let (code, msg) = last_error();
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("JSON values"), "{msg}");
    // Normal shapes are untouched: a token with a few hundred extra values, and a session
    // whose access token is most of a megabyte.
    let fine = json!({"token": node_heavy_token(500), "created_at": unix_now(), "expires_in": 1200}).to_string();
    assert_eq!(h.import(&fine), OK, "{:?}", last_error());
    let big = json!({"token": {"access_token": "a".repeat(1000 * 1000), "expires_in": 1200}, "created_at": unix_now(), "expires_in": 1200}).to_string();
    assert_eq!(h.import(&big), OK, "{:?}", last_error());
    assert_eq!(h.access_token(true).map(|t| t.len()), Some(1000 * 1000));
    h.free();
}
