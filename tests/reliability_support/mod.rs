//! Support for the reliability suites (tests/reliability*.rs, tests/stress.rs, tests/secrets.rs):
//! a client that holds a valid token, a fault run that checks the promises every failure keeps,
//! certificates for the TLS rows, and thin safe wrappers over the C surface.
#![allow(dead_code)]

use crate::common::*;
use flexiti_auth::{Error, FlxStatus, HeldToken};
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The access token of the session a held client starts with.
pub const HELD_ACCESS: &str = "held-access-token-7f3a9c";

/// A session JSON of a still-valid token without a refresh_token, so that `get_token(false)`
/// asks for a new one through client_credentials (one grant, no fallback: attempts are exact).
pub fn held_session(access: &str, refresh: Option<&str>) -> String {
    let mut token = json!({"token_type": "bearer", "access_token": access, "expires_in": 1200});
    if let Some(r) = refresh {
        token["refresh_token"] = json!(r);
    }
    json!({"token": token, "created_at": unix_now(), "expires_in": 1200}).to_string()
}

/// A client for `server` that holds a valid token and has short timeouts.
pub fn held_client(server: &TokenServer) -> flexiti_auth::Client {
    let c = client(server);
    c.set_option("timeout_ms", "500").unwrap();
    c.set_option("connect_timeout_ms", "500").unwrap();
    c.import_session(&held_session(HELD_ACCESS, None)).unwrap();
    c
}

/// What one failing call did.
pub struct Failed {
    pub error: Error,
    /// Token requests the server recorded for this call.
    pub requests: Vec<Value>,
    pub elapsed: Duration,
}

impl Failed {
    pub fn count(&self) -> usize {
        self.requests.len()
    }

    pub fn grants(&self) -> Vec<String> {
        self.requests.iter().map(|r| r["form"]["grant_type"].as_str().unwrap_or("").to_owned()).collect()
    }

    /// Asserts the status code, that the message holds every fragment, and the time bound.
    pub fn expect(&self, status: FlxStatus, fragments: &[&str], min: Duration, max: Duration) -> &Self {
        let m = &self.error.message;
        assert_eq!(self.error.status, status, "status of: {m}");
        for f in fragments {
            assert!(m.contains(f), "message lacks {f:?}: {m}");
        }
        assert!(self.elapsed >= min && self.elapsed <= max, "took {:?}, expected {min:?}..={max:?}: {m}", self.elapsed);
        self
    }

    pub fn requests_sent(&self, n: usize) -> &Self {
        assert_eq!(self.count(), n, "token requests sent: {:?} ({})", self.grants(), self.error.message);
        self
    }
}

/// Queue `faults`, make one `get_token(false)` call that must fail, and check what every
/// failure promises: the held token is exactly as before, and a cached call still returns it
/// without a request.
pub fn fail_with(server: &TokenServer, c: &flexiti_auth::Client, faults: Value) -> Failed {
    let before: Option<Arc<HeldToken>> = c.held_token();
    let exported = c.export_session().ok();
    server.post_delete_requests();
    if faults.as_array().is_some_and(|a| !a.is_empty()) {
        server.faults(faults);
    }
    let t0 = Instant::now();
    let result = c.get_token(false);
    let elapsed = t0.elapsed();
    let error = match result {
        Ok(t) => panic!("expected a failure, got token {:?}", t.access_token),
        Err(e) => e,
    };
    let requests = server.requests();
    assert_eq!(c.held_token(), before, "a failure changed the held token ({})", error.message);
    assert_eq!(c.export_session().ok(), exported, "a failure changed the session");
    if let Some(held) = before {
        let n = server.requests().len();
        let cached = c.get_token(true).expect("the held token is still usable after the failure");
        assert_eq!(cached.access_token, held.access_token);
        assert_eq!(server.requests().len(), n, "the cached call sent a request");
    }
    // Leave no fault queued for the next row.
    server.delete("faults");
    Failed { error, requests, elapsed }
}

pub trait ServerExt {
    fn post_delete_requests(&self);
    fn delete(&self, path: &str);
    fn issued_refresh_tokens(&self) -> Vec<String>;
}

impl ServerExt for TokenServer {
    fn post_delete_requests(&self) {
        self.delete("requests");
    }

    fn delete(&self, path: &str) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            // ureq is built without a crypto provider of its own (the library passes rustls + ring).
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .unversioned_rustls_crypto_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                    .build(),
            )
            .build()
            .into();
        let r = agent.delete(&format!("{}_control/{path}", self.url)).call().expect("control DELETE");
        assert!(r.status().is_success(), "control DELETE {path}: {}", r.status());
    }

    fn issued_refresh_tokens(&self) -> Vec<String> {
        self.get("issued")["refresh_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    }
}

// ---- certificates -------------------------------------------------------------------------

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flx-rel-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed certificate for localhost (not a CA): `self.pem` and `self.key` in `dir`.
pub fn make_self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    openssl(dir, &[
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "self.key", "-out", "self.pem",
        "-days", "2", "-subj", "/CN=localhost",
        "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext", "keyUsage=critical,digitalSignature",
        "-addext", "extendedKeyUsage=serverAuth",
    ]);
    (dir.join("self.pem"), dir.join("self.key"))
}

// ---- the C surface, from Rust -------------------------------------------------------------

/// A handle from flx_client_new, usable from many threads (the C contract says it may be).
pub struct Handle(pub *mut flexiti_auth::ffi::FlxClient);
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A string returned by the library, copied and released with flx_string_free.
pub fn take(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let s = unsafe { CStr::from_ptr(p) }.to_str().expect("library strings are UTF-8").to_owned();
    flexiti_auth::ffi::flx_string_free(p);
    Some(s)
}

/// This thread's last error code and message.
pub fn last_error() -> (i32, String) {
    let code = flexiti_auth::ffi::flx_last_error_code();
    let p = flexiti_auth::ffi::flx_last_error_message();
    assert!(!p.is_null(), "flx_last_error_message returned NULL");
    (code, unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

impl Handle {
    pub fn new(url: &str, id: &str, secret: &str) -> Handle {
        let h = flexiti_auth::ffi::flx_client_new(cstr(url).as_ptr(), cstr(id).as_ptr(), cstr(secret).as_ptr());
        assert!(!h.is_null(), "flx_client_new: {:?}", last_error());
        let h = Handle(h);
        assert_eq!(h.set("proxy", "none"), 0);
        h
    }

    pub fn set(&self, name: &str, value: &str) -> i32 {
        flexiti_auth::ffi::flx_client_set_option(self.0, cstr(name).as_ptr(), cstr(value).as_ptr())
    }

    pub fn token(&self, use_cache: bool) -> Option<String> {
        take(flexiti_auth::ffi::flx_get_token(self.0, use_cache))
    }

    pub fn access_token(&self, use_cache: bool) -> Option<String> {
        take(flexiti_auth::ffi::flx_get_access_token(self.0, use_cache))
    }

    pub fn export(&self) -> Option<String> {
        take(flexiti_auth::ffi::flx_session_export(self.0))
    }

    pub fn import(&self, json: &str) -> i32 {
        flexiti_auth::ffi::flx_session_import(self.0, cstr(json).as_ptr())
    }

    pub fn clear(&self) -> i32 {
        flexiti_auth::ffi::flx_client_clear(self.0)
    }

    pub fn free(self) {
        flexiti_auth::ffi::flx_client_free(self.0);
    }
}

/// Status codes as the C surface returns them.
pub const OK: i32 = FlxStatus::FLX_OK as i32;
pub const INVALID: i32 = FlxStatus::FLX_ERR_INVALID_ARGUMENT as i32;
pub const NETWORK: i32 = FlxStatus::FLX_ERR_NETWORK as i32;
pub const HTTP_STATUS: i32 = FlxStatus::FLX_ERR_HTTP_STATUS as i32;
pub const AUTH_REJECTED: i32 = FlxStatus::FLX_ERR_AUTH_REJECTED as i32;
pub const BAD_RESPONSE: i32 = FlxStatus::FLX_ERR_BAD_RESPONSE as i32;
pub const SESSION: i32 = FlxStatus::FLX_ERR_SESSION as i32;
pub const INTERNAL: i32 = FlxStatus::FLX_ERR_INTERNAL as i32;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
