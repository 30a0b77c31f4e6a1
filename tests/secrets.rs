//! Secrets never leak: a unique client_secret, and the access and refresh tokens the server
//! issues, go through every error path of the C surface, and no message — nor any log line,
//! at any log level, in the log file, the C log callback or on stderr (FLX_LOG) — contains any of them, or any 12-character piece of
//! one. And the client_secret is wiped from memory when its handle is freed, proven by a global
//! allocator that scans every block handed back to it (no read of freed memory, no UB).

mod common;
mod reliability_support;
use common::*;
use reliability_support::*;
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

// ---- the scanning allocator ---------------------------------------------------------------

/// The client_secret of the zeroize test. Only that test uses it; it is a static, so the test
/// itself never puts a heap copy of it anywhere.
const CANARY: &str = "zeroize-canary-9d3be0c4a7f1-client-secret";
const CANARY_C: &[u8] = b"zeroize-canary-9d3be0c4a7f1-client-secret\0";

static ARMED: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);
static HIT_SITES: Mutex<Vec<String>> = Mutex::new(Vec::new());
thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

struct Scanning;

fn holds_canary(block: &[u8]) -> bool {
    let c = CANARY.as_bytes();
    block.len() >= c.len() && (0..=block.len() - c.len()).any(|i| block[i] == c[0] && &block[i..i + c.len()] == c)
}

unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Relaxed) {
            // SAFETY: the block is still ours (it is handed back below) and `size` bytes long.
            let block = std::slice::from_raw_parts(ptr, layout.size());
            if holds_canary(block) {
                HITS.fetch_add(1, Ordering::SeqCst);
                // Where it was freed from, for the report (the hook allocates: not re-entered).
                let reentered = IN_HOOK.with(|f| f.replace(true));
                if !reentered {
                    let site = format!("{} bytes freed at:\n{}", layout.size(), std::backtrace::Backtrace::force_capture());
                    if let Ok(mut sites) = HIT_SITES.lock() {
                        if sites.len() < 8 {
                            sites.push(site);
                        }
                    }
                    IN_HOOK.with(|f| f.set(false));
                }
            }
        }
        System.dealloc(ptr, layout)
    }
    // realloc is the trait's default (alloc, copy, dealloc): the old block is scanned too.
}

#[global_allocator]
static GLOBAL: Scanning = Scanning;

fn take_hit_sites() -> String {
    let sites = std::mem::take(&mut *HIT_SITES.lock().unwrap());
    sites
        .iter()
        .map(|s| {
            // Keep the frames of interest short: this crate, ureq, rustls, std's String/Vec.
            s.lines().filter(|l| l.contains("flexiti_auth") || l.contains("ureq") || l.contains("bytes freed") || l.contains(" at ./")).take(14).collect::<Vec<_>>().join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

/// The secret lives in the handle only: it is gone (overwritten) from every block the library
/// hands back to the allocator, and when the handle is freed, every block it owned is handed back.
#[test]
fn the_client_secret_is_wiped_from_memory_when_the_handle_is_freed() {
    let server = TokenServer::start_with(&["--client-secret", CANARY]);
    let url = cstr(&server.url);
    let id = cstr(CLIENT_ID);
    let canary = CANARY_C.as_ptr() as *const std::ffi::c_char;

    ARMED.store(true, Ordering::SeqCst);
    // The scanner works: a block holding the canary is seen.
    let probe = CANARY.as_bytes().to_vec();
    drop(probe);
    assert_eq!(HITS.swap(0, Ordering::SeqCst), 1, "the scanning allocator did not see a freed copy");
    HIT_SITES.lock().unwrap().clear();

    // 1. A handle created and freed: its one copy of the secret is wiped on free.
    let h = flexiti_auth::ffi::flx_client_new(url.as_ptr(), id.as_ptr(), canary);
    assert!(!h.is_null());
    flexiti_auth::ffi::flx_client_free(h);
    let hits = HITS.swap(0, Ordering::SeqCst);
    assert_eq!(hits, 0, "the client_secret was freed without being wiped:\n{}", take_hit_sites());

    // 2. A handle that got, refreshed and failed to refresh tokens (the secret went into
    //    request bodies), then was freed: no copy anywhere was freed unwiped.
    let h = Handle(flexiti_auth::ffi::flx_client_new(url.as_ptr(), id.as_ptr(), canary));
    assert!(!h.0.is_null());
    assert_eq!(h.set("proxy", "none"), OK);
    assert_eq!(h.set("max_retries", "0"), OK);
    assert!(h.access_token(false).is_some(), "{:?}", last_error());
    assert!(h.access_token(false).is_some(), "{:?}", last_error());
    server.faults(json!([{"status": 500, "body": "{}"}]));
    assert!(h.access_token(false).is_none());
    h.free();
    ARMED.store(false, Ordering::SeqCst);
    let hits = HITS.swap(0, Ordering::SeqCst);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(
        hits,
        0,
        "after token requests, {hits} freed block(s) still held the client_secret (request bodies are not wiped):\n{}",
        take_hit_sites()
    );
}

// ---- secrets in messages and logs ---------------------------------------------------------

/// Everything one run produced that a user or a log could see.
#[derive(Default)]
struct Transcript {
    /// (where, text)
    texts: Vec<(String, String)>,
    /// Values that must never appear.
    secrets: Vec<String>,
}

impl Transcript {
    fn secret(&mut self, s: &str) {
        assert!(s.len() >= 12, "test secrets are long");
        if !self.secrets.iter().any(|x| x == s) {
            self.secrets.push(s.to_owned());
        }
    }

    fn note(&mut self, at: impl Into<String>, text: impl Into<String>) {
        self.texts.push((at.into(), text.into()));
    }

    /// Record this thread's last error after a call that was expected to fail.
    fn failed(&mut self, at: &str) -> i32 {
        let (code, msg) = last_error();
        assert_ne!(code, OK, "{at}: expected a failure");
        assert!(!msg.is_empty(), "{at}: a failure without a message");
        self.note(at, msg);
        code
    }

    /// Every secret, and every 12-character piece of one, is absent from every text.
    fn assert_clean(&self) {
        let mut pieces: Vec<(&str, &str)> = Vec::new();
        for s in &self.secrets {
            for i in 0..=s.len() - 12 {
                if s.is_char_boundary(i) && s.is_char_boundary(i + 12) {
                    pieces.push((s, &s[i..i + 12]));
                }
            }
        }
        let mut leaks = Vec::new();
        for (at, text) in &self.texts {
            if let Some((whole, piece)) = pieces.iter().find(|(_, p)| text.contains(p)) {
                let shown = if text.len() > 600 { format!("{}…", &text[..text.floor_char_boundary(600)]) } else { text.clone() };
                leaks.push(format!("{at}: contains {piece:?} (part of a {}-char secret starting {:?}): {shown}", whole.len(), &whole[..4]));
            }
        }
        assert!(leaks.is_empty(), "{} leak(s):\n{}", leaks.len(), leaks.join("\n"));
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    getrandom::getrandom(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect::<String>()[..n].to_owned()
}

/// Lines the C log callback received, one sink per logged run (its address is the callback's
/// `user` pointer).
#[derive(Default)]
struct LogSink {
    lines: Mutex<Vec<String>>,
}

extern "C" fn collect_line(level: i32, line: *const std::ffi::c_char, user: *mut std::ffi::c_void) {
    assert!((1..=4).contains(&level), "log level {level}");
    // SAFETY: `user` is the &LogSink given to flx_client_set_log_callback, alive until the
    // handles using it are freed.
    let sink = unsafe { &*(user as *const LogSink) };
    let line = unsafe { std::ffi::CStr::from_ptr(line) }.to_string_lossy().into_owned();
    sink.lines.lock().unwrap().push(line);
}

/// Log at `level` into `file` and into the C callback.
fn enable_logging(h: &Handle, level: &str, file: &Path, sink: &LogSink) {
    assert_eq!(h.set("log_level", level), OK, "{:?}", last_error());
    assert_eq!(h.set("log_file", file.to_str().unwrap()), OK, "{:?}", last_error());
    let rc = flexiti_auth::ffi::flx_client_set_log_callback(h.0, Some(collect_line), sink as *const LogSink as *mut std::ffi::c_void);
    assert_eq!(rc, OK);
}

/// Drives every error path of the C surface with the secrets in play; every message, and the
/// log file when logging is on, goes into the transcript.
fn every_error_path(log: Option<(&str, &Path)>) -> Transcript {
    let mut t = Transcript::default();
    let t = &mut t;
    let sink = LogSink::default();
    let secret = format!("cs-{}", random_hex(40));
    t.secret(&secret);
    let server = TokenServer::start_with(&["--client-secret", &secret]);
    let h = Handle::new(&server.url, CLIENT_ID, &secret);
    let log_on = |h: &Handle| {
        if let Some((level, file)) = log {
            enable_logging(h, level, file, &sink);
        }
    };
    log_on(&h);
    assert_eq!(h.set("timeout_ms", "400"), OK);
    assert_eq!(h.set("max_retries", "1"), OK);

    // Success paths first: tokens to protect, and "" as the message after each success.
    assert!(h.token(false).is_some(), "{:?}", last_error());
    assert!(h.token(false).is_some(), "{:?}", last_error());
    let held: Value = serde_json::from_str(&h.token(true).unwrap()).unwrap();
    let access = held["access_token"].as_str().unwrap().to_owned();
    let refresh = held["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(last_error(), (OK, String::new()));
    let session = h.export().unwrap();

    // Server answers that echo the secrets back, on the refresh grant and on the fallback.
    let pad = "p".repeat(280);
    let form_echo = format!("client_id={CLIENT_ID}&client_secret={secret}&grant_type=refresh_token&refresh_token={refresh}");
    let echoes: Vec<Value> = vec![
        json!({"status": 400, "body": json!({"error": "invalid_request", "error_description": format!("got {secret} {refresh} {access}")}).to_string()}),
        json!({"status": 401, "body": json!({"error": "invalid_client", "message": secret}).to_string(),
            "headers": {"www-authenticate": format!("Bearer error=\"invalid_token\", token=\"{access}\"")}}),
        json!({"status": 409, "body": json!({"url": format!("/x?client_secret={secret}"), "message": refresh, "error": "invalid_role",
            "field_errors": [{"param": "client_secret", "msg": "invalid", "value": secret}]}).to_string()}),
        json!({"status": 400, "body": json!({"error": secret, "error_description": access}).to_string()}),
        // A secret cut in two by the 300-character limit on echoed descriptions.
        json!({"status": 400, "body": json!({"error": "invalid_request", "error_description": format!("{pad}{secret}")}).to_string()}),
        json!({"status": 400, "body": json!({"error": "invalid_request", "error_description": format!("{}{refresh}", "q".repeat(290))}).to_string()}),
        json!({"status": 400, "body": json!({"error": "invalid_request", "message": format!("{}{access}", "r".repeat(295))}).to_string()}),
        json!({"status": 500, "body": form_echo}),
        json!({"status": 503, "body": json!({"error": secret}).to_string(), "retry_after": "0", "count": 2}),
        json!({"status": 429, "body": json!({"error_description": access}).to_string(), "retry_after": "0", "count": 2}),
        json!({"status": 302, "headers": {"location": format!("https://elsewhere.example/?t={access}&s={secret}")}, "body": ""}),
        json!({"status": 200, "body": format!("<html>{secret} {refresh}</html>")}),
        json!({"status": 200, "body": json!({"access_token": 5, "note": secret}).to_string()}),
        json!({"status": 200, "body": json!({"access_token": format!("{access}\n{secret}")}).to_string()}),
        json!({"status": 200, "body": json!({"access_token": "fine-access-token-0001", "expires_in": secret}).to_string()}),
        json!({"status": 200, "body": json!({"access_token": "fine-access-token-0001", "refresh_token": {"r": refresh}}).to_string()}),
        json!({"status": 200, "body": format!("{{\"access_token\":\"{secret}")}),
        json!({"status": 200, "body": format!("{{\"access_token\":\"{secret}\",\"expires_in\":-1}}")}),
        json!({"oversize_bytes": 2 * 1024 * 1024}),
        json!({"hang": true, "count": 2}),
        json!({"reset_after_bytes": 20, "count": 2}),
        json!({"close": true, "count": 2}),
    ];
    for (i, fault) in echoes.into_iter().enumerate() {
        // Twice: once for the refresh grant (with its fallback), once for client_credentials
        // (the held token expired).
        for use_refresh in [true, false] {
            assert_eq!(h.import(&session), OK);
            if !use_refresh {
                // The same token, expired: client_credentials, with the tokens still held.
                let mut s: Value = serde_json::from_str(&session).unwrap();
                s["created_at"] = json!(unix_now() - 5000);
                assert_eq!(h.import(&s.to_string()), OK);
            }
            // Enough for every attempt: the refresh, the fallback and its retry.
            let mut f = fault.clone();
            f["count"] = json!(4);
            server.faults(json!([f]));
            assert!(h.token(false).is_none(), "echo {i}: expected a failure");
            t.failed(&format!("echo {i} (refresh {use_refresh}) {}", &fault.to_string()[..40.min(fault.to_string().len())]));
            server.delete("faults");
        }
    }
    assert_eq!(h.import(&session), OK);

    // Session JSON carrying the tokens, refused.
    let s: Value = serde_json::from_str(&session).unwrap();
    let mut bad_sessions: Vec<String> = (1..session.len()).step_by(7).map(|n| session[..n].to_owned()).collect();
    let mut with = |f: &dyn Fn(&mut Value)| {
        let mut v = s.clone();
        f(&mut v);
        bad_sessions.push(v.to_string());
    };
    with(&|v| v["created_at"] = json!(unix_now() + 100_000));
    with(&|v| v["expires_in"] = json!(refresh.clone()));
    with(&|v| v["created_at"] = json!(access.clone()));
    with(&|v| v["token"]["access_token"] = json!(format!("{access}\u{7}{secret}")));
    with(&|v| v["token"]["refresh_token"] = json!([refresh.clone(), secret.clone()]));
    with(&|v| v["token"]["access_token"] = json!({"secret": secret.clone()}));
    with(&|v| v["token"] = json!(format!("{{\"access_token\":\"{access}\"")));
    with(&|v| v["token"] = json!([access.clone()]));
    bad_sessions.push(format!("{{\"token\":{{\"access_token\":\"{}\"}},\"created_at\":1,\"expires_in\":1200}}", access.repeat(40_000)));
    bad_sessions.push(format!("{secret} {access} {refresh}"));
    for (i, bad) in bad_sessions.iter().enumerate() {
        assert_eq!(h.import(bad), SESSION, "bad session {i}: {}", &bad[..bad.len().min(300)]);
        t.failed(&format!("bad session {i}"));
    }
    assert_eq!(h.export().as_deref(), Some(session.as_str()), "refused imports left the token");

    // Transport failures with the secret in the handle.
    assert_eq!(h.clear(), OK);
    assert!(h.export().is_none());
    t.failed("export after clear");
    for (what, url) in [("refused", format!("http://127.0.0.1:{}/", closed_port())), ("dns", "https://flexiti.invalid/".to_owned())] {
        let other = Handle::new(&url, CLIENT_ID, &secret);
        log_on(&other);
        assert_eq!(other.set("max_retries", "0"), OK);
        assert_eq!(other.import(&session), OK);
        assert!(other.token(false).is_none());
        t.failed(what);
        other.free();
    }

    // The wrong client_secret, refused by the server.
    let wrong = format!("wrong-{}", random_hex(32));
    t.secret(&wrong);
    let w = Handle::new(&server.url, CLIENT_ID, &wrong);
    log_on(&w);
    assert!(w.token(false).is_none());
    assert_eq!(t.failed("wrong secret"), AUTH_REJECTED);
    w.free();

    // Credentials in a proxy URL and in api_url.
    let proxy_pass = format!("pp-{}", random_hex(24));
    t.secret(&proxy_pass);
    let p = Handle::new(&server.url, CLIENT_ID, &secret);
    log_on(&p);
    assert_eq!(p.set("proxy", &format!("http://user:{proxy_pass}@127.0.0.1:{}", closed_port())), OK);
    assert_eq!(p.set("max_retries", "0"), OK);
    assert!(p.token(false).is_none());
    t.failed("unreachable proxy with credentials");
    assert_eq!(p.set("proxy", &format!("notascheme://user:{proxy_pass}@@")), INVALID);
    t.failed("bad proxy URL with credentials");
    p.free();
    let url_pass = format!("up-{}", random_hex(24));
    t.secret(&url_pass);
    for url in [
        format!("https://user:{url_pass}@posapi.flexiti.fi/"),
        format!("ftp://user:{url_pass}@posapi.flexiti.fi/"),
        format!("https://user:{url_pass}@posapi.flexiti.fi/?q=1"),
        format!("http://user:{url_pass}@posapi.flexiti.fi/"),
    ] {
        let c = flexiti_auth::ffi::flx_client_new(cstr(&url).as_ptr(), cstr(CLIENT_ID).as_ptr(), cstr(&secret).as_ptr());
        assert!(c.is_null(), "api_url with credentials accepted");
        t.failed("api_url with credentials");
    }

    // Every token the server issued is a secret too.
    for tok in server.issued_access_tokens().into_iter().chain(server.issued_refresh_tokens()) {
        t.secret(&tok);
    }
    h.free();
    if let Some((level, file)) = log {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<String> = std::mem::take(&mut *sink.lines.lock().unwrap());
        // Every level logs the failures: a capture that caught nothing would prove nothing.
        let min = if level == "debug" { 100 } else { 20 };
        assert!(text.lines().count() >= min, "log_level {level} wrote {} lines to log_file", text.lines().count());
        assert!(lines.len() >= min, "log_level {level} sent {} lines to the callback", lines.len());
        for (n, line) in text.lines().enumerate() {
            t.note(format!("log_file {level} line {}", n + 1), line);
        }
        for (n, line) in lines.into_iter().enumerate() {
            t.note(format!("log callback {level} line {}", n + 1), line);
        }
    }
    std::mem::take(t)
}

#[test]
fn no_secret_in_any_message_or_log_line() {
    let dir = temp_dir("secrets");
    // Without logging, and at every log level; the runs are independent, so side by side.
    let runs: Vec<_> = [None, Some("error"), Some("warn"), Some("info"), Some("debug")]
        .into_iter()
        .map(|level| {
            let file: PathBuf = dir.join(format!("{}.log", level.unwrap_or("none")));
            std::thread::spawn(move || every_error_path(level.map(|l| (l, file.as_path()))))
        })
        .collect();
    let mut all = Transcript::default();
    for (i, run) in runs.into_iter().enumerate() {
        let t = run.join().unwrap();
        if i == 0 {
            assert!(t.texts.len() > 80, "the run produced only {} messages", t.texts.len());
        }
        all.texts.extend(t.texts);
        for s in t.secrets {
            all.secret(&s);
        }
    }
    all.assert_clean();
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `FLX_LOG=debug` the library logs to stderr: run the error paths in a child process
/// (this test binary again) and scan everything it printed.
#[test]
fn no_secret_on_stderr_with_flx_log() {
    if let Ok(out) = std::env::var("FLX_SECRETS_CHILD_OUT") {
        // The child: drive every path, hand the secrets to the parent through a file.
        let t = every_error_path(None);
        std::fs::write(out, t.secrets.join("\n")).unwrap();
        return;
    }
    let dir = temp_dir("secrets-env");
    let out = dir.join("secrets.txt");
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_secret_on_stderr_with_flx_log", "--nocapture", "--test-threads=1"])
        .env("FLX_LOG", "debug")
        .env("FLX_SECRETS_CHILD_OUT", &out)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&child.stderr).into_owned();
    assert!(child.status.success(), "the child run failed:\n{stdout}\n{stderr}");
    let mut t = Transcript::default();
    for s in std::fs::read_to_string(&out).unwrap().lines() {
        t.secret(s);
    }
    assert!(t.secrets.len() >= 8, "the child reported {} secrets", t.secrets.len());
    let logged = stderr.lines().filter(|l| l.contains(" flexiti-auth: ")).count();
    assert!(logged >= 100, "FLX_LOG=debug put only {logged} log lines on stderr");
    for (n, line) in stdout.lines().enumerate() {
        t.note(format!("child stdout line {}", n + 1), line);
    }
    for (n, line) in stderr.lines().enumerate() {
        t.note(format!("child stderr line {}", n + 1), line);
    }
    t.assert_clean();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the leaks above, one test each -------------------------------------------------------

/// A single-purpose client for the focused tests: a server with a unique secret, a held token.
fn focused() -> (TokenServer, Handle, String, String, String) {
    let secret = format!("cs-{}", random_hex(40));
    let server = TokenServer::start_with(&["--client-secret", &secret]);
    let h = Handle::new(&server.url, CLIENT_ID, &secret);
    assert_eq!(h.set("max_retries", "0"), OK);
    let held: Value = serde_json::from_str(&h.token(false).unwrap()).unwrap();
    let access = held["access_token"].as_str().unwrap().to_owned();
    let refresh = held["refresh_token"].as_str().unwrap().to_owned();
    (server, h, secret, access, refresh)
}

/// Error descriptions are cut at 300 characters; a secret the cut falls into must not leave
/// its first part behind (the redaction has to happen before the cut).
#[test]
fn an_echo_cut_at_the_300_char_limit_leaves_no_part_of_a_secret() {
    let (server, h, secret, access, _) = focused();
    let mut t = Transcript::default();
    t.secret(&secret);
    t.secret(&access);
    for (pad, what) in [(280, &secret), (285, &access)] {
        let body = json!({"error": "invalid_request", "error_description": format!("{}{what}", "p".repeat(pad))}).to_string();
        server.faults(json!([{"status": 400, "body": body, "count": 2}]));
        assert!(h.token(false).is_none());
        t.failed(&format!("description cut inside a secret (pad {pad})"));
        server.delete("faults");
    }
    t.assert_clean();
    h.free();
}

/// The held token's refresh_token is a secret even when this call does not send it (an
/// expired token is replaced through client_credentials): an echo of it is redacted too.
#[test]
fn the_refresh_token_of_an_expired_held_token_is_redacted_too() {
    let (server, h, secret, access, refresh) = focused();
    let mut s: Value = serde_json::from_str(&h.export().unwrap()).unwrap();
    s["created_at"] = json!(unix_now() - 5000);
    assert_eq!(h.import(&s.to_string()), OK);
    let mut t = Transcript::default();
    for x in [&secret, &access, &refresh] {
        t.secret(x);
    }
    let body = json!({"url": "/flexiti/online-api/oauth/token", "message": format!("stale session {refresh}"), "error": "invalid_role"}).to_string();
    server.faults(json!([{"status": 409, "body": body}]));
    assert!(h.token(false).is_none());
    assert_eq!(server.grants(), ["client_credentials", "client_credentials"]);
    t.failed("echo of the held refresh token on client_credentials");
    t.assert_clean();
    h.free();
}

/// A password in api_url (user:password@host) is refused, and never repeated in the message,
/// whatever else is wrong with the URL.
#[test]
fn credentials_in_api_url_never_appear_in_messages() {
    let pass = format!("up-{}", random_hex(24));
    let mut t = Transcript::default();
    t.secret(&pass);
    for url in [
        format!("https://user:{pass}@posapi.flexiti.fi/"),
        format!("http://user:{pass}@posapi.flexiti.fi/"),
        format!("ftp://user:{pass}@posapi.flexiti.fi/"),
        format!("https://user:{pass}@posapi.flexiti.fi/?q=1"),
        format!("https://user:{pass}@posapi.flexiti.fi/#top"),
        format!("https://user:{pass}@/"),
        format!("https://user:{pass}@posapi flexiti.fi/"),
    ] {
        let c = flexiti_auth::ffi::flx_client_new(cstr(&url).as_ptr(), cstr(CLIENT_ID).as_ptr(), cstr("s3cret-value").as_ptr());
        assert!(c.is_null(), "api_url with credentials accepted: {url}");
        assert_eq!(t.failed("api_url with credentials"), INVALID);
    }
    t.assert_clean();
}
